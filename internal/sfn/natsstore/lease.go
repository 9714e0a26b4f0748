package natsstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imagerec/imagerec/internal/sfn"
)

// Acquire implements sfn.Leaser: it creates the lease key of arn, which
// fails when another process holds it (sfn.ErrLeaseHeld), and renews it
// in the background until Release.
func (s *State) Acquire(ctx context.Context, arn string) (sfn.Lease, error) {
	key := "l." + enc(arn)
	var rev uint64
	err := s.patiently(ctx, "take execution lease", func(ctx context.Context) error {
		var err error
		rev, err = s.leases.Create(ctx, key, []byte(s.opts.Owner))
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("lease of %s: %w", arn, sfn.ErrLeaseHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("lease of %s: %w", arn, err)
	}
	l := &lease{s: s, key: key, arn: arn, rev: rev, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew() //nolint:gosec // the lease outlives the ctx of Acquire: it lasts until Release
	return l, nil
}

type lease struct {
	s        *State
	key, arn string
	rev      uint64
	lost     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Lost implements sfn.Lease.
func (l *lease) Lost() <-chan struct{} { return l.lost }

// Release implements sfn.Lease: it stops the renewals and deletes the
// key if this process still holds it.
func (l *lease) Release() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		select {
		case <-l.lost:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.s.leases.Delete(ctx, l.key, jetstream.LastRevision(l.rev)); err != nil {
			// It expires after LeaseTTL.
			l.s.opts.Logger.Warn("release execution lease", "component", "natsstore", "execution", l.arn, "err", err)
		}
	})
}

// renew updates the key (compare-and-set on its revision) every third of
// the TTL. A renewal that finds another revision means another process
// took the lease; renewals that get no answer for a whole TTL mean the
// key may have expired: either way the lease is lost.
func (l *lease) renew() {
	defer close(l.done)
	ttl := l.s.opts.LeaseTTL
	every := ttl / 3
	confirmed := time.Now()
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		rev, err := l.s.leases.Update(ctx, l.key, []byte(l.s.opts.Owner), l.rev)
		cancel()
		switch {
		case err == nil:
			l.rev, confirmed = rev, time.Now()
		case !noAnswer(err) || time.Since(confirmed) >= ttl:
			l.s.opts.Logger.Warn("execution lease lost", "component", "natsstore", "execution", l.arn, "err", err,
				"since_confirmed_ms", time.Since(confirmed).Milliseconds())
			close(l.lost)
			return
		}
		// Sooner after a failure: the TTL runs from the last confirmed one.
		next := every
		if err != nil {
			next = every / 4
		}
		t.Reset(next)
	}
}
