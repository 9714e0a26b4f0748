package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// APIError is an S3 error: a code, an HTTP status and a message. It is
// written to clients as S3's <Error> XML document.
type APIError struct {
	Code    string
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(code string, status int, msg string) *APIError {
	return &APIError{Code: code, Status: status, Message: msg}
}

// withMessage returns a copy of e with another message.
func (e *APIError) withMessage(format string, args ...any) *APIError {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// S3 errors this endpoint returns.
var (
	ErrAccessDenied             = apiErr("AccessDenied", http.StatusForbidden, "Access Denied")
	ErrAuthorizationMalformed   = apiErr("AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed.")
	ErrAuthorizationQueryParams = apiErr("AuthorizationQueryParametersError", http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter.")
	ErrBadDigest                = apiErr("BadDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified did not match what we received.")
	ErrBucketAlreadyOwnedByYou  = apiErr("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.")
	ErrBucketNotEmpty           = apiErr("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty.")
	ErrEntityTooLarge           = apiErr("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size.")
	ErrEntityTooSmall           = apiErr("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size.")
	ErrIncompleteBody           = apiErr("IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	ErrInternal                 = apiErr("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
	ErrInvalidAccessKeyID       = apiErr("InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records.")
	ErrInvalidArgument          = apiErr("InvalidArgument", http.StatusBadRequest, "Invalid Argument")
	ErrInvalidBucketName        = apiErr("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.")
	ErrInvalidDigest            = apiErr("InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified is not valid.")
	ErrInvalidPart              = apiErr("InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
	ErrInvalidPartNumber        = apiErr("InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable")
	ErrInvalidPartOrder         = apiErr("InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number.")
	ErrInvalidRange             = apiErr("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable")
	ErrInvalidRequest           = apiErr("InvalidRequest", http.StatusBadRequest, "Invalid Request")
	ErrKeyTooLong               = apiErr("KeyTooLongError", http.StatusBadRequest, "Your key is too long")
	ErrMalformedXML             = apiErr("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema.")
	ErrMethodNotAllowed         = apiErr("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	ErrMissingContentLength     = apiErr("MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header.")
	ErrMissingSecurityHeader    = apiErr("MissingSecurityHeader", http.StatusBadRequest, "Your request is missing a required header.")
	ErrNoSuchBucket             = apiErr("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist")
	ErrNoSuchKey                = apiErr("NoSuchKey", http.StatusNotFound, "The specified key does not exist.")
	ErrNoSuchUpload             = apiErr("NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	ErrNotImplemented           = apiErr("NotImplemented", http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented.")
	ErrPreconditionFailed       = apiErr("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the preconditions you specified did not hold.")
	ErrRequestTimeTooSkewed     = apiErr("RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large.")
	ErrServiceUnavailable       = apiErr("ServiceUnavailable", http.StatusServiceUnavailable, "Please reduce your request rate.")
	ErrSignatureDoesNotMatch    = apiErr("SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	ErrContentSHA256Mismatch    = apiErr("XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
)

// authErrors are the S3 codes of sigv4's refusals; the message is sigv4's
// (worded as S3 words it).
var authErrors = map[error]*APIError{
	sigv4.ErrMissing:            ErrAccessDenied,
	sigv4.ErrAmbiguous:          ErrInvalidArgument,
	sigv4.ErrUnsupportedVersion: ErrInvalidRequest,
	sigv4.ErrMalformedHeader:    ErrAuthorizationMalformed,
	sigv4.ErrMalformedQuery:     ErrAuthorizationQueryParams,
	sigv4.ErrUnknownKey:         ErrInvalidAccessKeyID,
	sigv4.ErrWrongService:       ErrAuthorizationMalformed,
	sigv4.ErrWrongRegion:        ErrAuthorizationMalformed,
	sigv4.ErrNoDate:             ErrAccessDenied,
	sigv4.ErrDateMismatch:       ErrAuthorizationMalformed,
	sigv4.ErrSkewed:             ErrRequestTimeTooSkewed,
	sigv4.ErrHostNotSigned:      ErrAuthorizationMalformed,
	sigv4.ErrNoPayloadHash:      ErrInvalidRequest,
	sigv4.ErrBadPayloadHash:     ErrInvalidArgument,
	sigv4.ErrExpired:            ErrAccessDenied,
	sigv4.ErrSignatureMismatch:  ErrSignatureDoesNotMatch,
	sigv4.ErrMalformedChunk:     ErrIncompleteBody,
	sigv4.ErrTooManyTrailers:    ErrInvalidRequest,
}

// authError is the S3 error of a sigv4 refusal (403 AccessDenied for a
// kind this table does not know).
func authError(e *sigv4.Error) *APIError {
	ae, ok := authErrors[e.Kind]
	if !ok {
		ae = ErrAccessDenied
	}
	return ae.withMessage("%s", e.Message)
}

// toAPIError maps an error from the verifier, the store or the request
// body to the S3 error the client sees.
func toAPIError(err error) *APIError {
	var ae *APIError
	var se *sigv4.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &se):
		return authError(se)
	case errors.Is(err, objstore.ErrNoSuchBucket):
		return ErrNoSuchBucket
	case errors.Is(err, objstore.ErrNoSuchKey):
		return ErrNoSuchKey
	case errors.Is(err, objstore.ErrBucketExists):
		return ErrBucketAlreadyOwnedByYou
	case errors.Is(err, objstore.ErrBucketNotEmpty):
		return ErrBucketNotEmpty
	case errors.Is(err, objstore.ErrInvalidBucketName):
		return ErrInvalidBucketName
	case errors.Is(err, objstore.ErrInvalidKey):
		return ErrKeyTooLong.withMessage("Invalid object key: empty, not UTF-8 or longer than %d bytes.", objstore.MaxKeyLen)
	case errors.Is(err, objstore.ErrBadDigest):
		return ErrBadDigest
	case errors.Is(err, objstore.ErrInvalidRange):
		return ErrInvalidRange
	case errors.Is(err, objstore.ErrNoSuchUpload):
		return ErrNoSuchUpload
	case errors.Is(err, objstore.ErrInvalidPartOrder):
		return ErrInvalidPartOrder
	case errors.Is(err, objstore.ErrInvalidPart):
		return ErrInvalidPart
	case errors.Is(err, objstore.ErrEntityTooSmall):
		return ErrEntityTooSmall
	case errors.Is(err, objstore.ErrPreconditionFailed):
		return ErrPreconditionFailed
	case errors.Is(err, objstore.ErrInvalidChecksum):
		return ErrInvalidRequest.withMessage("Checksum algorithm or type mismatch: %v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrIncompleteBody
	}
	return ErrInternal
}

type errorDoc struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Key        string   `xml:"Key,omitempty"`
	BucketName string   `xml:"BucketName,omitempty"`
	Resource   string   `xml:"Resource,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}
