package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/asl"
	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/fsperm"
	"github.com/imagerec/imagerec/internal/lockfile"
	"github.com/imagerec/imagerec/internal/membudget"
	"github.com/imagerec/imagerec/internal/metrics"
	"github.com/imagerec/imagerec/internal/notify"
	"github.com/imagerec/imagerec/internal/notify/lognotify"
	"github.com/imagerec/imagerec/internal/notify/webhook"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/queue"
	"github.com/imagerec/imagerec/internal/rekapi"
	"github.com/imagerec/imagerec/internal/s3api"
	"github.com/imagerec/imagerec/internal/s3event"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sfn/natsstore"
	"github.com/imagerec/imagerec/internal/sfnapi"
	"github.com/imagerec/imagerec/internal/sigv4"
	"github.com/imagerec/imagerec/internal/ui"
	"github.com/imagerec/imagerec/internal/vision/onnx"
)

// uiPrefix is where the web console, metrics and health live on the endpoint.
// '_' cannot start a bucket name, so it never shadows an S3 path.
const uiPrefix = "/_imagerec"

func cmdServe(ctx context.Context, env *Env, args []string) error {
	cfg, err := config.Load(env.Getenv, args, env.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// Everything serve and its libraries create (objects, documents, the
	// queue's files, dead letters) is private to the user running it.
	defer fsperm.RestrictUmask()()
	srv, err := newServer(ctx, cfg, env.Logger)
	if err != nil {
		return err
	}
	defer srv.close()
	return srv.run(ctx, env.Stdout)
}

// server is the wired local pipeline.
type server struct {
	cfg       config.Config
	log       *slog.Logger
	store     objectStore
	queue     *queue.Queue
	engine    *onnx.Engine
	faces     *facecollection.Store // nil without the face models
	budget    *membudget.Budget
	exec      *sfn.Executor
	backfill  *sfn.Executor
	execStore *sfn.DirStore // nil in a cluster (shared)
	// shared is the cluster's execution state (--queue), nil otherwise.
	shared *natsstore.State
	states *sfn.Service
	// reconciled counts uploads started again since the server started.
	reconciled atomic.Int64
	metrics    *metrics.Metrics
	trigger    pipeline.Trigger
	listener   net.Listener
	http       *http.Server
	closers    []func()
	// public is the base of every URL handed out (--public-url).
	public *url.URL
	// console is the web console; watched is the store as the endpoint
	// and the pipeline write it, which tells the console.
	console *console
	watched *watchedStore
}

func newServer(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *server, err error) {
	s := &server{cfg: cfg, log: log, trigger: pipeline.Trigger{ResultBucket: cfg.ResultBucket}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.openDataDir(); err != nil {
		return nil, err
	}
	// Bind before the models load, so a busy port fails at once.
	if err := s.listen(); err != nil {
		return nil, err
	}
	if s.store, err = openObjectStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	s.metrics = metrics.New(func() float64 {
		n, _ := s.queue.Pending(context.Background())
		return float64(n)
	})
	if err := s.openQueue(ctx); err != nil {
		return nil, err
	}
	s.openBudget()
	if s.console, err = newConsole(s); err != nil {
		return nil, err
	}
	s.watched = s.console.watch(s.store)
	if err := s.openEngine(ctx); err != nil {
		return nil, err
	}

	// The tasks write through the console's watch where there is a
	// console (a worker has none: nothing would take its changes).
	var taskStore objstore.Store = s.watched
	if !cfg.Gateway() {
		taskStore = s.store
	}
	tasks := newTasks(cfg, taskStore, s.engine, s.notifier(), log)
	if err := searchFaces(tasks, s.faces, cfg, log); err != nil {
		return nil, err
	}
	if err := s.openStates(tasks); err != nil {
		return nil, err
	}
	return s, nil
}

// openDataDir makes the data directory, takes its lock (one server per
// data directory: two would share one queue and store) and makes it
// private.
func (s *server) openDataDir() error {
	cfg, log := s.cfg, s.log
	if err := os.MkdirAll(cfg.DataDir, fsperm.Dir); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	lock, err := lockfile.Acquire(filepath.Join(cfg.DataDir, "imagerec.lock"), "imagerec serve --listen "+cfg.Listen)
	if err != nil {
		return fmt.Errorf("data directory %s is in use: %w; stop that server or give this one another --data", cfg.DataDir, err)
	}
	s.closers = append(s.closers, func() { _ = lock.Release() })
	if err := tightenDataDir(cfg.DataDir, log); err != nil {
		return err
	}
	return nil
}

// listen binds --listen and works out the public URL, warning about a
// non-loopback address.
func (s *server) listen() (err error) {
	cfg, log := s.cfg, s.log
	if s.listener, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("listen on %s: %w (choose another address with --listen HOST:PORT or IMAGEREC_LISTEN)", cfg.Listen, err)
	}
	s.closers = append(s.closers, func() { _ = s.listener.Close() })
	if s.public, err = publicURL(cfg, s.listener.Addr()); err != nil {
		return err
	}
	if !cfg.ListenIsLoopback() {
		log.Warn("listening on a non-loopback address: the S3 endpoint, the Rekognition API and the console (sign-in with the access key) are reachable from the network over plain HTTP; keep --listen on 127.0.0.1 or put a proxy with TLS in front and set --public-url",
			"listen", cfg.Listen, "public_url", s.public.String())
		if cfg.PublicURL == "" {
			log.Warn("no --public-url: the URLs serve prints use 127.0.0.1 and the console answers to loopback names only; set --public-url to the address clients use",
				"public_url", s.public.String())
		}
	}
	return nil
}

// openQueue opens the event queue, embedded or an external JetStream
// cluster, and in a cluster the shared execution state.
func (s *server) openQueue(ctx context.Context) (err error) {
	cfg, log := s.cfg, s.log
	// Damage found in the queue's files is logged (ERROR) by the queue,
	// counted here, shown on the page and in healthz; the reconciler
	// re-queues the work the lost events stood for.
	qcfg := queue.Config{Dir: filepath.Join(cfg.DataDir, "queue"), Logger: log, AckWait: cfg.QueueAckWait,
		OnDamage: func(d queue.Damage) { s.metrics.QueueDamage.WithLabelValues(d.Kind).Inc() }}
	if cfg.Clustered() {
		// An existing JetStream cluster, shared with the other gateways
		// and workers (docs/cluster.md).
		qcfg.Dir = ""
		qcfg.Servers, qcfg.Replicas = cfg.Queue, cfg.QueueReplicas
		qcfg.CredsFile, qcfg.TLSCA, qcfg.TLSCert, qcfg.TLSKey = cfg.QueueCreds, cfg.QueueTLSCA, cfg.QueueTLSCert, cfg.QueueTLSKey
		qcfg.Name = "imagerec-" + cfg.Role
	}
	if s.queue, err = queue.Open(ctx, qcfg); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	s.closers = append(s.closers, s.queue.Close)
	if cfg.Clustered() {
		// Execution records and leases in the same cluster, seen by every
		// gateway and worker (docs/adr/0015-shared-execution-state.md).
		if s.shared, err = natsstore.Open(ctx, s.queue.JetStream(), natsstore.Options{
			Replicas: cfg.QueueReplicas, LeaseTTL: leaseTTL(cfg.QueueAckWait), Logger: log,
		}); err != nil {
			return fmt.Errorf("shared execution state: %w", err)
		}
	}
	return nil
}

// openBudget sizes the memory budget for decoding and exports its gauges.
func (s *server) openBudget() {
	log := s.log
	size, why := membudget.Choose(s.cfg.MemoryBudget, os.ReadFile)
	s.budget = membudget.New(size)
	for _, g := range []struct {
		name, help string
		v          func(membudget.Stats) int64
	}{
		{"imagerec_memory_budget_bytes", "Memory budget for analysing images.", func(st membudget.Stats) int64 { return st.Size }},
		{"imagerec_memory_budget_in_use_bytes", "Estimated memory of the images being analysed.", func(st membudget.Stats) int64 { return st.InUse }},
		{"imagerec_memory_budget_peak_bytes", "Most estimated memory admitted at once since start.", func(st membudget.Stats) int64 { return st.Peak }},
		{"imagerec_memory_budget_waiting", "Images waiting for memory to be analysed.", func(st membudget.Stats) int64 { return int64(st.Waiting) }},
	} {
		s.metrics.GaugeFunc(g.name, g.help, func() float64 { return float64(g.v(s.budget.Stats())) })
	}
	log.Info("memory budget for analysing images", "budget", humanize.IBytes(uint64(size)), "reason", why)
}

// openEngine loads the recognition engine and, with the face models, the
// face collections.
func (s *server) openEngine(ctx context.Context) (err error) {
	cfg, log := s.cfg, s.log
	start := time.Now()
	if s.engine, err = onnx.New(ctx, onnx.Config{CacheRoot: cfg.CacheDir, Features: cfg.Features, Logger: log, Budget: s.budget}); err != nil {
		return fmt.Errorf("recognition engine (run `imagerec models install`): %w", err)
	}
	s.closers = append(s.closers, func() { _ = s.engine.Close() })
	log.Info("recognition engine ready", "features", cfg.Features, "load_ms", time.Since(start).Milliseconds())
	if s.faces, err = openCollections(cfg, s.engine); err != nil {
		return err
	}
	if s.faces == nil {
		log.Warn("face collections are off: the face models are not installed (run: imagerec models install)")
	}
	return nil
}

// openStates registers tasks and starts the Step Functions service with
// the pipeline's and the backfill's state machines and the ones users
// create through the API (kept under DATA/statemachines).
func (s *server) openStates(tasks *pipeline.Tasks) (err error) {
	cfg, log := s.cfg, s.log
	reg := sfn.NewRegistry()
	registerTasks(reg, func(context.Context) (*pipeline.Tasks, error) { return tasks, nil }, s.metrics.ObserveTask)

	sopts := sfn.ServiceOptions{
		Dir:      filepath.Join(cfg.DataDir, "statemachines"),
		Region:   cfg.Region,
		Account:  deploy.LocalAccount,
		Registry: reg,
		Logger:   log,
		Objects:  sfn.StoreObjects{Store: s.store},
		// A clean stop finishes the executions in flight, so their
		// notifications are not sent again by a re-run after the restart.
		CloseGrace: 10 * time.Second,
	}
	var execStore sfn.Store
	if s.shared != nil {
		// Every machine's executions in the cluster's buckets; one process
		// at a time runs each, under its lease.
		execStore = s.shared.Store(deploy.LocalStateMachine)
		sopts.ExecutionStore = func(machine string) (sfn.Store, error) { return s.shared.Store(machine), nil }
		sopts.Leaser = s.shared
	} else {
		// This process owns the directory (lock above): unreadable
		// execution files are quarantined rather than stopping the server.
		if s.execStore, err = sfn.NewDirStore(filepath.Join(cfg.DataDir, "executions"), sfn.DirOptions{Quarantine: true, Logger: log}); err != nil {
			return fmt.Errorf("execution store: %w", err)
		}
		s.metrics.GaugeFunc("imagerec_quarantined_executions", "Unreadable execution files moved to executions/quarantine/.", func() float64 {
			n, _ := s.execStore.Quarantined()
			return float64(n)
		})
		execStore = s.execStore
	}
	if s.states, err = sfn.NewService(sopts); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = s.states.Close() })
	def := asl.Substitute(deploy.StateMachine, deploy.LocalSubstitutions(cfg.ResultBucket))
	// A cluster's gateway runs none of the managed machines' executions:
	// it stores them and hands them to the workers through the queue.
	// The child executions of their Distributed Maps (the backfill's) are
	// handed to the workers by whichever node runs the parent.
	var dispatch, mapDispatch func(context.Context, string, bool) error
	if s.shared != nil && !cfg.Worker() {
		dispatch = s.dispatch
	}
	if s.shared != nil {
		mapDispatch = s.dispatch
	}
	s.exec, err = s.states.AddManaged(deploy.LocalStateMachine, def, sfn.ManagedOptions{Store: execStore, OnComplete: s.completed, OnEvent: s.console.executionEvent, Dispatch: dispatch, MapDispatch: mapDispatch})
	if err != nil {
		return fmt.Errorf("state machine %s: %w", "deploy/statemachine.asl.json", err)
	}
	backfill := asl.Substitute(deploy.Backfill, deploy.LocalSubstitutions(cfg.ResultBucket, cfg.UploadBucket))
	if s.backfill, err = s.states.AddManaged(deploy.LocalBackfill, backfill, sfn.ManagedOptions{Dispatch: dispatch, MapDispatch: mapDispatch}); err != nil {
		return fmt.Errorf("state machine %s: %w", "deploy/backfill.asl.json", err)
	}
	return nil
}

