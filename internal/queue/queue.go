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
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures Open. The zero value of each field means its default.
type Config struct {
	// Dir stores the JetStream files (required).
	Dir string
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
	if c.StateFile == "" && c.Dir != "" {
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

// Open starts the embedded server (in-process only, no network listener)
// and creates the stream if needed.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	cfg.defaults()
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
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		srv.Shutdown()
		state.close()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	q := &Queue{cfg: cfg, srv: srv, nc: nc, state: state, seen: map[string]bool{}}
	if q.js, err = jetstream.New(nc); err != nil {
		q.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	q.stream, err = q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: cfg.Stream,
		// One subject per event (Subject.<hash of its id>), so Has can
		// tell whether an event is queued; the bare subject is kept for
		// events stored by older versions.
		Subjects:   []string{cfg.Subject, cfg.Subject + ".>"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: cfg.DuplicateWindow,
	})
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("create stream %s: %w", cfg.Stream, err)
	}
	ds, last, err := q.check(ctx, state.last, existed)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("check stream %s: %w", cfg.Stream, err)
	}
	q.report(ctx, ds)
	if err := state.record(last); err != nil {
		q.Close()
		return nil, fmt.Errorf("write queue state: %w", err)
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	q.stop, q.done = stop, make(chan struct{})
	go func() {
		defer close(q.done)
		q.watch(wctx, cfg.CheckInterval)
	}()
	return q, nil
}

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
	ack, err := q.js.Publish(ctx, q.subject(id), data, jetstream.WithMsgID(msgID))
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
	cfg := jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxDeliver:    q.cfg.MaxDeliver,
		MaxAckPending: workers * 4,
	}
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var cons jetstream.Consumer
		cons, err = q.stream.CreateOrUpdateConsumer(actx, cfg)
		cancel()
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			break
		}
		q.cfg.Logger.WarnContext(ctx, "create queue consumer failed; retrying", "component", "queue", "attempt", attempt, "err", err)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	return nil, fmt.Errorf("create queue consumer: %w", err)
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
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if aerr := msg.DoubleAck(actx); aerr != nil {
			log.WarnContext(ctx, "ack failed; the message will be redelivered", "err", aerr)
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
