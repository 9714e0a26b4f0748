package notify

import (
	"context"
	"errors"
)

// Notifier delivers one message. Implementations are safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, msg Message) error
}

// Object names a stored object.
type Object struct {
	Bucket string `json:"Bucket"`
	Key    string `json:"Key"`
}

// Message is the envelope every driver sends, as JSON.
type Message struct {
	// DeliveryID identifies the object version the message is about: the
	// same on every retry and every re-run for that version, so receivers
	// can de-duplicate (delivery is at least once). Webhooks also carry it
	// as the X-Imagerec-Delivery-Id header.
	DeliveryID string `json:"DeliveryId"`
	// Type is imagerec.recognition.succeeded or imagerec.recognition.failed.
	Type   string `json:"Type"`
	Status string `json:"Status"`
	// Bucket, Key and ETag identify the uploaded object.
	Bucket string `json:"Bucket"`
	Key    string `json:"Key"`
	ETag   string `json:"ETag,omitempty"`
	// Document is the result (<key>.json) or error (<key>.error.json) document.
	Document Object `json:"Document"`
	// Error and Message are set for failures (Rekognition-style code).
	Error   string `json:"Error,omitempty"`
	Message string `json:"Message,omitempty"`
	// Execution is the state machine execution ARN.
	Execution string `json:"Execution,omitempty"`
	// Topic is the SNS topic ARN on AWS; informative locally.
	Topic string `json:"Topic,omitempty"`
	// Time is when the message was made, RFC 3339.
	Time string `json:"Time"`
}

// Multi sends to every notifier and joins their errors.
type Multi []Notifier

// Notify implements Notifier.
func (m Multi) Notify(ctx context.Context, msg Message) error {
	var errs []error
	for _, n := range m {
		if err := n.Notify(ctx, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
