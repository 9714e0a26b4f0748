// Package conformancetest is an S3 conformance suite written from the AWS
// S3 API reference and its error-code table: a table of named cases
// (objects, listings, ranges, conditionals, multipart, presigned URLs, POST
// uploads, errors and their codes), each run with aws-sdk-go-v2 (and raw
// HTTP where the SDK cannot say it) against any endpoint.
//
// Run runs every case as a subtest and logs "N passed, M failed". The
// package's test runs it against imagerec's own endpoint (s3api over
// diskstore) and, when S3_CONFORMANCE_ENDPOINT is set, against that
// endpoint too (credentials in S3_CONFORMANCE_ACCESS_KEY_ID and
// S3_CONFORMANCE_SECRET_ACCESS_KEY, region S3_CONFORMANCE_REGION, default
// us-east-1), so that servers can be compared case by case. Each case
// works in buckets of its own with random names, and deletes them.
package conformancetest
