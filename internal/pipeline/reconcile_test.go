package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/s3event"
)

// reconcileEnv is a memstore with both buckets and a reconciler whose
// callbacks record what it does.
type reconcileEnv struct {
	store    *memstore.Store
	r        *pipeline.Reconciler
	states   map[string]pipeline.ExecutionState // by key
	requeued []string
	rerun    []string
	lists    int
}

type countingLister struct {
	pipeline.StoreObjects
	n *int
}

func (c countingLister) List(ctx context.Context, bucket, after string, max int) ([]pipeline.Listed, bool, error) {
	*c.n++
	return c.StoreObjects.List(ctx, bucket, after, max)
}

func newReconcileEnv(t *testing.T, rules s3event.Rules) *reconcileEnv {
	t.Helper()
	st := memstore.New()
	for _, b := range []string{"uploads", "results"} {
		if err := st.CreateBucket(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	e := &reconcileEnv{store: st, states: map[string]pipeline.ExecutionState{}}
	e.r = &pipeline.Reconciler{
		Objects:      countingLister{pipeline.StoreObjects{Store: st}, &e.lists},
		Trigger:      pipeline.Trigger{ResultBucket: "results"},
		Rules:        rules,
		UploadBucket: "uploads",
		PageSize:     3, // many pages, to exercise the walk across them
		Sleep:        func(context.Context, time.Duration) error { return nil },
		State: func(_ context.Context, st pipeline.Start) (pipeline.ExecutionState, error) {
			return e.states[st.Source.Key], nil
		},
		Requeue: func(_ context.Context, rec s3event.Record, st pipeline.Start) error {
			if k, _ := rec.DecodedKey(); k != st.Source.Key {
				return fmt.Errorf("record key %q, start key %q", k, st.Source.Key)
			}
			e.requeued = append(e.requeued, st.Source.Key)
			return nil
		},
		Rerun: func(_ context.Context, st pipeline.Start) error {
			e.rerun = append(e.rerun, st.Source.Key)
			return nil
		},
	}
	return e
}

func (e *reconcileEnv) put(t *testing.T, bucket, key string) {
	t.Helper()
	body := "x"
	if strings.HasSuffix(key, "/") && bucket == "uploads" && len(key) < 8 {
		body = "" // a folder marker
	}
	if _, err := e.store.PutObject(t.Context(), bucket, key, strings.NewReader(body), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

var allUploads = s3event.Rules{{ID: "r", Bucket: "uploads", Events: []string{"s3:ObjectCreated:*"}}}

func TestReconcile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rules      s3event.Rules
		uploads    []string
		docs       []string
		states     map[string]pipeline.ExecutionState
		wantQueued []string
		wantRerun  []string
	}{
		{name: "documented or not", uploads: []string{"a.jpg", "b.jpg", "c.jpg"}, docs: []string{"a.jpg.json", "c.jpg.error.json"},
			wantQueued: []string{"b.jpg"}},
		// Keys that are prefixes of others: their documents sort among the
		// longer keys' documents ("a.b.json" < "a.error.json" < "a.json").
		{name: "prefix keys", uploads: []string{"a", "a b", "a-1", "a.b", "a.error", "a/x", "ab"},
			docs:       []string{"a.json", "a.b.json", "a/x.error.json", "ab.json"},
			wantQueued: []string{"a b", "a-1", "a.error"}},
		// "a.error" + ".json" is also "a" + ".error.json": one document
		// counts for both names, as a HEAD of each would.
		{name: "shared document name", uploads: []string{"a", "a.error"}, docs: []string{"a.error.json"}},
		{name: "in flight is left alone", uploads: []string{"q.jpg", "r.jpg", "n.jpg"},
			states:     map[string]pipeline.ExecutionState{"q.jpg": pipeline.StateQueued, "r.jpg": pipeline.StateRunning},
			wantQueued: []string{"n.jpg"}},
		{name: "finished without a document is run again", uploads: []string{"f.jpg"},
			states: map[string]pipeline.ExecutionState{"f.jpg": pipeline.StateFinished}, wantRerun: []string{"f.jpg"}},
		{name: "notification filter", rules: s3event.Rules{{ID: "r", Bucket: "uploads", Suffix: ".jpg", Events: []string{"s3:ObjectCreated:*"}}},
			uploads: []string{"x.jpg", "x.txt"}, wantQueued: []string{"x.jpg"}},
		{name: "own and folder and too long keys", uploads: []string{"_imagerec/pending/p.json", "dir/", strings.Repeat("k", pipeline.MaxKeyLen+1), "ok"},
			wantQueued: []string{"ok"}},
		{name: "empty bucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := tc.rules
			if rules == nil {
				rules = allUploads
			}
			e := newReconcileEnv(t, rules)
			for _, k := range tc.uploads {
				e.put(t, "uploads", k)
			}
			for _, k := range tc.docs {
				e.put(t, "results", k)
			}
			for k, s := range tc.states {
				e.states[k] = s
			}
			rep, err := e.r.Run(t.Context(), time.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(e.requeued)
			if fmt.Sprint(e.requeued) != fmt.Sprint(tc.wantQueued) {
				t.Errorf("requeued %q, want %q (report %+v)", e.requeued, tc.wantQueued, rep)
			}
			if fmt.Sprint(e.rerun) != fmt.Sprint(tc.wantRerun) {
				t.Errorf("re-run %q, want %q", e.rerun, tc.wantRerun)
			}
			if rep.Requeued != len(tc.wantQueued) || rep.Rerun != len(tc.wantRerun) {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

// TestReconcileCutoff: objects modified after the cutoff may still have
// their event on the way: left alone.
func TestReconcileCutoff(t *testing.T) {
	t.Parallel()
	e := newReconcileEnv(t, allUploads)
	e.put(t, "uploads", "new.jpg")
	rep, err := e.r.Run(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || len(e.requeued) != 0 || rep.Skipped != 1 {
		t.Errorf("requeued %v, report %+v, %v", e.requeued, rep, err)
	}
}

// TestReconcileMatchesHeads: on random keys (many sharing prefixes, many
// pages), the merge walk decides exactly what a HEAD of each document
// name would.
func TestReconcileMatchesHeads(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	parts := []string{"a", "b", ".", "-", "/", " ", ".error", ".json", "é"}
	for round := range 20 {
		e := newReconcileEnv(t, allUploads)
		e.r.PageSize = 1 + rng.IntN(5)
		uploads := map[string]bool{}
		for range 40 {
			var b strings.Builder
			for range 1 + rng.IntN(4) {
				b.WriteString(parts[rng.IntN(len(parts))])
			}
			uploads[b.String()] = true
		}
		want := []string{}
		for k := range uploads {
			e.put(t, "uploads", k)
			switch rng.IntN(3) {
			case 0:
				e.put(t, "results", k+".json")
			case 1:
				e.put(t, "results", k+".error.json")
			}
		}
		for k := range uploads {
			if strings.HasSuffix(k, "/") && len(k) < 8 {
				continue // empty: a folder marker
			}
			_, errJ := e.store.HeadObject(t.Context(), "results", k+".json")
			_, errE := e.store.HeadObject(t.Context(), "results", k+".error.json")
			if errJ != nil && errE != nil {
				want = append(want, k)
			}
		}
		if _, err := e.r.Run(t.Context(), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		sort.Strings(want)
		sort.Strings(e.requeued)
		if fmt.Sprint(want) != fmt.Sprint(e.requeued) {
			t.Fatalf("round %d: requeued %q, HEADs say %q", round, e.requeued, want)
		}
	}
}

// BenchmarkReconcile100k: one pass over 100,000 uploads, all documented,
// with the store's own listing (memstore); the pace limit is off.
func BenchmarkReconcile100k(b *testing.B) {
	st := memstore.New()
	ctx := context.Background()
	for _, bk := range []string{"uploads", "results"} {
		_ = st.CreateBucket(ctx, bk)
	}
	for i := range 100_000 {
		k := fmt.Sprintf("photos/%06d.jpg", i)
		_, _ = st.PutObject(ctx, "uploads", k, strings.NewReader("x"), objstore.PutOptions{})
		_, _ = st.PutObject(ctx, "results", k+".json", strings.NewReader("x"), objstore.PutOptions{})
	}
	r := &pipeline.Reconciler{
		Objects: pipeline.StoreObjects{Store: st}, Trigger: pipeline.Trigger{ResultBucket: "results"}, Rules: allUploads, UploadBucket: "uploads",
		Sleep:   func(context.Context, time.Duration) error { return nil },
		State:   func(context.Context, pipeline.Start) (pipeline.ExecutionState, error) { return pipeline.StateNone, nil },
		Requeue: func(context.Context, s3event.Record, pipeline.Start) error { return nil },
		Rerun:   func(context.Context, pipeline.Start) error { return nil },
	}
	b.ResetTimer()
	for range b.N {
		rep, err := r.Run(ctx, time.Now().Add(time.Minute))
		if err != nil || rep.Documented != 100_000 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
}
