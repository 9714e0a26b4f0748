// Package sigv4 verifies AWS Signature Version 4 (and, for S3, Version 2)
// on incoming requests, for every API imagerec serves on
// its port: S3, and the AWS JSON protocols (Rekognition's JSON 1.1, Step
// Functions' JSON 1.0).
//
// A Verifier holds the accepted access keys and a clock. Each call names
// the Service the request must be signed for (the credential scope's
// service, and optionally its region):
//
//   - Verify authenticates a request the way S3 does: by its Authorization
//     header, by presigned query parameters (X-Amz-Expires up to a week), or
//     by a SigV2 Authorization header ("AWS AKID:SIG", its Date or
//     x-amz-date within 15 minutes), or by a SigV2 presigned URL
//     (AWSAccessKeyId, Expires, Signature, as the aws CLI v1 "s3 presign"
//     makes them). SigV2 signs no payload: PayloadHash is UNSIGNED-PAYLOAD. The payload is what the client
//     declares in x-amz-content-sha256: a hex SHA-256 (which the caller
//     checks against the body it reads), UNSIGNED-PAYLOAD, or aws-chunked
//     streaming, decoded by NewChunkedReader, which checks each chunk's
//     signature in the chain seeded by the request's and collects the
//     trailers (their own signature is not checked: they carry checksums
//     that are checked against the signed data).
//   - VerifyBody authenticates a request to an AWS JSON API: the
//     Authorization header only, over the SHA-256 of the body the caller has
//     read.
//   - VerifyPolicy and VerifyPolicyV2 check the signature of an S3 POST
//     upload's policy (SigV4, or SigV2's HMAC-SHA1 of the base64 policy).
//
// A refusal is an *Error: its Kind is one of the Err* sentinels (match it
// with errors.Is), which each caller translates to its protocol's error at
// its edge (s3api to S3's XML errors, rekapi to the JSON protocol's
// __type), and its Message is the text for the client, worded as AWS words
// it: Verify and VerifyPolicy as S3 does, VerifyBody as the JSON protocols
// do. The package logs nothing and reads no environment.
package sigv4
