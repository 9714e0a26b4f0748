// Package objstore defines buckets and objects as the rest of imagerec sees
// them: the Store interface, its data types (ObjectInfo, PutOptions,
// ListOptions, ListResult, multipart types) and the sentinel errors callers
// may branch on. Optional abilities are interfaces of their own, found by
// type assertion: Multiparter (multipart uploads) and Uploader (a write
// that does not read the object back).
//
// Drivers live in subpackages and import this one, never the other way
// round: memstore (in memory, for tests), diskstore (the default, durable on
// disk), s3store (any S3 API through aws-sdk-go-v2, including imagerec's own
// s3api; the Lambdas' S3, through pipeline.StoreObjects). objstoretest is
// the conformance suite every driver runs.
//
// Invariants every driver keeps:
//   - Keys are arbitrary non-empty UTF-8 strings of at most 1024 bytes; a key
//     never names a file path (no "../" escape).
//   - ETag is the lower-case hex MD5 of the object, without quotes; for an
//     object made by CompleteMultipartUpload it is hex(md5(concat(part
//     md5s)))-N. HTTP layers add the quotes.
//   - PutObject is atomic: readers see the old object or the new one, never
//     a partial one. A read error from the body (including one a verifying
//     reader returns at EOF) aborts the write and leaves the old object.
//   - A successful PutObject or CompleteMultipartUpload is durable.
//   - A write's Conditions (If-Match, If-None-Match) are checked atomically
//     with its commit (CheckConditions under the driver's lock).
//   - Content headers, the checksum and the part table of an object are
//     committed with it, in one step.
//
// The S3 rules that every driver with an index of its own must apply the
// same way are functions here, not copies in each driver: CheckBucketName,
// CheckKey, CheckPartNumber, CheckDigest (Content-MD5), CheckConditions,
// CheckChecksumOptions, PartChecksum, CompositeChecksum and
// MultipartChecksum, PartTable and PartRange, RangeLength
// (GetObjectRange), CompleteParts with MultipartETag (part checks and the
// md5-of-md5s ETag), Candidates with Page (prefix, delimiter, start-after,
// max-keys) and SortUploads. s3store leaves most of them to the server it
// talks to.
//
// Events are not emitted here: the s3api package emits S3 event records for
// writes made over HTTP (see s3api.Options.Notify). Code that writes through
// a Store directly and needs events wraps the Store (see package s3api,
// NotifyingStore).
package objstore
