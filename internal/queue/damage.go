package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Damage kinds.
const (
	// DamageLostMessages: stored events are gone (a damaged or truncated
	// stream block).
	DamageLostMessages = "lost_messages"
	// DamageStoreReset: the store directory was removed or emptied; a new,
	// empty queue was created.
	DamageStoreReset = "store_reset"
	// DamageStoreMissing: the store directory disappeared while running.
	DamageStoreMissing = "store_missing"
	// DamageConsumerAhead: the consumer had delivered past the stream's
	// end (its state outlived lost messages); JetStream resets it.
	DamageConsumerAhead = "consumer_ahead"
)

// Damage is one problem found in the queue's files. Events it lost are
// not replayed by the queue: the caller's reconciliation re-queues the
// work they stood for.
type Damage struct {
	Kind    string
	Message string
	// Lost is how many events are known lost (0 when unknown).
	Lost uint64
	Time time.Time
}

// stateFile records the highest stream sequence the queue ever stored, as
// one fixed-width decimal line rewritten in place: a stream that comes
// back shorter lost messages, one that comes back empty was removed. The
// line is not fsynced; after a power loss it may lag (then loss is
// under-reported, never invented).
type stateFile struct {
	f    *os.File
	last uint64
}

const stateWidth = 20

func openStateFile(path string) (*stateFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open queue state %s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("read queue state %s: %w", path, err)
	}
	s := &stateFile{f: f}
	if v := strings.TrimSpace(string(b)); v != "" {
		s.last, _ = strconv.ParseUint(v, 10, 64)
	}
	return s, nil
}

func (s *stateFile) record(seq uint64) error {
	if seq == s.last {
		return nil
	}
	s.last = seq
	if s.f == nil { // an external queue keeps no state file
		return nil
	}
	_, err := s.f.WriteAt([]byte(fmt.Sprintf("%0*d\n", stateWidth, seq)), 0)
	return err
}

func (s *stateFile) close() {
	if s != nil && s.f != nil {
		_ = s.f.Close()
	}
}

// check compares the stream with what the queue knew before: at Open
// (existed says whether the store directory was there) and periodically.
// It returns the damage found; known is the highest sequence stored before.
func (q *Queue) check(ctx context.Context, known uint64, existed bool) ([]Damage, uint64, error) {
	// Stream first, consumer second: an event acknowledged in between is
	// then below the consumer's position, never a false gap.
	info, err := q.stream.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return nil, 0, fmt.Errorf("stream info: %w", err)
	}
	st := info.State
	now := time.Now()
	var out []Damage
	switch {
	case !existed && known > 0:
		out = append(out, Damage{Kind: DamageStoreReset, Time: now,
			Message: fmt.Sprintf("queue directory %s was missing: a new, empty queue was created; it had stored %d events, any not yet processed are lost from the queue", q.cfg.Dir, known)})
	case st.LastSeq < known:
		out = append(out, Damage{Kind: DamageLostMessages, Time: now, Lost: known - st.LastSeq,
			Message: fmt.Sprintf("queue lost its last %d event(s): the stream %s ends at sequence %d, sequence %d had been stored (a damaged or truncated block in %s)", known-st.LastSeq, q.cfg.Stream, st.LastSeq, known, q.cfg.Dir)})
	}
	if st.Lost != nil && len(st.Lost.Msgs) > 0 {
		out = append(out, Damage{Kind: DamageLostMessages, Time: now, Lost: uint64(len(st.Lost.Msgs)),
			Message: fmt.Sprintf("queue store reports %d lost event(s) (%d bytes) in stream %s", len(st.Lost.Msgs), st.Lost.Bytes, q.cfg.Stream)})
	}
	if cons, err := q.stream.Consumer(ctx, consumerName); err == nil {
		ci := cons.CachedInfo()
		delivered := max(ci.Delivered.Stream, ci.AckFloor.Stream)
		if delivered > st.LastSeq {
			out = append(out, Damage{Kind: DamageConsumerAhead, Time: now,
				Message: fmt.Sprintf("queue consumer had delivered up to sequence %d, past the stream's end %d: its state outlived lost events", delivered, st.LastSeq)})
		}
		// Never delivered, so never acknowledged: a gap above the
		// consumer's position is a lost event, not a processed one.
		var gaps uint64
		for _, seq := range st.Deleted {
			if seq > delivered {
				gaps++
			}
		}
		if gaps > 0 {
			out = append(out, Damage{Kind: DamageLostMessages, Time: now, Lost: gaps,
				Message: fmt.Sprintf("queue lost %d event(s) inside stream %s (sequences above %d that were never delivered are missing)", gaps, q.cfg.Stream, delivered)})
		}
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return out, st.LastSeq, fmt.Errorf("consumer info: %w", err)
	}
	return out, st.LastSeq, nil
}

// report logs and records damage.
func (q *Queue) report(ctx context.Context, ds []Damage) {
	if len(ds) == 0 {
		return
	}
	q.mu.Lock()
	q.damage = append(q.damage, ds...)
	q.mu.Unlock()
	for _, d := range ds {
		q.cfg.Logger.ErrorContext(ctx, d.Message, "component", "queue", "kind", d.Kind, "lost", d.Lost)
		if q.cfg.OnDamage != nil {
			q.cfg.OnDamage(d)
		}
	}
}

// Damage returns the damage found since Open, oldest first.
func (q *Queue) Damage() []Damage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Damage(nil), q.damage...)
}

// watch checks the store every interval while the queue is open: the
// directory still there, no lost messages, the stream no shorter than
// what was stored.
func (q *Queue) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	missing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := os.Stat(q.cfg.Dir); !q.External() && errors.Is(err, os.ErrNotExist) {
			if !missing {
				q.report(ctx, []Damage{{Kind: DamageStoreMissing, Time: time.Now(),
					Message: fmt.Sprintf("queue directory %s was removed while the server runs: new events cannot be stored durably; restart the server (reconciliation then re-queues what is unfinished)", q.cfg.Dir)}})
			}
			missing = true
			continue
		}
		q.mu.Lock()
		known := q.state.last
		q.mu.Unlock()
		ds, _, err := q.check(ctx, known, true)
		if err != nil {
			continue
		}
		// Report each condition once: consumer-ahead and gaps persist
		// until the stream moves on.
		var fresh []Damage
		q.mu.Lock()
		for _, d := range ds {
			key := d.Kind + "\x00" + d.Message
			if !q.seen[key] {
				q.seen[key] = true
				fresh = append(fresh, d)
			}
		}
		q.mu.Unlock()
		q.report(ctx, fresh)
	}
}
