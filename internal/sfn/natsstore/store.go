package natsstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/imagerec/imagerec/internal/sfn"
)

// Options configures Open. The zero value of each field means its default.
type Options struct {
	// Replicas is how many servers keep each bucket (default 1; 3 in a
	// three-node cluster).
	Replicas int
	// Bucket and LeaseBucket name the key-value buckets (default
	// "imagerec_executions", "imagerec_leases").
	Bucket, LeaseBucket string
	// LeaseTTL is how long a lease outlives its last renewal (default
	// 15s): how long an execution whose process died waits before another
	// may take it over.
	LeaseTTL time.Duration
	// Owner names this process in its leases (default host-pid).
	Owner string
	// Patience is how long a write that gets no answer is sent again
	// (default 20s).
	Patience time.Duration
	// Logger receives warnings (default: discarded).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Bucket == "" {
		o.Bucket = "imagerec_executions"
	}
	if o.LeaseBucket == "" {
		o.LeaseBucket = "imagerec_leases"
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 15 * time.Second
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()%1e6)
	}
	if o.Patience <= 0 {
		o.Patience = 20 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// State is the shared state of one JetStream account: execution records
// and leases.
type State struct {
	opts    Options
	records jetstream.KeyValue
	leases  jetstream.KeyValue
}

// Open creates the buckets when missing (idempotently: every process of
// a cluster does so at start) and returns their State.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*State, error) {
	opts.defaults()
	s := &State{opts: opts}
	var err error
	s.records, err = createBucket(ctx, s, js, jetstream.KeyValueConfig{
		Bucket: opts.Bucket, Description: "imagerec execution records (sfn.Record JSON)",
		History: 1, Storage: jetstream.FileStorage, Replicas: opts.Replicas, Compression: true,
	})
	if err != nil {
		return nil, err
	}
	s.leases, err = createBucket(ctx, s, js, jetstream.KeyValueConfig{
		Bucket: opts.LeaseBucket, Description: "imagerec execution leases: owner, expiring after the lease TTL",
		History: 1, Storage: jetstream.FileStorage, Replicas: opts.Replicas, TTL: opts.LeaseTTL,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func createBucket(ctx context.Context, s *State, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := s.patiently(ctx, "create bucket "+cfg.Bucket, func(ctx context.Context) error {
		var err error
		if kv, err = js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return err
		}
		// nats.go makes KV streams AllowDirect, so a Get may be answered
		// by a replica that has not caught up with the write just made
		// (a record saved by Start, then read back by Describe, looked
		// missing after a node restart). Gets go to the stream leader.
		stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
		if err != nil {
			return err
		}
		if sc := stream.CachedInfo().Config; sc.AllowDirect {
			sc.AllowDirect = false
			if _, err := js.UpdateStream(ctx, sc); err != nil {
				return err
			}
		}
		kv, err = js.KeyValue(ctx, cfg.Bucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create key-value bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// patiently calls f until it succeeds, fails for a reason other than a
// missing answer, or Options.Patience has passed.
func (s *State) patiently(ctx context.Context, what string, f func(context.Context) error) error {
	give := time.Now().Add(s.opts.Patience)
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(give) || !noAnswer(err) {
			return err
		}
		s.opts.Logger.WarnContext(ctx, what+": no answer from the cluster; trying again", "component", "natsstore", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// noAnswer reports whether err means nobody answered (a leader election,
// a node going away) rather than a refusal.
func noAnswer(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// enc makes a name a key token: URL-safe base64 uses only characters
// that key-value keys allow, and never '.', the token separator.
func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Store returns the store of the state machine machine's executions.
func (s *State) Store(machine string) *Store {
	return &Store{s: s, prefix: "m." + enc(machine)}
}

// Store is an sfn.Store in the records bucket: the executions of one
// state machine, or of one of its sub-stores.
type Store struct {
	s      *State
	prefix string
}

var (
	_ sfn.Store     = (*Store)(nil)
	_ sfn.SubStorer = (*Store)(nil)
	_ sfn.Leaser    = (*State)(nil)
)

func (st *Store) key(arn string) string { return st.prefix + ".e." + enc(arn) }

// Put implements sfn.Store.
func (st *Store) Put(rec *sfn.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode execution %q: %w", rec.Execution.ExecutionArn, err)
	}
	err = st.s.patiently(context.Background(), "write execution", func(ctx context.Context) error {
		_, err := st.s.records.Put(ctx, st.key(rec.Execution.ExecutionArn), b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write execution %q (%d bytes) to bucket %s: %w", rec.Execution.ExecutionArn, len(b), st.s.opts.Bucket, err)
	}
	return nil
}

// Get implements sfn.Store.
func (st *Store) Get(arn string) (*sfn.Record, error) {
	var e jetstream.KeyValueEntry
	err := st.s.patiently(context.Background(), "read execution", func(ctx context.Context) error {
		var err error
		e, err = st.s.records.Get(ctx, st.key(arn))
		return err
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: Execution Does Not Exist: '%s'", sfn.ErrExecutionDoesNotExist, arn)
	}
	if err != nil {
		return nil, fmt.Errorf("read execution %q: %w", arn, err)
	}
	var rec sfn.Record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, fmt.Errorf("read execution %q: %w", arn, err)
	}
	return &rec, nil
}

// List implements sfn.Store: every record of the store (not of its
// sub-stores), newest first. It reads the bucket's latest values in one
// pass.
func (st *Store) List() ([]*sfn.Record, error) {
	var out []*sfn.Record
	err := st.s.patiently(context.Background(), "list executions", func(ctx context.Context) error {
		out = out[:0]
		w, err := st.s.records.WatchFiltered(ctx, []string{st.prefix + ".e.*"}, jetstream.IgnoreDeletes())
		if err != nil {
			return err
		}
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case e, ok := <-w.Updates():
				if !ok {
					return errors.New("watch ended")
				}
				if e == nil { // the initial values are all in
					return nil
				}
				var rec sfn.Record
				if err := json.Unmarshal(e.Value(), &rec); err != nil {
					return fmt.Errorf("key %s: %w", e.Key(), err)
				}
				out = append(out, &rec)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Execution, out[j].Execution
		if !a.StartDate.Equal(b.StartDate) {
			return a.StartDate.After(b.StartDate)
		}
		return a.ExecutionArn < b.ExecutionArn
	})
	return out, nil
}

// Sub implements sfn.SubStorer: keys under this store's, with name as a
// token of their own.
func (st *Store) Sub(name string) (sfn.Store, error) {
	return &Store{s: st.s, prefix: st.prefix + ".s." + enc(name)}, nil
}

// String names the store in messages.
func (st *Store) String() string {
	return "nats key-value " + st.s.opts.Bucket + " " + strings.TrimPrefix(st.prefix, "m.")
}
