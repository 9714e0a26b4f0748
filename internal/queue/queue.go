// Package queue is the durable work queue between the S3 endpoint and the
// workers that run executions: an embedded NATS JetStream server with a
// file-backed work-queue stream. Publish returns once the message is stored
// on disk; duplicates (same message ID within the de-duplication window) are
// dropped; a message is redelivered until a worker acks it, so a crash
// between publish and completion loses nothing. Damage to its files from
// outside (a corrupt block, a removed directory) is found at Open and while
// running, and reported as Damage; the events it lost are the caller's to
// re-queue (pipeline.Reconciler). Each event is stored under a subject of
// its own, so Has tells whether one is still queued.
//
// With Config.Servers the same stream and consumer live in an existing
// NATS JetStream cluster instead (created idempotently, with
// Config.Replicas), shared by every process that opens the queue there:
// each message goes to one worker of one process at a time, and one held
// by a process that dies goes to another after AckWait. The checks of the
// local files are then the cluster's business (its replicas); the lost-
// message checks that need only the stream still run.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures Open. The zero value of each field means its default.
type Config struct {
	// Dir stores the JetStream files of the embedded server (required
	// unless Servers is set).
	Dir string
	// Servers are the URLs of an existing NATS server or cluster
	// (nats://host:4222, tls://host:4222; a user and password or a token
	// may be in the URL, as nats.go takes them). Set, no embedded server
	// is started and Dir, StateFile and CheckInterval's directory check
	// are unused.
	Servers []string
	// CredsFile is a NATS credentials file (a user JWT and its nkey
	// seed), for a cluster that uses decentralised auth.
	CredsFile string
	// TLSCA, TLSCert and TLSKey are PEM files: the CA that signed the
	// servers' certificates, and this client's certificate and key for a
	// cluster that verifies clients. tls:// URLs use TLS with the system
	// roots when TLSCA is empty.
	TLSCA, TLSCert, TLSKey string
	// Name is the connection's name, shown by the servers (default
	// "imagerec").
	Name string
	// Replicas is how many servers keep the stream and the consumer
	// (default 1; 3 in a three-node cluster). Embedded: always 1.
	Replicas int
	// MaxAckPending bounds the messages handed out and not yet acked, over
	// every process sharing the consumer (default: 4 per worker embedded,
	// 1024 with Servers, where each process would otherwise overwrite the
	// others' value).
	MaxAckPending int
	// Stream and Subject name the work queue (default "IMAGEREC", "imagerec.events").
	Stream  string
	Subject string
	// DuplicateWindow is how long message IDs are remembered (default 10m).
	DuplicateWindow time.Duration
	// AckWait is how long a message may go without an ack or a progress
	// signal before it is redelivered (default 30s). A worker signals
	// progress every AckWait/3 while it handles a message, so a long
	// recognition is not redelivered while it runs, and a message held by a
	// process that died is redelivered within AckWait.
	AckWait time.Duration
	// MaxDeliver bounds redeliveries of a message that keeps failing
	// (default 10); after that it is logged and dropped.
	MaxDeliver int
	// Logger receives the queue's own log lines, and JetStream's warnings
	// and errors.
	Logger *slog.Logger
	// StateFile records the highest sequence stored, to tell lost events
	// and a removed directory on the next Open (default: Dir + ".state",
	// beside the directory so that removing it is noticed).
	StateFile string
	// OnDamage, if set, is called for each Damage found (at Open and by
	// the periodic check).
	OnDamage func(Damage)
	// CheckInterval is how often the store is checked for damage while
	// open (default 30s).
	CheckInterval time.Duration
}

