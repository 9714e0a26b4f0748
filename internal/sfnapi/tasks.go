package sfnapi

import (
	"context"

	"github.com/imagerec/imagerec/internal/sfn"
)

type tokenArg struct {
	TaskToken string `json:"taskToken"`
}

func (h *Handler) sendTaskSuccess(ctx context.Context, body []byte) (any, error) {
	var req struct {
		tokenArg
		Output string `json:"output"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := h.svc.SendTaskResult(ctx, req.TaskToken, sfn.CallbackOutcome{Status: sfn.StatusSucceeded, Output: req.Output}); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Handler) sendTaskFailure(ctx context.Context, body []byte) (any, error) {
	var req struct {
		tokenArg
		Error string `json:"error"`
		Cause string `json:"cause"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := h.svc.SendTaskResult(ctx, req.TaskToken, sfn.CallbackOutcome{Status: sfn.StatusFailed, Error: req.Error, Cause: req.Cause}); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Handler) sendTaskHeartbeat(ctx context.Context, body []byte) (any, error) {
	var req tokenArg
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := h.svc.SendTaskHeartbeat(ctx, req.TaskToken); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
