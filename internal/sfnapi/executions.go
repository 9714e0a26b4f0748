package sfnapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imagerec/imagerec/internal/sfn"
)

type dataDetails struct {
	Included bool `json:"included"`
}

var included = &dataDetails{Included: true}

// newName is the name StartExecution gives an execution started without
// one: a UUID, as on AWS.
func newName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type startRequest struct {
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Input           *string `json:"input"`
	TraceHeader     string  `json:"traceHeader"`
}

func (r startRequest) input() json.RawMessage {
	if r.Input == nil {
		return json.RawMessage("{}")
	}
	return json.RawMessage(*r.Input)
}

func (h *Handler) startExecution(ctx context.Context, body []byte) (any, error) {
	var req startRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	x, err := h.svc.Executor(req.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		req.Name = newName()
	}
	arn, err := x.Start(ctx, req.Name, req.input())
	if err != nil {
		return nil, err
	}
	ex, err := x.Describe(ctx, arn)
	if err != nil {
		return nil, err
	}
	return struct {
		ExecutionArn string `json:"executionArn"`
		StartDate    epoch  `json:"startDate"`
	}{arn, epoch(ex.StartDate)}, nil
}

func (h *Handler) startSyncExecution(ctx context.Context, body []byte) (any, error) {
	var req startRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	sm, err := h.svc.Describe(req.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if sm.Type != sfn.TypeExpress {
		return nil, fmt.Errorf("%w: This operation is not supported by this type of state machine", sfn.ErrStateMachineTypeNotSupport)
	}
	x, err := h.svc.Executor(req.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		req.Name = newName()
	}
	ex, err := x.RunSync(ctx, req.Name, req.input())
	if err != nil {
		return nil, err
	}
	return struct {
		ExecutionArn    string       `json:"executionArn"`
		StateMachineArn string       `json:"stateMachineArn"`
		Name            string       `json:"name"`
		StartDate       epoch        `json:"startDate"`
		StopDate        *epoch       `json:"stopDate"`
		Status          string       `json:"status"`
		Error           *string      `json:"error,omitempty"`
		Cause           *string      `json:"cause,omitempty"`
		Input           string       `json:"input"`
		InputDetails    *dataDetails `json:"inputDetails"`
		Output          *string      `json:"output,omitempty"`
		OutputDetails   *dataDetails `json:"outputDetails,omitempty"`
	}{
		ExecutionArn: ex.ExecutionArn, StateMachineArn: ex.StateMachineArn, Name: ex.Name,
		StartDate: epoch(ex.StartDate), StopDate: epochPtr(ex.StopDate), Status: ex.Status,
		Error: optional(ex.Error, ex.HasError), Cause: optional(ex.Cause, ex.HasCause),
		Input: string(ex.Input), InputDetails: included, Output: output(ex), OutputDetails: outputDetails(ex),
	}, nil
}

func optional(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

func output(ex sfn.Execution) *string {
	if ex.Status != sfn.StatusSucceeded {
		return nil
	}
	s := string(ex.Output)
	return &s
}

func outputDetails(ex sfn.Execution) *dataDetails {
	if ex.Status != sfn.StatusSucceeded {
		return nil
	}
	return included
}

type executionArg struct {
	ExecutionArn string `json:"executionArn"`
}

// execution finds an execution by ARN.
func (h *Handler) execution(ctx context.Context, arn string) (*sfn.Executor, sfn.Execution, error) {
	x, err := h.svc.ExecutionExecutor(arn)
	if err != nil {
		return nil, sfn.Execution{}, err
	}
	ex, err := x.Describe(ctx, arn)
	if err != nil {
		return nil, sfn.Execution{}, err
	}
	return x, ex, nil
}

func (h *Handler) stopExecution(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionArn string `json:"executionArn"`
		Error        string `json:"error"`
		Cause        string `json:"cause"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	x, _, err := h.execution(ctx, req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	ex, err := x.Stop(ctx, req.ExecutionArn, req.Error, req.Cause)
	if err != nil {
		return nil, err
	}
	stop := time.Now()
	if ex.StopDate != nil {
		stop = *ex.StopDate
	}
	return struct {
		StopDate epoch `json:"stopDate"`
	}{epoch(stop)}, nil
}

// describeOutput is DescribeExecution's response.
type describeOutput struct {
	ExecutionArn        string       `json:"executionArn"`
	StateMachineArn     string       `json:"stateMachineArn"`
	Name                string       `json:"name"`
	Status              string       `json:"status"`
	StartDate           epoch        `json:"startDate"`
	StopDate            *epoch       `json:"stopDate,omitempty"`
	Input               string       `json:"input"`
	InputDetails        *dataDetails `json:"inputDetails"`
	Output              *string      `json:"output,omitempty"`
	OutputDetails       *dataDetails `json:"outputDetails,omitempty"`
	Error               *string      `json:"error,omitempty"`
	Cause               *string      `json:"cause,omitempty"`
	MapRunArn           string       `json:"mapRunArn,omitempty"`
	RedriveCount        int          `json:"redriveCount"`
	RedriveDate         *epoch       `json:"redriveDate,omitempty"`
	RedriveStatus       string       `json:"redriveStatus"`
	RedriveStatusReason string       `json:"redriveStatusReason,omitempty"`
}

func (h *Handler) describeExecution(ctx context.Context, body []byte) (any, error) {
	var req executionArg
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	_, ex, err := h.execution(ctx, req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	status, reason := sfn.RedriveStatus(ex)
	return describeOutput{
		ExecutionArn: ex.ExecutionArn, StateMachineArn: ex.StateMachineArn, Name: ex.Name, Status: ex.Status,
		StartDate: epoch(ex.StartDate), StopDate: epochPtr(ex.StopDate), Input: string(ex.Input), InputDetails: included,
		Output: output(ex), OutputDetails: outputDetails(ex),
		Error: optional(ex.Error, ex.HasError), Cause: optional(ex.Cause, ex.HasCause),
		MapRunArn: ex.MapRunArn, RedriveCount: ex.RedriveCount, RedriveDate: epochPtr(ex.RedriveDate),
		RedriveStatus: status, RedriveStatusReason: reason,
	}, nil
}

type executionListItem struct {
	ExecutionArn    string `json:"executionArn"`
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	StartDate       epoch  `json:"startDate"`
	StopDate        *epoch `json:"stopDate,omitempty"`
	MapRunArn       string `json:"mapRunArn,omitempty"`
	RedriveCount    *int   `json:"redriveCount,omitempty"`
	RedriveDate     *epoch `json:"redriveDate,omitempty"`
}

var statuses = map[string]bool{
	sfn.StatusRunning: true, sfn.StatusSucceeded: true, sfn.StatusFailed: true,
	sfn.StatusTimedOut: true, sfn.StatusAborted: true, "PENDING_REDRIVE": true,
}

func (h *Handler) listExecutions(ctx context.Context, body []byte) (any, error) {
	var req struct {
		page
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MapRunArn       string `json:"mapRunArn"`
		RedriveFilter   string `json:"redriveFilter"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.StatusFilter != "" && !statuses[req.StatusFilter] {
		return nil, validation("1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]", req.StatusFilter)
	}
	switch req.RedriveFilter {
	case "", "REDRIVEN", "NOT_REDRIVEN":
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'redriveFilter' failed to satisfy constraint: Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]", req.RedriveFilter)
	}
	var (
		all []sfn.Execution
		err error
	)
	switch {
	case req.StateMachineArn != "" && req.MapRunArn != "":
		return nil, validation("specify either stateMachineArn or mapRunArn, not both")
	case req.MapRunArn != "":
		all, err = h.svc.MapRunExecutions(ctx, req.MapRunArn)
	case req.StateMachineArn != "":
		var x *sfn.Executor
		if x, err = h.svc.Executor(req.StateMachineArn); err == nil {
			all, err = x.List(ctx)
		}
	default:
		return nil, validation("stateMachineArn or mapRunArn must be specified")
	}
	if err != nil {
		return nil, err
	}
	var keep []sfn.Execution
	for _, ex := range all {
		switch {
		case req.StatusFilter == "PENDING_REDRIVE":
			continue // redrives start at once here: none is ever pending
		case req.StatusFilter != "" && ex.Status != req.StatusFilter:
			continue
		case req.RedriveFilter == "REDRIVEN" && ex.RedriveCount == 0,
			req.RedriveFilter == "NOT_REDRIVEN" && ex.RedriveCount > 0:
			continue
		}
		keep = append(keep, ex)
	}
	keys := make([]string, len(keep))
	for i, ex := range keep {
		keys[i] = ex.ExecutionArn
	}
	start, end, next, err := paginate(keys, req.page, "executions|"+req.StateMachineArn+"|"+req.MapRunArn+"|"+req.StatusFilter+"|"+req.RedriveFilter)
	if err != nil {
		return nil, err
	}
	items := make([]executionListItem, 0, end-start)
	for _, ex := range keep[start:end] {
		it := executionListItem{
			ExecutionArn: ex.ExecutionArn, StateMachineArn: ex.StateMachineArn, Name: ex.Name, Status: ex.Status,
			StartDate: epoch(ex.StartDate), StopDate: epochPtr(ex.StopDate), MapRunArn: ex.MapRunArn, RedriveDate: epochPtr(ex.RedriveDate),
		}
		if ex.RedriveCount > 0 {
			n := ex.RedriveCount
			it.RedriveCount = &n
		}
		items = append(items, it)
	}
	return struct {
		Executions []executionListItem `json:"executions"`
		NextToken  string              `json:"nextToken,omitempty"`
	}{items, next}, nil
}

// executionData are the event details that hold execution data, left out
// when includeExecutionData is false.
var executionData = map[string]bool{"input": true, "output": true}

func (h *Handler) getExecutionHistory(ctx context.Context, body []byte) (any, error) {
	var req struct {
		page
		ExecutionArn         string `json:"executionArn"`
		ReverseOrder         bool   `json:"reverseOrder"`
		IncludeExecutionData *bool  `json:"includeExecutionData"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	x, err := h.svc.ExecutionExecutor(req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	events, err := x.History(ctx, req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if req.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	keys := make([]string, len(events))
	for i, e := range events {
		keys[i] = fmt.Sprint(e.ID)
	}
	start, end, next, err := paginate(keys, req.page, fmt.Sprintf("history|%s|%t", req.ExecutionArn, req.ReverseOrder))
	if err != nil {
		return nil, err
	}
	withData := req.IncludeExecutionData == nil || *req.IncludeExecutionData
	out := make([]map[string]any, 0, end-start)
	for _, e := range events[start:end] {
		out = append(out, apiEvent(e, withData))
	}
	return struct {
		Events    []map[string]any `json:"events"`
		NextToken string           `json:"nextToken,omitempty"`
	}{out, next}, nil
}

// apiEvent shapes a history event as GetExecutionHistory returns it.
func apiEvent(e sfn.Event, withData bool) map[string]any {
	m := map[string]any{"timestamp": epoch(e.Timestamp), "type": e.Type, "id": e.ID, "previousEventId": e.PreviousEventID}
	if e.Details != nil {
		d := make(map[string]any, len(e.Details))
		for k, v := range e.Details {
			if !withData && executionData[k] {
				continue
			}
			d[k] = v
		}
		m[sfn.DetailsKey(e.Type)] = d
	}
	return m
}

func (h *Handler) describeStateMachineForExecution(ctx context.Context, body []byte) (any, error) {
	var req executionArg
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	x, ex, err := h.execution(ctx, req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	def, err := x.ExecutionDefinition(ctx, ex.ExecutionArn)
	if err != nil {
		return nil, err
	}
	sm, err := h.svc.Describe(x.StateMachineArn())
	if err != nil {
		// A Map Run's child: its machine is the item processor.
		sm = sfn.StateMachine{Arn: ex.StateMachineArn, RoleArn: x.RoleArn()}
	}
	update := sm.CreationDate
	if !sm.UpdateDate.IsZero() {
		update = sm.UpdateDate
	}
	return struct {
		StateMachineArn      string               `json:"stateMachineArn"`
		Name                 string               `json:"name"`
		Definition           string               `json:"definition"`
		RoleArn              string               `json:"roleArn"`
		UpdateDate           epoch                `json:"updateDate"`
		LoggingConfiguration loggingConfiguration `json:"loggingConfiguration"`
		TracingConfiguration tracingConfiguration `json:"tracingConfiguration"`
		MapRunArn            string               `json:"mapRunArn,omitempty"`
		RevisionID           string               `json:"revisionId,omitempty"`
	}{ex.StateMachineArn, machineName(ex.StateMachineArn), string(def), sm.RoleArn, epoch(update), loggingOff, tracingOff, ex.MapRunArn, sm.RevisionID}, nil
}

// machineName is the last part of a state machine ARN.
func machineName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}

func (h *Handler) redriveExecution(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionArn string `json:"executionArn"`
		ClientToken  string `json:"clientToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	date, err := h.svc.Redrive(ctx, req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	return struct {
		RedriveDate epoch `json:"redriveDate"`
	}{epoch(date)}, nil
}
