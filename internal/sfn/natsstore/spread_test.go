package natsstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/natstest"
	"github.com/imagerec/imagerec/internal/queue"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sfn/natsstore"
)

// mapDef is a Distributed Map over $.items: each child runs the task
// "work" then a Pass; items with "fail" fail, within the tolerance.
const mapDef = `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"items","MaxConcurrency":4,"ToleratedFailureCount":5,"ItemsPath":"$.items",
"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"W","States":{
"W":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:work","Next":"P"},
"P":{"Type":"Pass","Parameters":{"n.$":"$.n","done":true},"End":true}}},"End":true}}}`

// failure is a task error with a name, like a Lambda errorType.
type failure struct{ msg string }

func (f failure) Error() string     { return f.msg }
func (f failure) ErrorName() string { return "ItemFailed" }

// spreadInput is 20 items, two of which fail.
func spreadInput() json.RawMessage {
	items := make([]string, 20)
	for i := range items {
		if i%9 == 4 {
			items[i] = fmt.Sprintf(`{"n":%d,"fail":true}`, i)
		} else {
			items[i] = fmt.Sprintf(`{"n":%d}`, i)
		}
	}
	return json.RawMessage(`{"items":[` + strings.Join(items, ",") + `]}`)
}

// runs counts the work tasks each node ran, and each item's.
type runs struct {
	mu       sync.Mutex
	byNode   map[string]int
	byItem   map[float64]int
	inFlight int
	most     int // the most tasks in flight at once
}

func newRuns() *runs { return &runs{byNode: map[string]int{}, byItem: map[float64]int{}} }

func (r *runs) registry(node string, delay time.Duration) *sfn.Registry {
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v struct {
			N    float64 `json:"n"`
			Fail bool    `json:"fail"`
		}
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.inFlight++
		r.most = max(r.most, r.inFlight)
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.inFlight--
			r.mu.Unlock()
		}()
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
		r.byNode[node]++
		r.byItem[v.N]++
		r.mu.Unlock()
		if v.Fail {
			return nil, failure{fmt.Sprintf("item %v failed", v.N)}
		}
		return in, nil
	}))
	return reg
}

func (r *runs) snapshot() (map[string]int, map[float64]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, b := map[string]int{}, map[float64]int{}
	for k, v := range r.byNode {
		a[k] = v
	}
	for k, v := range r.byItem {
		b[k] = v
	}
	return a, b
}

// node is one cluster process: its own connections to the store and the
// queue, an executor with a Leaser and MapDispatch, and queue workers
// running what is handed to them with RunExisting.
type node struct {
	x      *sfn.Executor
	st     *natsstore.State
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	handed []string // ARNs its queue workers got
}

