package awsjson

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/imagerec/imagerec/internal/sigv4"
)

// Error is an error response: Code is the __type, Status the HTTP status.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error.
func Errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// signatureCodes are the JSON protocols' codes of sigv4's refusals; any
// other (wrong service or region, skew, payload hash, signature) is
// InvalidSignatureException.
var signatureCodes = map[error]string{
	sigv4.ErrMissing:            "MissingAuthenticationTokenException",
	sigv4.ErrUnknownKey:         "UnrecognizedClientException",
	sigv4.ErrUnsupportedVersion: "IncompleteSignatureException",
	sigv4.ErrMalformedHeader:    "IncompleteSignatureException",
	sigv4.ErrNoDate:             "IncompleteSignatureException",
	sigv4.ErrDateMismatch:       "IncompleteSignatureException",
	sigv4.ErrHostNotSigned:      "IncompleteSignatureException",
}

// SignatureError turns a sigv4.Verifier refusal into a 400 with the JSON
// protocols' code and sigv4's message.
func SignatureError(err error) *Error {
	ae := &Error{Code: "InvalidSignatureException", Status: http.StatusBadRequest, Message: err.Error()}
	var se *sigv4.Error
	if errors.As(err, &se) {
		ae.Message = se.Message
		if code, ok := signatureCodes[se.Kind]; ok {
			ae.Code = code
		}
	}
	return ae
}

// Write sends e as contentType with the x-amzn-ErrorType header; the
// message goes under messageKey ("Message" for Rekognition, "message" for
// Step Functions, as their service models name it). It returns the status.
func Write(w http.ResponseWriter, contentType, messageKey string, e *Error) int {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, messageKey: e.Message})
	return e.Status
}

// RequestID returns a new x-amzn-RequestId.
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
