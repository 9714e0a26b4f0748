// Package lognotify is the notify.Notifier that writes each message to a
// structured log: the default when no webhook is configured.
package lognotify

import (
	"context"
	"log/slog"

	"github.com/imagerec/imagerec/internal/notify"
)

var _ notify.Notifier = (*Notifier)(nil)

// Notifier logs messages at Info level.
type Notifier struct{ logger *slog.Logger }

// New returns a Notifier logging to logger.
func New(logger *slog.Logger) *Notifier {
	return &Notifier{logger: logger.With("component", "notify")}
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	n.logger.InfoContext(ctx, "recognition finished",
		"status", m.Status, "bucket", m.Bucket, "key", m.Key, "delivery_id", m.DeliveryID,
		"document", m.Document.Bucket+"/"+m.Document.Key, "error", m.Error, "execution", m.Execution)
	return nil
}
