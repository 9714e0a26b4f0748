// Package s3event holds Amazon S3 event notification records exactly as
// AWS writes them (eventVersion 2.1, eventSource "aws:s3", eventName without
// the "s3:" prefix, URL-encoded object keys), the notification rules that
// decide which writes produce a record (bucket, prefix, suffix, event
// types), and a sequencer source.
//
// Object keys are URL-encoded in records the way S3 encodes them: form
// encoding (space becomes '+', '+' becomes %2B, non-ASCII bytes become
// upper-case %XX) except that '/' is kept. EncodeKey produces that form;
// Record.DecodedKey undoes it with url.QueryUnescape semantics. Decode a key
// once, at the edge that receives the record.
//
// ParseMessage reads a queued message: one record (what imagerec's
// endpoint queues), or an event with Records as AWS S3, MinIO (its NATS
// and webhook targets, which add EventName and Key) and Ceph RGW send it,
// normalised to AWS's form, so a record from any of them starts the same
// execution.
//
// The package is pure: no I/O, no logging. Both shells share it: the local
// S3 endpoint (s3api) emits records, the Lambda trigger and the local
// trigger consume them.
package s3event
