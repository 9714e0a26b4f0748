package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/s3event"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/ui"
)

// reconcileGrace: a newer upload's event may still be on its way.
const reconcileGrace = time.Minute

// reconciler wires pipeline.Reconciler to the store, queue and executor.
func (s *server) reconciler() *pipeline.Reconciler {
	return &pipeline.Reconciler{
		Objects:      pipeline.StoreObjects{Store: s.store},
		Trigger:      s.trigger,
		Rules:        s.rules(),
		UploadBucket: s.cfg.UploadBucket,
		Region:       s.cfg.Region,
		Logger:       s.log,
		State:        s.executionState,
		Requeue: func(ctx context.Context, rec s3event.Record, st pipeline.Start) error {
			data, err := json.Marshal(rec)
			if err != nil {
				return fmt.Errorf("encode event: %w", err)
			}
			if err := s.queue.PublishAgain(ctx, st.Name, data); err != nil {
				return err
			}
			s.metrics.Reconciled.Inc()
			s.reconciled.Add(1)
			return nil
		},
		Rerun: func(ctx context.Context, st pipeline.Start) error {
			if _, err := s.exec.Rerun(ctx, st.Name); err != nil {
				return err
			}
			s.metrics.Reconciled.Inc()
			s.reconciled.Add(1)
			return nil
		},
	}
}

// executionState says whether the work for st is queued, running or done.
func (s *server) executionState(ctx context.Context, st pipeline.Start) (pipeline.ExecutionState, error) {
	queued, err := s.queue.Has(ctx, st.Name)
	if err != nil {
		return 0, err
	}
	if queued {
		return pipeline.StateQueued, nil
	}
	ex, err := s.exec.Describe(ctx, s.exec.ExecutionArn(st.Name))
	switch {
	case errors.Is(err, sfn.ErrExecutionDoesNotExist):
		return pipeline.StateNone, nil
	case err != nil:
		return 0, err
	case ex.Status == sfn.StatusRunning:
		return pipeline.StateRunning, nil
	default:
		return pipeline.StateFinished, nil
	}
}

// reconcileLoop makes a pass at start and then every ReconcileInterval.
func (s *server) reconcileLoop(ctx context.Context, started time.Time) {
	r := s.reconciler()
	t := time.NewTicker(s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		// Uploads from before this process started cannot have their
		// event on the way; newer ones get a minute.
		cutoff := time.Now().Add(-reconcileGrace)
		if cutoff.Before(started) {
			cutoff = started
		}
		begin := time.Now()
		rep, err := r.Run(ctx, cutoff)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.ErrorContext(ctx, "reconciliation pass failed", "component", "reconcile", "err", err)
		case rep.Requeued+rep.Rerun+rep.Failed > 0:
			s.log.WarnContext(ctx, "reconciliation pass", "component", "reconcile", "examined", rep.Examined, "documented", rep.Documented,
				"in_flight", rep.InFlight, "requeued", rep.Requeued, "rerun", rep.Rerun, "failed", rep.Failed, "duration_ms", time.Since(begin).Milliseconds())
		default:
			s.log.InfoContext(ctx, "reconciliation pass", "component", "reconcile", "examined", rep.Examined, "documented", rep.Documented,
				"in_flight", rep.InFlight, "duration_ms", time.Since(begin).Milliseconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// status gathers what the page and /healthz report.
func (s *server) status(_ context.Context) ui.Status {
	st := ui.Status{Reconciled: s.reconciled.Load()}
	for _, d := range s.queue.Damage() {
		st.Problems = append(st.Problems, d.Time.UTC().Format(time.RFC3339)+" "+d.Message)
	}
	if s.execStore == nil {
		// A cluster's execution records are in its buckets.
	} else if n, err := s.execStore.Quarantined(); err != nil {
		st.Problems = append(st.Problems, err.Error())
	} else if n > 0 {
		st.QuarantinedExecutions = n
		st.Problems = append(st.Problems, fmt.Sprintf("%d unreadable execution file(s) moved to %s (look, then remove them)",
			n, filepath.Join(s.cfg.DataDir, "executions", sfn.QuarantineDir)))
	}
	if st.Reconciled > 0 {
		st.Problems = append(st.Problems, fmt.Sprintf("%d upload(s) had no document and nothing queued: queued again (see the reconcile WARN lines)", st.Reconciled))
	}
	st.Degraded = len(st.Problems) > 0
	return st
}