// leaseTTL is how long an execution's lease outlives its process: the
// queue's ack wait (at least 2s), so a redelivered event finds the lease of
// the worker that died expired, and a leader election in the cluster (a
// few seconds without answers) does not lose a live worker's leases.
func leaseTTL(ackWait time.Duration) time.Duration {
	return max(ackWait, 2*time.Second)
}

// dataEntries are what serve keeps under --data. Only these are made
// private at start: --data may name a directory that holds other things.
var dataEntries = []string{"objects", "queue", "queue.state", "executions", "statemachines", "deadletter", "thumbnails", "collections", "imagerec.lock"}

// tightenDataDir makes the data directory and serve's entries in it
// private (directories 0700, files 0600), for a directory written by a
// version that made them world-readable.
func tightenDataDir(dir string, log *slog.Logger) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	n := 0
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, perm&0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		n++
	}
	for _, e := range dataEntries {
		c, err := fsperm.Tighten(filepath.Join(dir, e))
		n += c
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	if n > 0 {
		log.Warn("data directory was readable by other users: made it private (files 0600, directories 0700)", "dir", dir, "count", n)
	}
	return nil
}

// notifier is the log notifier plus the webhook when configured.
func (s *server) notifier() notify.Notifier {
	n := notify.Multi{lognotify.New(s.log)}
	if s.cfg.WebhookURL != "" {
		hook := webhook.New(s.cfg.WebhookURL, webhook.Options{
			Secret:         s.cfg.WebhookSecret,
			DeadLetterFile: filepath.Join(s.cfg.DataDir, "deadletter", "webhook.jsonl"),
			Logger:         s.log,
		})
		if !hook.Signed() {
			s.log.Warn("webhook has no secret: notifications go out unsigned and receivers cannot tell them from forgeries; set IMAGEREC_WEBHOOK_SECRET", "url", hook.URL())
		}
		n = append(n, hook)
	}
	return n
}

