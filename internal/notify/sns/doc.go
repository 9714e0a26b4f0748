// Package sns is the Amazon SNS driver of notify.Notifier: the Notify task
// of the Lambda deployment publishes the notify.Message envelope as JSON to
// the topic, with Status, Type and DeliveryId as message attributes (for
// subscription filters and de-duplication) and a printable subject for
// e-mail subscriptions.
package sns
