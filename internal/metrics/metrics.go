// Package metrics builds the Prometheus registry of `imagerec serve` and the
// instruments the local wiring records into: executions by status and
// duration, state durations, queue depth, HTTP requests. It holds no global
// state: New returns a fresh registry.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the instruments.
type Metrics struct {
	Registry *prometheus.Registry
	// Executions counts finished executions by status (SUCCEEDED, FAILED...).
	Executions *prometheus.CounterVec
	// ExecutionSeconds observes upload-event-to-document time.
	ExecutionSeconds prometheus.Histogram
	// TaskSeconds observes each task by name (inspect, recognize...).
	TaskSeconds *prometheus.HistogramVec
	// Documents counts stored documents by kind (result, error) and error code.
	Documents *prometheus.CounterVec
	// Requests counts HTTP requests by API (s3, rekognition, ui) and status.
	Requests *prometheus.CounterVec
	// Reconciled counts uploads queued again by reconciliation: no
	// document, nothing pending or running.
	Reconciled prometheus.Counter
	// QueueDamage counts damage found in the durable queue, by kind
	// (lost_messages, store_reset, store_error, ...).
	QueueDamage *prometheus.CounterVec
}

// New returns instruments registered on a new registry, with the Go and
// process collectors. queueDepth, when not nil, is sampled on scrape.
func New(queueDepth func() float64) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagerec_executions_total", Help: "Finished state machine executions by status.",
		}, []string{"status"}),
		ExecutionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "imagerec_execution_seconds", Help: "Execution duration, event to document.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		TaskSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "imagerec_task_seconds", Help: "Task duration by task.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"task"}),
		Documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagerec_documents_total", Help: "Documents written to the result bucket by kind and error code.",
		}, []string{"kind", "error"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagerec_http_requests_total", Help: "HTTP requests by API and status code.",
		}, []string{"api", "code"}),
		Reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imagerec_reconciled_total", Help: "Uploads queued again by reconciliation (no document, nothing pending or running).",
		}),
		QueueDamage: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagerec_queue_damage_total", Help: "Damage found in the durable queue, by kind.",
		}, []string{"kind"}),
	}
	r.MustRegister(m.Executions, m.ExecutionSeconds, m.TaskSeconds, m.Documents, m.Requests, m.Reconciled, m.QueueDamage,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if queueDepth != nil {
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "imagerec_queue_pending", Help: "Events waiting in the durable queue or being processed.",
		}, queueDepth))
	}
	return m
}

// GaugeFunc registers a gauge sampled from f on every scrape.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Instrument counts requests of api served by next.
func (m *Metrics) Instrument(api string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.Requests.WithLabelValues(api, strconv.Itoa(sw.code)).Inc()
	})
}

// ObserveTask records one task's duration.
func (m *Metrics) ObserveTask(task string, d time.Duration) {
	m.TaskSeconds.WithLabelValues(task).Observe(d.Seconds())
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