func (s *server) completed(ex sfn.Execution) {
	s.metrics.Executions.WithLabelValues(ex.Status).Inc()
	// The state machine ends SUCCEEDED after a result document and FAILED
	// (ImageFailed) after an error document.
	if ex.Status == sfn.StatusSucceeded {
		s.metrics.Documents.WithLabelValues("result", "").Inc()
	} else {
		s.metrics.Documents.WithLabelValues("error", ex.Error).Inc()
	}
	d := time.Duration(0)
	if ex.StopDate != nil {
		d = ex.StopDate.Sub(ex.StartDate)
		s.metrics.ExecutionSeconds.Observe(d.Seconds())
	}
	s.log.Info("execution finished", "execution", ex.Name, "status", ex.Status, "error", ex.Error, "duration_ms", d.Milliseconds())
	s.console.executionDone(ex)
}

// run serves until ctx is done.
func (s *server) run(ctx context.Context, stdout io.Writer) error {
	endpoint := s.public.String()
	h := s.handler()
	if !s.cfg.Gateway() {
		h = s.workerHandler()
	}
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	// Open event streams would hold a graceful shutdown for its timeout.
	s.http.RegisterOnShutdown(s.console.page.Close)

	// In a cluster, the processes that run executions take up those a
	// stopped process left (a gateway leaves them to the workers).
	if s.shared == nil || s.cfg.Worker() {
		recovered, err := s.states.Recover(ctx)
		if err != nil {
			return err
		}
		if len(recovered) > 0 {
			s.log.Info("re-running executions interrupted by a stop", "count", len(recovered))
		}
	}

	// One write: a reader of the first line has the whole banner.
	var banner strings.Builder
	if !s.cfg.Gateway() {
		fmt.Fprintf(&banner, "imagerec serve %s: worker (no S3 endpoint), metrics and health endpoint: %s\n", version, endpoint)
		fmt.Fprintf(&banner, "  queue:       %s (executions)\n", redactQueue(s.cfg.Queue))
		fmt.Fprintf(&banner, "  store:       %s\n", storeName(s.cfg))
		fmt.Fprintf(&banner, "  metrics:     %s%s/metrics   health: %s%s/healthz\n", endpoint, uiPrefix, endpoint, uiPrefix)
		_, _ = io.WriteString(stdout, banner.String())
		return s.serve(ctx)
	}
	fmt.Fprintf(&banner, "imagerec serve %s: endpoint: %s\n", version, endpoint)
	if s.cfg.Clustered() {
		fmt.Fprintf(&banner, "  role:        %s, queue %s, store %s\n", s.cfg.Role, redactQueue(s.cfg.Queue), storeName(s.cfg))
	}
	fmt.Fprintf(&banner, "  credentials: AWS_ACCESS_KEY_ID=%s, secret access key from %s (region %s)\n", s.cfg.AccessKeyID, s.cfg.SecretSource, s.cfg.Region)
	fmt.Fprintf(&banner, "  upload:      aws --endpoint-url %s s3 cp photo.jpg s3://%s/\n", endpoint, s.cfg.UploadBucket)
	fmt.Fprintf(&banner, "  results:     aws --endpoint-url %s s3 ls s3://%s/\n", endpoint, s.cfg.ResultBucket)
	fmt.Fprintf(&banner, "  console:     %s\n", s.console.signInURL())
	fmt.Fprintf(&banner, "               (sign-in link: single use, valid for %.0f minutes; or sign in with the access key and secret)\n", ui.DefaultTokenTTL.Minutes())
	fmt.Fprintf(&banner, "  metrics:     %s%s/metrics   health: %s%s/healthz\n", endpoint, uiPrefix, endpoint, uiPrefix)
	_, _ = io.WriteString(stdout, banner.String())
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	return s.serve(ctx)
}