func (c *Config) defaults() {
	if c.Stream == "" {
		c.Stream = "IMAGEREC"
	}
	if c.Subject == "" {
		c.Subject = "imagerec.events"
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Name == "" {
		c.Name = "imagerec"
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.StateFile == "" && c.Dir != "" && len(c.Servers) == 0 {
		c.StateFile = filepath.Clean(c.Dir) + ".state"
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 30 * time.Second
	}
}

// consumerName is the durable consumer every worker shares.
const consumerName = "workers"

// Queue is an open work queue.
type Queue struct {
	cfg    Config
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	stop   context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	state  *stateFile
	damage []Damage
	seen   map[string]bool
}

// Open starts the embedded server (in-process only, no network listener),
// or connects to Config.Servers, and creates the stream if needed.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	cfg.defaults()
	if len(cfg.Servers) > 0 {
		return openExternal(ctx, cfg)
	}
	if cfg.Dir == "" {
		return nil, errors.New("queue: Config.Dir is required")
	}
	_, statErr := os.Stat(cfg.Dir)
	existed := statErr == nil
	state, err := openStateFile(cfg.StateFile)
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "imagerec",
		JetStream:  true,
		StoreDir:   cfg.Dir,
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
		// fsync every write: a message acknowledged to the S3 client
		// survives power loss, not only a process crash.
		SyncAlways: true,
	})
	if err != nil {
		state.close()
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	srv.SetLoggerV2(natsLogger{cfg.Logger.With("component", "queue")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		state.close()
		return nil, errors.New("start nats server: not ready after 30s")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name(cfg.Name))
	if err != nil {
		srv.Shutdown()
		state.close()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	q := &Queue{cfg: cfg, srv: srv, nc: nc, state: state, seen: map[string]bool{}}
	if err := q.setUp(ctx, existed); err != nil {
		q.Close()
		return nil, err
	}
	return q, nil
}

// openExternal connects to cfg.Servers.
func openExternal(ctx context.Context, cfg Config) (*Queue, error) {
	opts, err := cfg.connectOptions()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(strings.Join(cfg.Servers, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", redactURLs(cfg.Servers), err)
	}
	q := &Queue{cfg: cfg, nc: nc, state: &stateFile{}, seen: map[string]bool{}}
	if err := q.setUp(ctx, true); err != nil {
		q.Close()
		return nil, err
	}
	cfg.Logger.InfoContext(ctx, "queue: connected to nats", "component", "queue", "server", nc.ConnectedUrlRedacted(),
		"cluster", nc.ConnectedClusterName(), "replicas", cfg.Replicas)
	return q, nil
}

// connectOptions are the nats.go options for Servers: credentials, TLS,
// and reconnecting for ever (a cluster node that restarts is left for
// another; the ones it knows about are tried in turn).
func (c Config) connectOptions() ([]nats.Option, error) {
	log := c.Logger.With("component", "queue")
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(5 * time.Second),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("queue: disconnected from nats; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("queue: reconnected to nats", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("queue: nats error", "err", err)
		}),
	}
	if c.CredsFile != "" {
		if _, err := os.Stat(c.CredsFile); err != nil {
			return nil, fmt.Errorf("nats credentials: %w", err)
		}
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	switch {
	case c.TLSCert != "" && c.TLSKey != "":
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	case c.TLSCert != "" || c.TLSKey != "":
		return nil, errors.New("nats client certificate: give both the certificate and the key file")
	}
	return opts, nil
}

// redactURLs lists server URLs without their passwords or tokens.
func redactURLs(urls []string) string {
	out := make([]string, len(urls))
	for i, s := range urls {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			out[i] = s
			continue
		}
		u.User = url.User("REDACTED")
		out[i] = u.String()
	}
	return strings.Join(out, ",")
}

// setUp creates (or updates) the stream, checks it and starts the watch.
func (q *Queue) setUp(ctx context.Context, existed bool) error {
	cfg := q.cfg
	var err error
	if q.js, err = jetstream.New(q.nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	sc := jetstream.StreamConfig{
		Name: cfg.Stream,
		// One subject per event (Subject.<hash of its id>), so Has can
		// tell whether an event is queued; the bare subject is kept for
		// events stored by older versions, and takes records published
		// by an S3 store itself (MinIO's NATS target).
		Subjects:   []string{cfg.Subject, cfg.Subject + ".>"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: cfg.DuplicateWindow,
		Replicas:   cfg.Replicas,
	}
	// Several processes start at once against a cluster; a cluster that
	// is electing leaders answers with errors for a moment: retry.
	err = retry(ctx, cfg.Logger, "create stream "+cfg.Stream, func(ctx context.Context) error {
		var err error
		q.stream, err = q.js.CreateOrUpdateStream(ctx, sc)
		if replicasRefused(err) {
			return fmt.Errorf("%w: Replicas %d needs a JetStream cluster of at least %d servers, this is a single server (--queue-replicas)", permanentError{err}, cfg.Replicas, cfg.Replicas)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", cfg.Stream, err)
	}
	ds, last, err := q.check(ctx, q.state.last, existed)
	if err != nil {
		return fmt.Errorf("check stream %s: %w", cfg.Stream, err)
	}
	q.report(ctx, ds)
	if err := q.state.record(last); err != nil {
		return fmt.Errorf("write queue state: %w", err)
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	q.stop, q.done = stop, make(chan struct{})
	go func() {
		defer close(q.done)
		q.watch(wctx, cfg.CheckInterval)
	}()
	return nil
}

// retry calls f up to five times, with a growing pause, while it fails
// and ctx is not done.
func retry(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = f(actx)
		cancel()
		var perm permanentError
		if err == nil || ctx.Err() != nil || errors.As(err, &perm) {
			return err
		}
		log.WarnContext(ctx, what+" failed; retrying", "component", "queue", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	return err
}

// permanentError marks an error that retrying cannot cure.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// replicasRefused reports a single server's refusal of replicas (err_code
// 10074, "replicas > 1 not supported in non-clustered mode").
func replicasRefused(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == 10074
}

// JetStream is the queue's JetStream context: the same connection, for
// other state kept in the same server or cluster (key-value buckets).
func (q *Queue) JetStream() jetstream.JetStream { return q.js }

// External reports whether the queue is in an external cluster
// (Config.Servers).
func (q *Queue) External() bool { return q.srv == nil }

// subject is the subject an event with this id is stored under.
func (q *Queue) subject(id string) string {
	h := sha256.Sum256([]byte(id))
	return q.cfg.Subject + "." + hex.EncodeToString(h[:16])
}

// Publish stores data durably. id de-duplicates: a second message with the
// same id within the window is dropped (and Publish still succeeds).
func (q *Queue) Publish(ctx context.Context, id string, data []byte) error {
	return q.publish(ctx, id, id, data)
}

// PublishAgain stores data under id again, bypassing de-duplication: for
// re-queuing work whose event was lost (or processed long ago).
func (q *Queue) PublishAgain(ctx context.Context, id string, data []byte) error {
	return q.publish(ctx, id, id+"#again-"+strconv.FormatInt(time.Now().UnixNano(), 36), data)
}

func (q *Queue) publish(ctx context.Context, id, msgID string, data []byte) error {
	ack, err := q.publishOnce(ctx, id, msgID, data)
	if err != nil {
		return fmt.Errorf("publish %s: %w", id, err)
	}
	q.mu.Lock()
	if ack.Sequence > q.state.last {
		if err := q.state.record(ack.Sequence); err != nil {
			q.cfg.Logger.WarnContext(ctx, "write queue state", "component", "queue", "err", err)
		}
	}
	q.mu.Unlock()
	return nil
}

// publishOnce publishes and waits for the stream's ack. A cluster that
// lost a node elects a new stream leader within seconds, in which time a
// publish gets no answer: it is sent again (the same message id, so the
// stream keeps one copy) for up to publishPatience, or until ctx ends.
func (q *Queue) publishOnce(ctx context.Context, id, msgID string, data []byte) (*jetstream.PubAck, error) {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(msgID)}
	if !q.External() {
		return q.js.Publish(ctx, q.subject(id), data, opts...)
	}
	opts = append(opts, jetstream.WithRetryAttempts(4), jetstream.WithRetryWait(250*time.Millisecond))
	give := time.Now().Add(publishPatience)
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := q.js.Publish(actx, q.subject(id), data, opts...)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(give) || !noAnswer(err) {
			return ack, err
		}
		q.cfg.Logger.WarnContext(ctx, "publish got no answer from the cluster; sending again", "component", "queue", "id", id, "err", err)
	}
}

// noAnswer reports whether a publish failed for want of an answer (no
// stream leader for a moment), not because the stream refused it.
func noAnswer(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrTimeout)
}

// ackPatience is how long an ack to a cluster is tried again.
const ackPatience = 15 * time.Second

// publishPatience is how long a publish to a cluster is tried again.
const publishPatience = 20 * time.Second

// Has reports whether an event published with id is still in the queue:
// waiting, or being handled (it leaves when acknowledged).
func (q *Queue) Has(ctx context.Context, id string) (bool, error) {
	_, err := q.stream.GetLastMsgForSubject(ctx, q.subject(id))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("look up %s: %w", id, err)
	}
}

// Pending returns the number of messages not yet acknowledged.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	info, err := q.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.Msgs, nil
}

// Handler processes one message. Returning nil acks it; an error makes it
// be redelivered after a back-off (up to MaxDeliver times).
type Handler func(ctx context.Context, data []byte) error

// Consume runs workers goroutines that fetch and handle messages until ctx
// is done. It returns after every worker has stopped.
func (q *Queue) Consume(ctx context.Context, workers int, h Handler) error {
	if workers <= 0 {
		workers = 1
	}
	cons, err := q.consumer(ctx, workers)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.work(ctx, cons, i, h)
		}()
	}
	wg.Wait()
	return nil
}

