package sns

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/imagerec/imagerec/internal/notify"
)

// Publisher is the part of *sns.Client the notifier calls.
type Publisher interface {
	Publish(ctx context.Context, in *awssns.PublishInput, optFns ...func(*awssns.Options)) (*awssns.PublishOutput, error)
}

var _ Publisher = (*awssns.Client)(nil)

// Notifier publishes the notify.Message envelope as JSON to an SNS topic:
// the message's Topic, else TopicARN.
type Notifier struct {
	Client   Publisher
	TopicARN string
}

var _ notify.Notifier = Notifier{}

// Notify implements notify.Notifier.
func (n Notifier) Notify(ctx context.Context, msg notify.Message) error {
	topic := msg.Topic
	if topic == "" {
		topic = n.TopicARN
	}
	if topic == "" {
		return fmt.Errorf("publish %s: no topic ARN", msg.Type)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	_, err = n.Client.Publish(ctx, &awssns.PublishInput{
		TopicArn: aws.String(topic),
		Message:  aws.String(string(body)),
		Subject:  aws.String(subject(msg)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"Status": {DataType: aws.String("String"), StringValue: aws.String(msg.Status)},
			"Type":   {DataType: aws.String("String"), StringValue: aws.String(msg.Type)},
			// Subscribers de-duplicate on it (delivery is at least once).
			"DeliveryId": {DataType: aws.String("String"), StringValue: aws.String(msg.DeliveryID)},
		},
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// subject is an SNS e-mail subject: printable ASCII, at most 100 characters.
func subject(msg notify.Message) string {
	s := "imagerec " + strings.ToLower(msg.Status) + ": " + msg.Key
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 100 {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