func startNode(t *testing.T, c *natstest.Cluster, name, def string, r *runs, delay time.Duration, gateway bool) *node {
	t.Helper()
	st := open(t, c.URLs(), natsstore.Options{LeaseTTL: 2 * time.Second, Owner: name})
	q, err := queue.Open(t.Context(), queue.Config{Servers: c.URLs(), Name: name, AckWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	publish := func(ctx context.Context, arn string, again bool) error {
		if again {
			return q.PublishAgain(ctx, "execution:"+arn, []byte(arn))
		}
		return q.Publish(ctx, "execution:"+arn, []byte(arn))
	}
	opts := sfn.Options{Store: st.Store("imagerec"), Leaser: st, MapDispatch: publish}
	if gateway {
		opts.Dispatch = publish
	}
	x, err := sfn.New([]byte(def), r.registry(name, delay), opts)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{x: x, st: st, done: make(chan struct{})}
	if gateway {
		close(n.done)
		n.stop = func() {}
		t.Cleanup(func() { x.Close() })
		return n
	}
	ctx, cancel := context.WithCancel(t.Context())
	n.stop = cancel
	go func() {
		defer close(n.done)
		_ = q.Consume(ctx, 2, func(ctx context.Context, data []byte) error {
			arn := string(data)
			if !x.HandlesExecution(arn) {
				return fmt.Errorf("not an execution of the machine: %s", arn)
			}
			n.mu.Lock()
			n.handed = append(n.handed, arn)
			n.mu.Unlock()
			_, err := x.RunExisting(ctx, arn)
			if errors.Is(err, sfn.ErrExecutionDoesNotExist) {
				return nil
			}
			return err
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-n.done
		x.Close()
	})
	return n
}

// kill stops a node's queue workers, then its executor: what it ran stays
// RUNNING at its last checkpoint, its queue messages unacknowledged.
func (n *node) kill() {
	n.stop()
	<-n.done
	n.x.Close()
}

// localOutput runs mapDef in one process, as imagerec serve does without
// a cluster.
func localOutput(t *testing.T, def string) sfn.Execution {
	t.Helper()
	r := newRuns()
	x, err := sfn.New([]byte(def), r.registry("local", 0), sfn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ex, err := x.Run(t.Context(), "job", spreadInput())
	if err != nil || ex.Status == sfn.StatusRunning {
		t.Fatalf("one-process run = %+v, %v", ex, err)
	}
	return ex
}

// checkChildren checks that every child of the Map Run was created once:
// one ExecutionStarted in its history, each item's task run once (ran
// counts) unless a takeover repeated it.
func checkChildren(t *testing.T, st *natsstore.State, arn string, byItem map[float64]int, repeats bool) {
	t.Helper()
	parent, err := st.Store("imagerec").Get(arn)
	if err != nil || len(parent.MapRuns) != 1 {
		t.Fatalf("parent record %+v, %v", parent, err)
	}
	mr := parent.MapRuns[0]
	if mr.Status != sfn.StatusSucceeded || mr.ExecutionCounts.Succeeded != 18 || mr.ExecutionCounts.Failed != 2 || mr.ExecutionCounts.Total != 20 {
		t.Errorf("Map Run %+v", mr)
	}
	sub, err := st.Store("imagerec").Sub("items")
	if err != nil {
		t.Fatal(err)
	}
	children, err := sub.List()
	if err != nil || len(children) != 20 {
		t.Fatalf("children = %d, %v", len(children), err)
	}
	for _, ch := range children {
		started := 0
		for _, e := range ch.History {
			if e.Type == "ExecutionStarted" {
				started++
			}
		}
		if started != 1 || ch.Execution.Status == sfn.StatusRunning || ch.Execution.MapRunArn != mr.MapRunArn || ch.Parent != arn {
			t.Errorf("child %s: %s, %d ExecutionStarted, Map Run %s, parent %s", ch.Execution.Name, ch.Execution.Status, started, ch.Execution.MapRunArn, ch.Parent)
		}
	}
	for i := range 20 {
		if n := byItem[float64(i)]; n < 1 || n > 1 && !repeats {
			t.Errorf("item %d's task ran %d times", i, n)
		}
	}
}

// A Distributed Map run in a cluster hands its 20 children to the queue:
// both nodes run some, and the Map's output is the one-process output.
func TestSpreadDistributedMap(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	want := localOutput(t, mapDef)
	c := natstest.Start(t, 1)
	r := newRuns()
	a := startNode(t, c, "a", mapDef, r, 40*time.Millisecond, false)
	startNode(t, c, "b", mapDef, r, 40*time.Millisecond, false)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ex, err := a.x.Run(ctx, "job", spreadInput())
	if err != nil || ex.Status != sfn.StatusSucceeded {
		t.Fatalf("cluster run = %+v, %v", ex, err)
	}
	if string(ex.Output) != string(want.Output) {
		t.Errorf("cluster output\n%s\nwant the one-process output\n%s", ex.Output, want.Output)
	}
	byNode, byItem := r.snapshot()
	if byNode["a"] < 1 || byNode["b"] < 1 {
		t.Errorf("tasks run per node %v, want both nodes to run children", byNode)
	}
	checkChildren(t, a.st, ex.ExecutionArn, byItem, false)
	r.mu.Lock()
	most := r.most
	r.mu.Unlock()
	if most > 4 || most < 2 {
		t.Errorf("%d children's tasks ran at once, want 2 to MaxConcurrency (4)", most)
	}
	t.Logf("children's tasks per node: %v; at most %d at once", byNode, most)
}

// The node running the parent and some children stops mid-Map: the other
// takes the parent over from its queue message (at its last checkpoint,
// the Map state), creates none of the children again, takes over the
// stopped node's children, and the output is the one-process output.
func TestSpreadDistributedMapTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	want := localOutput(t, mapDef)
	c := natstest.Start(t, 1)
	r := newRuns()
	gw := startNode(t, c, "gateway", mapDef, r, 0, true)
	nodes := map[string]*node{
		"a": startNode(t, c, "a", mapDef, r, 150*time.Millisecond, false),
		"b": startNode(t, c, "b", mapDef, r, 150*time.Millisecond, false),
	}
	arn, err := gw.x.Start(t.Context(), "job", spreadInput())
	if err != nil {
		t.Fatal(err)
	}
	// Wait until some children have run, then stop the parent's node.
	deadline := time.Now().Add(20 * time.Second)
	var parentNode string
	for parentNode == "" || func() bool { byNode, _ := r.snapshot(); return byNode["a"]+byNode["b"] < 10 }() {
		if time.Now().After(deadline) {
			t.Fatal("the parent did not start its children")
		}
		for name, n := range nodes {
			n.mu.Lock()
			for _, h := range n.handed {
				if h == arn {
					parentNode = name
				}
			}
			n.mu.Unlock()
		}
		time.Sleep(20 * time.Millisecond)
	}
	nodes[parentNode].kill()
	t.Logf("stopped node %s, which ran the parent", parentNode)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var ex sfn.Execution
	for {
		ex, err = gw.x.Describe(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Status != sfn.StatusRunning {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the parent did not end after its node stopped")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if ex.Status != sfn.StatusSucceeded || string(ex.Output) != string(want.Output) {
		t.Errorf("cluster run after the takeover: %s %s\nwant the one-process output\n%s", ex.Status, ex.Output, want.Output)
	}
	byNode, byItem := r.snapshot()
	checkChildren(t, gw.st, arn, byItem, true)
	// Ten had run before the stop: children created again would run
	// them again. At most the four in flight (and the two failed ones,
	// redriven by the re-run Map state, as after a restart) run twice.
	if total := byNode["a"] + byNode["b"]; total > 26 {
		t.Errorf("%d task runs for 20 items (%v): children were run again", total, byNode)
	}
	t.Logf("task runs per node: %v", byNode)
}

// A spread Distributed Map's end stops its children where they run: over
// its tolerated failures, or stopped, the parent ends as in one process
// and leaves no child RUNNING.
func TestSpreadDistributedMapEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	c := natstest.Start(t, 1)
	childrenEnded := func(t *testing.T, st *natsstore.State, parent string) map[string]int {
		t.Helper()
		sub, err := st.Store("imagerec").Sub("items")
		if err != nil {
			t.Fatal(err)
		}
		recs, err := sub.List()
		if err != nil {
			t.Fatal(err)
		}
		status := map[string]int{}
		for _, rec := range recs {
			if rec.Parent == parent {
				status[rec.Execution.Status]++
			}
		}
		if status[sfn.StatusRunning] != 0 {
			t.Errorf("children %v after the parent ended, want none RUNNING", status)
		}
		return status
	}
	t.Run("tolerance", func(t *testing.T) {
		def := strings.Replace(mapDef, `"ToleratedFailureCount":5`, `"ToleratedFailureCount":1`, 1)
		want := localOutput(t, def)
		r := newRuns()
		a := startNode(t, c, "a", def, r, 100*time.Millisecond, false)
		startNode(t, c, "b", def, r, 100*time.Millisecond, false)
		ex, err := a.x.Run(t.Context(), "over", spreadInput())
		if err != nil || ex.Status != want.Status || ex.Error != want.Error || ex.Cause != want.Cause {
			t.Fatalf("cluster run = %s %s %s, %v; want %s %s %s", ex.Status, ex.Error, ex.Cause, err, want.Status, want.Error, want.Cause)
		}
		t.Logf("children %v", childrenEnded(t, a.st, ex.ExecutionArn))
	})
	t.Run("stop", func(t *testing.T) {
		r := newRuns()
		a := startNode(t, c, "a", mapDef, r, 5*time.Second, false)
		startNode(t, c, "b", mapDef, r, 5*time.Second, false)
		done := make(chan sfn.Execution, 1)
		go func() {
			ex, _ := a.x.Run(t.Context(), "stopped", spreadInput())
			done <- ex
		}()
		for {
			r.mu.Lock()
			n := r.inFlight
			r.mu.Unlock()
			if n >= 4 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		arn := a.x.ExecutionArn("stopped")
		stopped, err := a.x.Stop(t.Context(), arn, "Halt", "stopped by the test")
		if err != nil || stopped.Status != sfn.StatusAborted {
			t.Fatalf("Stop = %+v, %v", stopped, err)
		}
		<-done
		status := childrenEnded(t, a.st, arn)
		if status[sfn.StatusAborted] != 4 || len(status) != 1 {
			t.Errorf("children %v, want the four in flight ABORTED", status)
		}
		t.Logf("children %v", status)
	})
}
