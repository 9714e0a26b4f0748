package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/metrics"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New(func() float64 { return 7 })
	m.Executions.WithLabelValues("SUCCEEDED").Inc()
	m.ObserveTask("recognize", 120*time.Millisecond)
	h := m.Instrument("s3", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`imagerec_executions_total{status="SUCCEEDED"} 1`,
		`imagerec_queue_pending 7`,
		`imagerec_http_requests_total{api="s3",code="404"} 1`,
		`imagerec_task_seconds_count{task="recognize"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
