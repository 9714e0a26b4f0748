package rekapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/imagerec/imagerec/internal/awsjson"
	"github.com/imagerec/imagerec/internal/vision"
)

// APIError is an error response: Code is the __type, Status the HTTP status.
type APIError struct {
	Code    string
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErrorf(code string, status int, format string, args ...any) *APIError {
	return &APIError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func invalidParameter(format string, args ...any) *vision.Error {
	return vision.Errorf(vision.CodeInvalidParameter, format, args...)
}

// signatureError turns the Verifier's refusal into a 400 with the JSON
// protocol's code and sigv4's message (the table awsjson shares with the
// Step Functions API).
func signatureError(err error) *APIError {
	e := awsjson.SignatureError(err)
	return &APIError{Code: e.Code, Status: e.Status, Message: e.Message}
}

// errorBody is the JSON 1.1 error document.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"Message"`
}

// toAPIError classifies err: protocol errors keep their code, image-level
// vision errors are 400s with their Rekognition code, anything else is a
// 500 InternalServerError whose details stay in the log.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var ve *vision.Error
	if errors.As(err, &ve) {
		return &APIError{Code: ve.Code, Status: http.StatusBadRequest, Message: ve.Message}
	}
	return &APIError{Code: "InternalServerError", Status: http.StatusInternalServerError, Message: "Amazon Rekognition experienced a service issue. Try your call again."}
}

// writeError sends err and returns the status sent.
func writeError(w http.ResponseWriter, err error) int {
	ae := toAPIError(err)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Amzn-Errortype", ae.Code)
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(errorBody{Type: ae.Code, Message: ae.Message})
	return ae.Status
}