// consumer creates or updates the durable consumer. Right after a crash
// JetStream may take a while to recover its files on a busy machine, so
// creation is retried rather than failing the server.
func (q *Queue) consumer(ctx context.Context, workers int) (jetstream.Consumer, error) {
	pending := q.cfg.MaxAckPending
	if pending <= 0 {
		pending = workers * 4
		if q.External() {
			pending = 1024
		}
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxDeliver:    q.cfg.MaxDeliver,
		MaxAckPending: pending,
		Replicas:      q.cfg.Replicas,
	}
	var cons jetstream.Consumer
	err := retry(ctx, q.cfg.Logger, "create queue consumer", func(ctx context.Context) error {
		var err error
		cons, err = q.stream.CreateOrUpdateConsumer(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create queue consumer: %w", err)
	}
	return cons, nil
}

func (q *Queue) work(ctx context.Context, cons jetstream.Consumer, worker int, h Handler) {
	log := q.cfg.Logger.With("component", "queue", "worker", worker)
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, nats.ErrConnectionClosed) {
				log.WarnContext(ctx, "fetch failed", "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		for msg := range batch.Messages() {
			q.handle(ctx, log, msg, h)
		}
	}
}

func (q *Queue) handle(ctx context.Context, log *slog.Logger, msg jetstream.Msg, h Handler) {
	meta, _ := msg.Metadata()
	delivered := uint64(1)
	if meta != nil {
		delivered = meta.NumDelivered
	}
	// Keep the message ours while a long execution runs.
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(q.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	err := h(hctx, msg.Data())
	switch {
	case err == nil:
		// Ack even when shutting down: the work is done.
		// A cluster moving the consumer's leader (a node stopped) does
		// not answer for a moment: try again, or the message comes back
		// after AckWait and is handled a second time.
		give := time.Now().Add(ackPatience)
		for {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			aerr := msg.DoubleAck(actx)
			cancel()
			if aerr == nil {
				break
			}
			if time.Now().After(give) || !q.External() {
				log.WarnContext(ctx, "ack failed; the message will be redelivered", "err", aerr)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	case ctx.Err() != nil:
		// Shutting down: leave it unacked, it is redelivered on restart.
	case delivered >= uint64(q.cfg.MaxDeliver):
		log.ErrorContext(ctx, "message failed on every delivery; dropped", "deliveries", delivered, "err", err)
		_ = msg.Term()
	default:
		delay := time.Duration(1<<min(delivered, 6)) * time.Second
		log.WarnContext(ctx, "message failed; will retry", "deliveries", delivered, "retry_in", delay, "err", err)
		_ = msg.NakWithDelay(delay)
	}
}

// Close stops the server. Unacknowledged messages stay on disk.
func (q *Queue) Close() {
	if q.stop != nil {
		q.stop()
		<-q.done
	}
	if q.nc != nil {
		q.nc.Close()
	}
	if q.srv != nil {
		q.srv.Shutdown()
		q.srv.WaitForShutdown()
	}
	q.state.close()
}

// natsLogger passes the embedded server's warnings and errors to slog
// (its notices at debug level).
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any) {
	l.log.Warn("jetstream: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("jetstream: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error("jetstream: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Debugf(string, ...any) {}
func (l natsLogger) Tracef(string, ...any) {}
