package sfn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SyncResult is the StartSyncExecution-shaped outcome printed by
// `imagerec states run`: {"status","output"} or {"status","error","cause"}.
type SyncResult struct {
	Status string  `json:"status"`
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
	Cause  *string `json:"cause,omitempty"`
}

// RunDefinition runs a definition once, synchronously, with input, and
// returns the StartSyncExecution-shaped result. A definition that does not
// validate is returned as an error.
func RunDefinition(ctx context.Context, def, input []byte, reg *Registry, opts Options) (SyncResult, error) {
	x, err := New(def, reg, opts)
	if err != nil {
		return SyncResult{}, err
	}
	defer x.Close()
	ex, err := x.RunSync(ctx, fmt.Sprintf("run-%d", time.Now().UnixNano()), input)
	var res SyncResult
	switch {
	case errors.Is(err, ErrInvalidExecutionInput):
		res.Status = StatusFailed
		e, c := "InvalidExecutionInput", err.Error()
		if strings.Contains(c, "limit") {
			e = "States.DataLimitExceeded"
		}
		res.Error, res.Cause = &e, &c
		return res, nil
	case err != nil:
		return SyncResult{}, err
	}
	res.Status = ex.Status
	if ex.Status == StatusSucceeded {
		s := string(ex.Output)
		res.Output = &s
	}
	if ex.HasError {
		res.Error = &ex.Error
	}
	if ex.HasCause {
		res.Cause = &ex.Cause
	}
	return res, nil
}
