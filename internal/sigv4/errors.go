package sigv4

import "errors"

// Why a request was refused: the Kind of an *Error. Each protocol maps
// them to its own codes.
var (
	// ErrMissing: the request carries no signature at all.
	ErrMissing = errors.New("no signature")
	// ErrAmbiguous: both an Authorization header and presigned query
	// parameters.
	ErrAmbiguous = errors.New("more than one authentication mechanism")
	// ErrUnsupportedVersion: a Signature Version 2 Authorization header sent
	// to an API that takes SigV4 only (VerifyBody).
	ErrUnsupportedVersion = errors.New("signature version not supported")
	// ErrMalformedHeader: an unreadable Authorization header.
	ErrMalformedHeader = errors.New("malformed authorization header")
	// ErrMalformedQuery: unreadable presigned query parameters.
	ErrMalformedQuery = errors.New("malformed presigned query")
	// ErrUnknownKey: an access key ID the Verifier does not hold.
	ErrUnknownKey = errors.New("unknown access key")
	// ErrWrongService: signed for another service.
	ErrWrongService = errors.New("signed for another service")
	// ErrWrongRegion: signed for another region.
	ErrWrongRegion = errors.New("signed for another region")
	// ErrNoDate: no readable request date.
	ErrNoDate = errors.New("no request date")
	// ErrDateMismatch: the request date is not the credential's date.
	ErrDateMismatch = errors.New("request date is not the credential date")
	// ErrSkewed: the request date is more than 15 minutes from now.
	ErrSkewed = errors.New("request time too skewed")
	// ErrHostNotSigned: the host header is not among the signed headers.
	ErrHostNotSigned = errors.New("host not signed")
	// ErrNoPayloadHash: no x-amz-content-sha256 header (S3).
	ErrNoPayloadHash = errors.New("no payload hash")
	// ErrBadPayloadHash: an x-amz-content-sha256 that is no valid value,
	// or (VerifyBody) not the body's.
	ErrBadPayloadHash = errors.New("bad payload hash")
	// ErrExpired: a presigned request used outside its validity: expired,
	// not valid yet, or (SigV2) with an unreadable Expires.
	ErrExpired = errors.New("presigned request not valid now")
	// ErrSignatureMismatch: the signature (of the request, a chunk or a
	// policy) is not the one computed with the key's secret.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrMalformedChunk: an unreadable aws-chunked body.
	ErrMalformedChunk = errors.New("malformed aws-chunked body")
	// ErrTooManyTrailers: an aws-chunked body with more trailers than
	// accepted.
	ErrTooManyTrailers = errors.New("too many trailers")
)

// Error is a refused request. Kind is one of the Err* sentinels above
// (errors.Is matches it); Message is the text for the client.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, msg string) *Error { return &Error{Kind: kind, Message: msg} }
