// Package s3store is an objstore.Store (with multipart) over an S3 API: AWS
// S3, another S3-compatible store, or imagerec's own s3api endpoint, through
// aws-sdk-go-v2. SDK errors become objstore's sentinels in one place
// (translate), keeping the SDK error too.
//
// Running the objstoretest conformance suite against s3api through this
// driver checks the endpoint end to end; setting IMAGEREC_S3_ENDPOINT (plus
// IMAGEREC_S3_ACCESS_KEY_ID, IMAGEREC_S3_SECRET_ACCESS_KEY, optionally
// IMAGEREC_S3_REGION) runs the same suite against another endpoint.
//
// Bodies that are not io.ReadSeekers are spooled to a temporary file first:
// S3 needs a length, and SigV4 over plain HTTP hashes the payload.
package s3store
