package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// ErrorDocument is stored as <key>.error.json when an object cannot be
// recognised; `imagerec recognize` writes the same document as
// <file>.error.json for a local file (Source without Bucket, no
// Execution). Error is a Rekognition-style code (see NewErrorDocument).
type ErrorDocument struct {
	Source    Source `json:"Source"`
	Error     string `json:"Error"`
	Message   string `json:"Message"`
	Execution string `json:"Execution,omitempty"`
}

// codeInternal is the error document's code for every failure that is not
// about the image: retries exhausted, a timeout, anything unexpected.
const codeInternal = "InternalServerError"

// NewErrorDocument is the error document for src after recognising it
// failed with f, the {Error, Cause} a Catch records. The image-level names
// (InvalidImageFormatException, ImageTooLargeException,
// InvalidParameterException, InvalidS3ObjectException, and
// ResourceNotFoundException for a face collection) are the code and
// Cause the message; anything else is InternalServerError with the
// original name kept in the message. A Cause from Lambda is JSON
// ({"errorMessage", "errorType"}): its errorMessage is the message.
func NewErrorDocument(src Source, f Failure, execution string) ErrorDocument {
	code, msg := f.Error, f.Cause
	var lambdaCause struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if strings.HasPrefix(strings.TrimSpace(msg), "{") && json.Unmarshal([]byte(msg), &lambdaCause) == nil && lambdaCause.ErrorMessage != "" {
		msg = lambdaCause.ErrorMessage
	}
	switch code {
	case ErrNameInvalidImageFormat, ErrNameImageTooLarge, ErrNameInvalidParameter, ErrNameInvalidS3Object, ErrNameResourceNotFound:
	case ErrNameTimeout:
		code, msg = codeInternal, "recognition timed out: "+msg
	default:
		// Transient errors that exhausted their retries and anything
		// unexpected: keep the original name in the message.
		msg = code + ": " + msg
		code = codeInternal
	}
	return ErrorDocument{Source: src, Error: code, Message: msg, Execution: execution}
}

// RecognizeFailure is the Failure the state machine records when
// recognising an image fails with err, as the Recognize task names it: a
// vision error keeps its Rekognition code and message, a named task error
// (*Error) its name, anything else is TransientError. `imagerec
// recognize` builds its error documents from it, so a file and an upload
// that fail alike get the same document.
func RecognizeFailure(err error) Failure {
	e := classify(err, "")
	return Failure{Error: e.Name, Cause: e.Error()}
}

// EncodeDocument returns v as result and error documents are written:
// indented by two spaces, with a final newline.
func EncodeDocument(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// layoutDocument lays out a JSON object that encoding/json wrote (a
// result, serialised once by Recognize) exactly as EncodeDocument would
// write the value, without decoding it: HTML characters escaped as
// encoding/json escapes them (a state machine passes strings on without
// that escaping), two-space indentation and a final newline. Key order and
// number literals are the input's.
func layoutDocument(raw []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("the result is not a JSON object")
	}
	src := trimmed
	if bytes.ContainsAny(src, "<>&\u2028\u2029") {
		var escaped bytes.Buffer
		escaped.Grow(len(src) + 64)
		json.HTMLEscape(&escaped, src)
		src = escaped.Bytes()
	}
	var out bytes.Buffer
	out.Grow(2 * len(src)) // indentation about doubles a result
	if err := json.Indent(&out, src, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
