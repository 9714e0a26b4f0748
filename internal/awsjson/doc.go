// Package awsjson holds what the AWS JSON protocols (Rekognition's JSON
// 1.1, Step Functions' JSON 1.0) served on imagerec's port share: the
// error document {"__type", message} with its x-amzn-ErrorType header,
// request ids, and the codes those protocols give sigv4's refusals. The
// handlers (internal/rekapi, internal/sfnapi) keep their operations and
// their own error codes.
package awsjson
