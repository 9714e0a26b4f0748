package sfnapi

import (
	"context"
	"errors"
	"strings"

	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/sfn"
)

type loggingConfiguration struct {
	Level                string `json:"level"`
	IncludeExecutionData bool   `json:"includeExecutionData"`
}

type tracingConfiguration struct {
	Enabled bool `json:"enabled"`
}

// The local executor logs through serve's logger and traces nothing.
var (
	loggingOff = loggingConfiguration{Level: "OFF"}
	tracingOff = tracingConfiguration{}
)

func (h *Handler) createStateMachine(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Name        string `json:"name"`
		Definition  string `json:"definition"`
		RoleArn     string `json:"roleArn"`
		Type        string `json:"type"`
		Description string `json:"versionDescription"`
		Publish     bool   `json:"publish"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.Publish {
		return nil, validation("publishing versions is not supported by the local Step Functions")
	}
	sm, err := h.svc.Create(ctx, sfn.CreateInput{Name: req.Name, Definition: req.Definition, RoleArn: req.RoleArn, Type: req.Type})
	if err != nil {
		return nil, err
	}
	return struct {
		StateMachineArn string `json:"stateMachineArn"`
		CreationDate    epoch  `json:"creationDate"`
	}{sm.Arn, epoch(sm.CreationDate)}, nil
}

type stateMachineArg struct {
	StateMachineArn string `json:"stateMachineArn"`
}

func (h *Handler) describeStateMachine(_ context.Context, body []byte) (any, error) {
	var req stateMachineArg
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	sm, err := h.svc.Describe(req.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return struct {
		StateMachineArn      string               `json:"stateMachineArn"`
		Name                 string               `json:"name"`
		Status               string               `json:"status"`
		Definition           string               `json:"definition"`
		RoleArn              string               `json:"roleArn"`
		Type                 string               `json:"type"`
		CreationDate         epoch                `json:"creationDate"`
		LoggingConfiguration loggingConfiguration `json:"loggingConfiguration"`
		TracingConfiguration tracingConfiguration `json:"tracingConfiguration"`
		RevisionID           string               `json:"revisionId,omitempty"`
		Description          string               `json:"description,omitempty"`
	}{sm.Arn, sm.Name, "ACTIVE", sm.Definition, sm.RoleArn, sm.Type, epoch(sm.CreationDate), loggingOff, tracingOff, sm.RevisionID, sm.Description}, nil
}

type stateMachineListItem struct {
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Type            string `json:"type"`
	CreationDate    epoch  `json:"creationDate"`
}

func (h *Handler) listStateMachines(_ context.Context, body []byte) (any, error) {
	var req page
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	all := h.svc.List()
	keys := make([]string, len(all))
	for i, sm := range all {
		keys[i] = sm.Arn
	}
	start, end, next, err := paginate(keys, req, "stateMachines")
	if err != nil {
		return nil, err
	}
	items := make([]stateMachineListItem, 0, end-start)
	for _, sm := range all[start:end] {
		items = append(items, stateMachineListItem{sm.Arn, sm.Name, sm.Type, epoch(sm.CreationDate)})
	}
	return struct {
		StateMachines []stateMachineListItem `json:"stateMachines"`
		NextToken     string                 `json:"nextToken,omitempty"`
	}{items, next}, nil
}

func (h *Handler) updateStateMachine(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Definition      *string `json:"definition"`
		RoleArn         *string `json:"roleArn"`
		Publish         bool    `json:"publish"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.Publish {
		return nil, validation("publishing versions is not supported by the local Step Functions")
	}
	sm, err := h.svc.Update(ctx, req.StateMachineArn, sfn.UpdateInput{Definition: req.Definition, RoleArn: req.RoleArn})
	if err != nil {
		return nil, err
	}
	return struct {
		UpdateDate epoch  `json:"updateDate"`
		RevisionID string `json:"revisionId"`
	}{epoch(sm.UpdateDate), sm.RevisionID}, nil
}

func (h *Handler) deleteStateMachine(ctx context.Context, body []byte) (any, error) {
	var req stateMachineArg
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := h.svc.Delete(ctx, req.StateMachineArn); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type diagnostic struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
}

// validateDefinition gives the diagnostics of `imagerec states validate`:
// one ERROR per problem asl.Parse reports, located by state and field.
func (h *Handler) validateDefinition(_ context.Context, body []byte) (any, error) {
	var req struct {
		Definition string `json:"definition"`
		Type       string `json:"type"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.Definition == "" {
		return nil, validation("1 validation error detected: Value null at 'definition' failed to satisfy constraint: Member must not be null")
	}
	diags := []diagnostic{}
	_, err := asl.Parse([]byte(req.Definition))
	var ve *asl.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			loc, _, _ := strings.Cut(p, ": ")
			diags = append(diags, diagnostic{Severity: "ERROR", Code: "SCHEMA_VALIDATION_FAILED", Message: p, Location: loc})
		}
	case err != nil:
		diags = append(diags, diagnostic{Severity: "ERROR", Code: "INVALID_JSON_DESCRIPTION", Message: err.Error()})
	}
	result, truncated := "OK", false
	if len(diags) > 0 {
		result = "FAIL"
	}
	if max := req.MaxResults; max > 0 && len(diags) > max {
		diags, truncated = diags[:max], true
	}
	return struct {
		Result      string       `json:"result"`
		Diagnostics []diagnostic `json:"diagnostics"`
		Truncated   bool         `json:"truncated"`
	}{result, diags, truncated}, nil
}
