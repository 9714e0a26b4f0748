package sfn

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/imagerec/imagerec/internal/asl"
)

// The context object: $$ in JSONPath, $states.context in JSONata.

type mapItem struct {
	index int
	value any
}

// contextObject is the context object of a state's attempt (retry is the
// Task's $$.State.RetryCount).
func (r *runner) contextObject(st *asl.State, entered time.Time, f *frame, retry int) *asl.Object {
	r.ctxOnce.Do(r.buildContext)
	s := asl.NewObject(3)
	s.Set("EnteredTime", formatTime(entered))
	s.Set("Name", st.Name)
	if st.Type == "Task" {
		s.Set("RetryCount", json.Number(strconv.Itoa(retry)))
	}
	c := asl.NewObject(4)
	c.Set("Execution", r.ctxExec)
	c.Set("StateMachine", r.ctxSM)
	c.Set("State", s)
	if f.item != nil {
		c.Set("Map", mapItemObject(f.item.index, f.item.value))
	}
	return c
}

// mapItemObject is the context object's Map: {"Item":{"Index","Value"}}.
func mapItemObject(index int, value any) *asl.Object {
	it := asl.NewObject(2)
	it.Set("Index", json.Number(strconv.Itoa(index)))
	it.Set("Value", value)
	m := asl.NewObject(1)
	m.Set("Item", it)
	return m
}

// buildContext makes the parts of the context object that do not change
// during the execution.
func (r *runner) buildContext() {
	ex := asl.NewObject(6)
	ex.Set("Id", r.arn)
	ex.Set("Input", r.input)
	ex.Set("StartTime", formatTime(r.start))
	ex.Set("Name", r.name)
	ex.Set("RoleArn", r.roleArn)
	if !r.express {
		ex.Set("RedriveCount", json.Number(strconv.Itoa(r.redriveCount)))
	}
	sm := asl.NewObject(2)
	sm.Set("Id", r.smArn)
	sm.Set("Name", r.smName)
	r.ctxExec, r.ctxSM = ex, sm
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
