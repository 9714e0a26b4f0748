package sfnapi

import (
	"context"

	"github.com/imagerec/imagerec/internal/sfn"
)

type mapRunArg struct {
	MapRunArn string `json:"mapRunArn"`
}

func (h *Handler) describeMapRun(ctx context.Context, body []byte) (any, error) {
	var req mapRunArg
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	mr, err := h.svc.DescribeMapRun(ctx, req.MapRunArn)
	if err != nil {
		return nil, err
	}
	return struct {
		MapRunArn                  string           `json:"mapRunArn"`
		ExecutionArn               string           `json:"executionArn"`
		Status                     string           `json:"status"`
		StartDate                  epoch            `json:"startDate"`
		StopDate                   *epoch           `json:"stopDate,omitempty"`
		MaxConcurrency             int64            `json:"maxConcurrency"`
		ToleratedFailurePercentage float64          `json:"toleratedFailurePercentage"`
		ToleratedFailureCount      int64            `json:"toleratedFailureCount"`
		ItemCounts                 sfn.MapRunCounts `json:"itemCounts"`
		ExecutionCounts            sfn.MapRunCounts `json:"executionCounts"`
		RedriveCount               int              `json:"redriveCount"`
		RedriveDate                *epoch           `json:"redriveDate,omitempty"`
	}{mr.MapRunArn, mr.ExecutionArn, mr.Status, epoch(mr.StartDate), epochPtr(mr.StopDate), mr.MaxConcurrency,
		mr.ToleratedFailurePercentage, mr.ToleratedFailureCount, mr.ItemCounts, mr.ExecutionCounts, mr.RedriveCount, epochPtr(mr.RedriveDate)}, nil
}

type mapRunListItem struct {
	ExecutionArn    string `json:"executionArn"`
	MapRunArn       string `json:"mapRunArn"`
	StateMachineArn string `json:"stateMachineArn"`
	StartDate       epoch  `json:"startDate"`
	StopDate        *epoch `json:"stopDate,omitempty"`
}

func (h *Handler) listMapRuns(ctx context.Context, body []byte) (any, error) {
	var req struct {
		page
		ExecutionArn string `json:"executionArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	runs, err := h.svc.ListMapRuns(ctx, req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(runs))
	for i, mr := range runs {
		keys[i] = mr.MapRunArn
	}
	start, end, next, err := paginate(keys, req.page, "mapRuns|"+req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	items := make([]mapRunListItem, 0, end-start)
	for _, mr := range runs[start:end] {
		items = append(items, mapRunListItem{mr.ExecutionArn, mr.MapRunArn, mr.StateMachineArn, epoch(mr.StartDate), epochPtr(mr.StopDate)})
	}
	return struct {
		MapRuns   []mapRunListItem `json:"mapRuns"`
		NextToken string           `json:"nextToken,omitempty"`
	}{items, next}, nil
}
