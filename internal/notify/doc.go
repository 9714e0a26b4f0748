// Package notify delivers "recognition finished" messages, at least once:
// a message may come again after a crash, with the same DeliveryID.
// Notifier is the plug-in point and Message the one envelope every driver
// sends, as JSON; the Notify task (pipeline.Tasks.Notify) builds it, and
// Multi sends one message to several notifiers.
//
// Drivers live in subpackages and import this one: lognotify (structured
// log, the local default), webhook (HMAC-signed HTTP POST, retried,
// dead-lettered; `imagerec serve --webhook`) and sns (Amazon SNS, for the
// Lambda deployment).
package notify
