package awslambda

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Metrics writes CloudWatch Embedded Metric Format lines: CloudWatch Logs
// turns each into metric data points in Namespace, with no PutMetricData
// call and no extra permission. Lambda forwards stdout to CloudWatch Logs.
type Metrics struct {
	W         io.Writer
	Namespace string // default "imagerec"
	Now       func() time.Time

	mu sync.Mutex
}

// Record writes Duration (milliseconds) and Errors (0 or 1) for one
// invocation of function, with the Function dimension; errName, when set,
// is a property searchable in Logs Insights.
func (m *Metrics) Record(_ context.Context, function string, d time.Duration, errName string) {
	if m == nil || m.W == nil {
		return
	}
	ns := m.Namespace
	if ns == "" {
		ns = "imagerec"
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	errors := 0
	if errName != "" {
		errors = 1
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  ns,
				"Dimensions": [][]string{{"Function"}},
				"Metrics": []any{
					map[string]string{"Name": "Duration", "Unit": "Milliseconds"},
					map[string]string{"Name": "Errors", "Unit": "Count"},
				},
			}},
		},
		"Function": function,
		"Duration": float64(d.Microseconds()) / 1000,
		"Errors":   errors,
	}
	if errName != "" {
		line["ErrorName"] = errName
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.W.Write(append(b, '\n')) // best effort: metrics never fail a task
}