// serve runs the parts of the role until ctx is done: the gateway's
// reconciliation and console, the worker's queue consumer, and the HTTP
// server (all of it, or a worker's metrics and health).
func (s *server) serve(ctx context.Context) error {
	started := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	if s.cfg.Gateway() {
		if s.cfg.ReconcileInterval > 0 {
			wg.Go(func() { s.reconcileLoop(ctx, started) })
		}
		wg.Go(func() { s.console.run(ctx) })
	}
	wg.Go(func() {
		if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	})
	if s.shared != nil && s.cfg.Worker() {
		wg.Go(func() { s.adoptLoop(ctx) })
	}
	if s.cfg.Worker() {
		wg.Go(func() {
			if err := s.queue.Consume(ctx, s.cfg.Workers, s.handleEvent); err != nil {
				errc <- err
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = s.http.Shutdown(sctx)
	wg.Wait()
	return err
}

// handleEvent runs one queued S3 event record through the trigger loop
// (pipeline.Trigger.Records) and waits for its execution. Returning an
// error leaves it in the queue for redelivery.
func (s *server) handleEvent(ctx context.Context, data []byte) error {
	var handed executionMessage
	if json.Unmarshal(data, &handed) == nil && handed.Execution != "" {
		return s.runHanded(ctx, handed.Execution)
	}
	all, err := s3event.ParseMessage(data)
	if err != nil {
		s.log.ErrorContext(ctx, "dropping undecodable queued event", "err", err, "message", truncate(data, 512))
		return nil
	}
	// Records straight from another store (MinIO's NATS target) pass the
	// notification rules the endpoint applies to its own before it queues
	// them (a store that notifies on every bucket would otherwise feed the
	// result documents back); the endpoint's were selected when queued.
	rules := s.rules()
	var recs []s3event.Record
	for _, rec := range all {
		key, _ := rec.DecodedKey()
		if rec.EventSource != s3event.EventSource && len(rules.Match(rec.S3.Bucket.Name, key, rec.EventName)) == 0 {
			s.log.InfoContext(ctx, "store event ignored: no notification rule selects it", "event_source", rec.EventSource, "bucket", rec.S3.Bucket.Name, "key", key, "event", rec.EventName)
			continue
		}
		recs = append(recs, rec)
	}
	var started []string
	_, err = s.trigger.Records(ctx, recs, func(ctx context.Context, st pipeline.Start) (string, error) {
		if s.shared != nil {
			// A cluster: run it to its end here under its lease, take it
			// over from a worker that died, or wait for the one that runs
			// it (sfn.Executor.Run). Interrupted, the event is delivered
			// again.
			ex, err := s.exec.Run(ctx, st.Name, st.Input)
			if errors.Is(err, sfn.ErrExecutionAlreadyExists) {
				return "", pipeline.ErrExecutionExists
			}
			return ex.ExecutionArn, err
		}
		arn, err := s.exec.Start(ctx, st.Name, st.Input)
		if errors.Is(err, sfn.ErrExecutionAlreadyExists) {
			return "", pipeline.ErrExecutionExists
		}
		if err == nil {
			started = append(started, arn)
		}
		return arn, err
	}, s.log)
	if err != nil && !startAgain(err) {
		s.log.ErrorContext(ctx, "dropping event", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	for _, arn := range started {
		if _, err := s.exec.Wait(ctx, arn); err != nil {
			return err
		}
	}
	return nil
}

// adoptEvery is how often a cluster's worker looks for RUNNING
// executions whose process died and that no queued event stands for.
const adoptEvery = time.Minute

// adoptLoop takes up, every adoptEvery, the cluster's RUNNING executions
// whose lease is free (sfn.Executor.Recover with a Leaser): those started
// through the API on a process that died. Executions started by events
// come back through the queue's redelivery as well.
func (s *server) adoptLoop(ctx context.Context) {
	t := time.NewTicker(adoptEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		arns, err := s.states.Recover(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.WarnContext(ctx, "taking up executions left by a stopped process", "err", err)
		case len(arns) > 0:
			s.log.InfoContext(ctx, "took up executions left by a stopped process", "count", len(arns))
		}
	}
}

// executionMessage is what a cluster's gateway queues for an execution
// it stored RUNNING (StartExecution, a re-run by its reconciler): the
// worker that gets it runs it (sfn.Executor.RunExisting).
type executionMessage struct {
	Execution string `json:"imagerecExecution"`
}

// dispatch is the gateway's sfn.Options.Dispatch: the execution's ARN to
// the queue, under its own id (again: a re-run, past the de-duplication).
func (s *server) dispatch(ctx context.Context, arn string, again bool) error {
	data, err := json.Marshal(executionMessage{Execution: arn})
	if err != nil {
		return fmt.Errorf("encode execution %s: %w", arn, err)
	}
	if again {
		return s.queue.PublishAgain(ctx, "execution:"+arn, data)
	}
	return s.queue.Publish(ctx, "execution:"+arn, data)
}

// runHanded runs an execution a gateway stored and queued, or a
// Distributed Map's child execution another node queued, on the managed
// machine its ARN names. Returning an error leaves it for redelivery.
func (s *server) runHanded(ctx context.Context, arn string) error {
	var x *sfn.Executor
	for _, m := range []*sfn.Executor{s.exec, s.backfill} {
		if m.HandlesExecution(arn) {
			x = m
		}
	}
	if x == nil || s.shared == nil {
		s.log.ErrorContext(ctx, "dropping a queued execution of no machine this process runs", "execution", arn)
		return nil
	}
	ex, err := x.RunExisting(ctx, arn)
	if errors.Is(err, sfn.ErrExecutionDoesNotExist) {
		s.log.ErrorContext(ctx, "dropping a queued execution that is not stored", "execution", arn)
		return nil
	}
	if err != nil {
		return err
	}
	s.log.DebugContext(ctx, "queued execution ended", "execution", ex.Name, "status", ex.Status)
	return nil
}

// startAgain reports whether a trigger error has a record whose
// execution may start on another delivery: one that could not be planned
// (its key is too long) never will.
func startAgain(err error) bool {
	var multi interface{ Unwrap() []error }
	var pe *pipeline.Error
	if errors.As(err, &pe) && errors.As(pe.Err, &multi) {
		for _, e := range multi.Unwrap() {
			var re *pipeline.RecordError
			if !errors.As(e, &re) || re.Execution != "" {
				return true
			}
		}
		return false
	}
	var re *pipeline.RecordError
	return !errors.As(err, &re) || re.Execution != ""
}

// truncate is at most n bytes of b, for a log line.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// publish is the S3 endpoint's synchronous event hook: a record the
// trigger would start is on disk in the queue, under its execution's name
// (pipeline.ExecutionName), before the client gets its 200. Records the
// trigger ignores are not queued.
func (s *server) publish(ctx context.Context, rec s3event.Record) error {
	st, ok, reason, err := s.trigger.Plan(rec)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "dropping event", "key", rec.S3.Object.Key, "err", err)
		return nil
	case !ok:
		s.log.DebugContext(ctx, "event ignored", "key", rec.S3.Object.Key, "reason", reason)
		return nil
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return s.queue.Publish(ctx, st.Name, data)
}

// rules are the upload bucket's notification rules.
func (s *server) rules() s3event.Rules {
	return s3event.Rules{{ID: "imagerec-recognize", Bucket: s.cfg.UploadBucket, Prefix: s.cfg.Prefix, Suffix: s.cfg.Suffix, Events: []string{"s3:ObjectCreated:*"}}}
}

func (s *server) handler() http.Handler {
	rules := s.rules()
	creds := []s3api.Credentials{{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretAccessKey}}
	s3h := s3api.New(s.watched, s3api.Options{
		Credentials: creds,
		Region:      s.cfg.Region,
		Rules:       rules,
		Notify:      s.publish,
		// Every 200 gets its document: refuse keys whose document name
		// would not fit.
		KeyLimit: func(_, key string) error { return pipeline.CheckKey(key) },
		Logger:   s.log.With("component", "s3api"),
	})
	mux := s.console.routes()
	s3i := s.metrics.Instrument("s3", s3h)
	// Rekognition's JSON 1.1 API and Step Functions' JSON 1.0 API on the
	// same port, told apart by X-Amz-Target.
	verifier := sigv4.New(creds, nil)
	rek := s.metrics.Instrument("rekognition", rekapi.New(s.engine, s.store, rekapi.Options{
		Verifier:    verifier,
		Collections: s.faces,
		Logger:      s.log,
	}))
	states := s.metrics.Instrument("states", sfnapi.New(s.states, sfnapi.Options{Verifier: verifier, Logger: s.log}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rekapi.IsRekognitionRequest(r) {
			rek.ServeHTTP(w, r)
			return
		}
		if sfnapi.IsStepFunctionsRequest(r) {
			states.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, uiPrefix+"/") || r.URL.Path == uiPrefix {
			mux.ServeHTTP(w, r)
			return
		}
		s3i.ServeHTTP(w, r)
	})
}

// workerHandler is a worker's HTTP: metrics and health only (it has no
// S3 endpoint, APIs or console).
func (s *server) workerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(uiPrefix+"/metrics", s.console.page.Guard(s.metrics.Handler()))
	mux.Handle(uiPrefix+"/healthz", s.console.page.Guard(s.console.page.Health()))
	return mux
}

// redactQueue lists the queue URLs without passwords or tokens.
func redactQueue(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if p, err := url.Parse(u); err == nil && p.User != nil {
			p.User = url.User("REDACTED")
			u = p.String()
		}
		out[i] = u
	}
	return strings.Join(out, ",")
}

func (s *server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
