// Package s3api is an S3-compatible http.Handler over an objstore.Store,
// with path-style addressing (http://HOST/BUCKET/KEY), so that the AWS SDKs
// and the aws CLI work against imagerec by changing the endpoint.
//
// Supported: ListBuckets, CreateBucket, HeadBucket, DeleteBucket (which
// discards unfinished multipart uploads, as S3 does), GetBucketLocation,
// GetBucketVersioning (never enabled), ListObjectVersions (every object is
// its one version, VersionId "null"), ListObjects (v1), ListObjectsV2
// (prefix, delimiter, continuation-token, max-keys, start-after,
// encoding-type=url, fetch-owner), PutObject (Content-MD5, x-amz-meta-*,
// Content-Type, Cache-Control, Content-Disposition, Content-Encoding,
// Content-Language, Expires, flexible checksums, and the conditional
// writes If-None-Match: * and If-Match), GetObject and HeadObject (Range,
// partNumber, If-Match, If-None-Match, If-(Un)Modified-Since, response-*
// overrides, x-amz-checksum-mode), GetObjectTagging (always an empty tag
// set), DeleteObject, DeleteObjects, CopyObject (COPY/REPLACE metadata
// directive, conditional on the target too), multipart uploads (Create with
// a checksum algorithm and type, UploadPart, UploadPartCopy, Complete
// (conditional, and answering a retried completion with 200), Abort,
// ListParts, ListMultipartUploads), POST Object (browser form uploads
// authorised by a SigV4- or SigV2-signed policy: eq, starts-with,
// content-length-range; fields the policy does not cover are refused, as
// S3 does),
// Put/GetBucketNotificationConfiguration (in memory). Anything else answers
// 501 NotImplemented.
//
// Authentication is always required, checked by internal/sigv4. AWS
// Signature Version 4: the Authorization header or presigned query
// parameters (X-Amz-Expires up to a week), payloads signed by SHA-256, UNSIGNED-PAYLOAD, or aws-chunked
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD with each chunk signature verified,
// STREAMING-UNSIGNED-PAYLOAD-TRAILER and the signed trailer variant).
// Checksums sent as x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256}
// headers or trailers are verified; a mismatch is BadDigest and nothing is
// stored. Requests signed for any region are accepted; the service must be
// s3. Signature Version 2 is accepted too, with the same keys: in the
// Authorization header (s3cmd --signature-v2; the Date within 15
// minutes), as presigned URLs (AWSAccessKeyId/Expires/Signature, as the
// aws CLI v1 "s3 presign" makes them) and in POST policies. Wrong keys get
// 403 InvalidAccessKeyId, wrong signatures 403 SignatureDoesNotMatch.
//
// Conditional writes are checked by the store atomically with its commit
// (objstore.Conditions), so of two writers racing with If-None-Match: *
// exactly one gets 200 and the other 412. Content headers, the checksum
// and the multipart part table are stored in the object's one metadata
// record, never in a second write.
//
// Events: after an object is created over HTTP (PutObject, POST Object,
// CopyObject, CompleteMultipartUpload) and is durable in the store, the Handler builds
// an s3event.Record for every matching rule and calls Options.Notify
// synchronously, before the 200. If Notify fails the client gets 503
// ServiceUnavailable with Retry-After and retries; the object stays written,
// so a retry may emit the event twice (at-least-once; consumers de-duplicate
// on bucket, key and ETag). Writes made through the Store directly (not over
// HTTP) emit nothing here: wrap the Store with NotifyingStore for that.
//
// Errors are S3's XML <Error> documents with S3's codes and statuses; store
// errors and sigv4's refusals are translated in one place (toAPIError).
package s3api
