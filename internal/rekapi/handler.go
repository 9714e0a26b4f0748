package rekapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/awsjson"
	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/sigv4"
	"github.com/imagerec/imagerec/internal/vision"
)

// TargetPrefix is the X-Amz-Target prefix of Rekognition operations.
const TargetPrefix = "RekognitionService."

// ContentType is the JSON 1.1 protocol's media type.
const ContentType = "application/x-amz-json-1.1"

// service is what requests must be signed for: Rekognition, in any region.
var service = sigv4.Service{Name: "rekognition"}

// ObjectGetter reads objects named by Image.S3Object. objstore.Store
// satisfies it; GetObject returns an error wrapping objstore.ErrNoSuchBucket
// or objstore.ErrNoSuchKey when the object is missing.
type ObjectGetter interface {
	GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, objstore.ObjectInfo, error)
}

// Options configure the handler. The zero value serves without
// authentication and with Rekognition's limits.
type Options struct {
	// Verifier checks signatures (for the service "rekognition", any
	// region); nil accepts unsigned requests (tests and explicitly
	// unauthenticated set-ups only).
	Verifier *sigv4.Verifier
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
	// MaxBytes limits Image.Bytes (default 5 MiB, Rekognition's limit).
	MaxBytes int
	// MaxS3Bytes limits Image.S3Object (default 15 MiB, Rekognition's limit).
	MaxS3Bytes int64
	// Collections holds the face collections; nil answers the collection
	// operations with InvalidParameterException (CompareFaces works
	// without it).
	Collections *facecollection.Store
}

// Handler serves the Rekognition API.
type Handler struct {
	rec     vision.Recognizer
	objects ObjectGetter
	opts    Options
	log     *slog.Logger
}

// New returns the handler. objects may be nil, in which case S3Object
// images are refused with InvalidS3ObjectException.
func New(rec vision.Recognizer, objects ObjectGetter, opts Options) *Handler {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 5 << 20
	}
	if opts.MaxS3Bytes <= 0 {
		opts.MaxS3Bytes = 15 << 20
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{rec: rec, objects: objects, opts: opts, log: log.With("component", "rekapi")}
}

// IsRekognitionRequest reports whether r is addressed to this API, for
// serving it on a port shared with another protocol (the S3 endpoint
// dispatches on it).
func IsRekognitionRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// operation runs one Rekognition operation on a decoded request body.
type operation func(h *Handler, ctx context.Context, body []byte) (any, error)

var operations = map[string]operation{
	"DetectLabels":           (*Handler).detectLabels,
	"DetectFaces":            (*Handler).detectFaces,
	"DetectText":             (*Handler).detectText,
	"DetectModerationLabels": (*Handler).detectModerationLabels,
	"CreateCollection":       (*Handler).createCollection,
	"DescribeCollection":     (*Handler).describeCollection,
	"ListCollections":        (*Handler).listCollections,
	"DeleteCollection":       (*Handler).deleteCollection,
	"IndexFaces":             (*Handler).indexFaces,
	"ListFaces":              (*Handler).listFaces,
	"DeleteFaces":            (*Handler).deleteFaces,
	"SearchFaces":            (*Handler).searchFaces,
	"SearchFacesByImage":     (*Handler).searchFacesByImage,
	"CompareFaces":           (*Handler).compareFaces,
}

// maxBody bounds a request: 5 MiB of image is 6.7 MiB of base64, and
// CompareFaces carries two.
const maxBody = 16 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := requestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	target := r.Header.Get("X-Amz-Target")
	op := strings.TrimPrefix(target, TargetPrefix)
	err := h.serve(w, r, op, target)
	status := http.StatusOK
	if err != nil {
		status = writeError(w, err)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"operation", op, "status", status, "duration_ms", time.Since(start).Milliseconds(), "request_id", reqID}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	h.log.Log(r.Context(), level, "rekognition request", attrs...)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, op, target string) error {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return apiErrorf("UnknownOperationException", http.StatusBadRequest, "%s %s is not a Rekognition operation", r.Method, r.URL.Path)
	}
	run, ok := operations[op]
	if !ok || !strings.HasPrefix(target, TargetPrefix) {
		return apiErrorf("UnknownOperationException", http.StatusBadRequest, "unknown operation %q", target)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != ContentType {
		return apiErrorf("SerializationException", http.StatusBadRequest, "Content-Type must be %s, got %q", ContentType, r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return apiErrorf("SerializationException", http.StatusBadRequest, "read request body: %v", err)
	}
	if len(body) > maxBody {
		return &vision.Error{Code: vision.CodeImageTooLarge, Message: fmt.Sprintf("request body is over %d bytes", maxBody)}
	}
	if h.opts.Verifier != nil {
		if _, err := h.opts.Verifier.VerifyBody(r, body, service); err != nil {
			return signatureError(err)
		}
	}
	resp, err := run(h, r.Context(), body)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(resp); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", ContentType)
	_, _ = w.Write(buf.Bytes()) // the client went away: nothing to do
	return nil
}

// decode parses a JSON 1.1 request body into v. Its refusals are
// SerializationExceptions worded as AWS's JSON protocol words them
// ("STRING_VALUE can not be converted to an Integer"), naming the member
// but nothing of this server's internals.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return apiErrorf("SerializationException", http.StatusBadRequest, "%s", serializationMessage(err))
	}
	return nil
}

// serializationMessage words a JSON decoding error for the client.
func serializationMessage(err error) string {
	var ute *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	switch {
	case errors.As(err, &ute):
		var got string
		switch {
		case ute.Value == "string":
			got = "STRING_VALUE"
		case strings.HasPrefix(ute.Value, "number"):
			got = "NUMBER_VALUE"
		case ute.Value == "bool":
			got = "BOOLEAN_VALUE"
		case ute.Value == "array":
			return "Start of list found where not expected"
		case ute.Value == "object":
			return "Start of structure or map found where not expected."
		default:
			got = strings.ToUpper(ute.Value) + "_VALUE"
		}
		msg := got + " can not be converted to " + wireType(ute.Type)
		if ute.Field != "" {
			msg += " (member " + ute.Field + ")"
		}
		return msg
	case errors.As(err, &b64):
		return "Base64 encoded value is not valid"
	}
	return "Unable to parse the request body as JSON"
}

// wireType names a Go type by its Smithy kind, with its article.
func wireType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return "an Integer"
	case reflect.Int64, reflect.Uint64:
		return "a Long"
	case reflect.Float32, reflect.Float64:
		return "a Float"
	case reflect.Bool:
		return "a Boolean"
	case reflect.String:
		return "a String"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a Blob"
		}
		return "a List"
	case reflect.Map:
		return "a Map"
	default:
		return "a Structure"
	}
}

func requestID() string { return awsjson.RequestID() }
