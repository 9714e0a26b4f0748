package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imagerec/imagerec/internal/sfn"
)

var _ sfn.StopRequester = (*State)(nil)

// A stop request is the key x.<arn> in the records bucket (outside the
// m.<machine> keys List reads): the process holding the execution's lease
// reads it and aborts the execution; it alone writes the end.

func stopKey(arn string) string { return "x." + enc(arn) }

// RequestStop implements sfn.StopRequester.
func (s *State) RequestStop(ctx context.Context, arn string, req sfn.StopRequest) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode stop request of %s: %w", arn, err)
	}
	err = s.patiently(ctx, "write stop request", func(ctx context.Context) error {
		_, err := s.records.Put(ctx, stopKey(arn), b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write stop request of %s: %w", arn, err)
	}
	return nil
}

// StopRequested implements sfn.StopRequester.
func (s *State) StopRequested(ctx context.Context, arn string) (*sfn.StopRequest, error) {
	var e jetstream.KeyValueEntry
	err := s.patiently(ctx, "read stop request", func(ctx context.Context) error {
		var err error
		e, err = s.records.Get(ctx, stopKey(arn))
		return err
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stop request of %s: %w", arn, err)
	}
	var req sfn.StopRequest
	if err := json.Unmarshal(e.Value(), &req); err != nil {
		return nil, fmt.Errorf("read stop request of %s: %w", arn, err)
	}
	return &req, nil
}

// ClearStop implements sfn.StopRequester.
func (s *State) ClearStop(ctx context.Context, arn string) error {
	err := s.patiently(ctx, "delete stop request", func(ctx context.Context) error {
		return s.records.Delete(ctx, stopKey(arn))
	})
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete stop request of %s: %w", arn, err)
	}
	return nil
}
