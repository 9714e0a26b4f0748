package sfnapi

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
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/awsjson"
	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// TargetPrefix is the X-Amz-Target prefix of Step Functions operations.
const TargetPrefix = "AWSStepFunctions."

// ContentType is the JSON 1.0 protocol's media type.
const ContentType = "application/x-amz-json-1.0"

// service is what requests must be signed for: Step Functions, any region.
var service = sigv4.Service{Name: "states"}

// Options configure the handler. The zero value serves unsigned requests.
type Options struct {
	// Verifier checks signatures (service "states", any region); nil
	// accepts unsigned requests (tests only).
	Verifier *sigv4.Verifier
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
}

// Handler serves the Step Functions API over a sfn.Service.
type Handler struct {
	svc  *sfn.Service
	opts Options
	log  *slog.Logger
}

// New returns the handler.
func New(svc *sfn.Service, opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, opts: opts, log: log.With("component", "sfnapi")}
}

// IsStepFunctionsRequest reports whether r is addressed to this API, for
// serving it on a port shared with other protocols.
func IsStepFunctionsRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// operation runs one operation on a request body.
type operation func(h *Handler, ctx context.Context, body []byte) (any, error)

var operations = map[string]operation{
	"CreateStateMachine":               (*Handler).createStateMachine,
	"DescribeStateMachine":             (*Handler).describeStateMachine,
	"ListStateMachines":                (*Handler).listStateMachines,
	"UpdateStateMachine":               (*Handler).updateStateMachine,
	"DeleteStateMachine":               (*Handler).deleteStateMachine,
	"ValidateStateMachineDefinition":   (*Handler).validateDefinition,
	"StartExecution":                   (*Handler).startExecution,
	"StartSyncExecution":               (*Handler).startSyncExecution,
	"StopExecution":                    (*Handler).stopExecution,
	"DescribeExecution":                (*Handler).describeExecution,
	"ListExecutions":                   (*Handler).listExecutions,
	"GetExecutionHistory":              (*Handler).getExecutionHistory,
	"DescribeStateMachineForExecution": (*Handler).describeStateMachineForExecution,
	"SendTaskSuccess":                  (*Handler).sendTaskSuccess,
	"SendTaskFailure":                  (*Handler).sendTaskFailure,
	"SendTaskHeartbeat":                (*Handler).sendTaskHeartbeat,
	"RedriveExecution":                 (*Handler).redriveExecution,
	"DescribeMapRun":                   (*Handler).describeMapRun,
	"ListMapRuns":                      (*Handler).listMapRuns,
}

// maxBody bounds a request: a definition is at most 1 MB, an input 256 KiB.
const maxBody = 2 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := awsjson.RequestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	target := r.Header.Get("X-Amz-Target")
	op := strings.TrimPrefix(target, TargetPrefix)
	err := h.serve(w, r, op, target)
	status := http.StatusOK
	if err != nil {
		status = awsjson.Write(w, ContentType, "message", toAPIError(err))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"operation", op, "status", status, "duration_ms", time.Since(start).Milliseconds(), "request_id", reqID}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	h.log.Log(r.Context(), level, "step functions request", attrs...)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, op, target string) error {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return awsjson.Errorf("UnknownOperationException", http.StatusBadRequest, "%s %s is not a Step Functions operation", r.Method, r.URL.Path)
	}
	run, ok := operations[op]
	if !ok || !strings.HasPrefix(target, TargetPrefix) {
		return awsjson.Errorf("UnknownOperationException", http.StatusBadRequest, "unknown operation %q", target)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != ContentType {
		return awsjson.Errorf("SerializationException", http.StatusBadRequest, "Content-Type must be %s, got %q", ContentType, r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return awsjson.Errorf("SerializationException", http.StatusBadRequest, "read request body: %v", err)
	}
	if len(body) > maxBody {
		return awsjson.Errorf("SerializationException", http.StatusRequestEntityTooLarge, "request body is over %d bytes", maxBody)
	}
	if h.opts.Verifier != nil {
		if _, err := h.opts.Verifier.VerifyBody(r, body, service); err != nil {
			return awsjson.SignatureError(err)
		}
	}
	resp, err := run(h, r.Context(), body)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", ContentType)
	_, _ = w.Write(buf.Bytes()) // the client went away: nothing to do
	return nil
}

// decode parses a request body into v.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return awsjson.Errorf("SerializationException", http.StatusBadRequest, "%v", err)
	}
	return nil
}

// codes are the sfn errors callers see by their Step Functions code.
var codes = []error{
	sfn.ErrExecutionDoesNotExist, sfn.ErrExecutionAlreadyExists, sfn.ErrInvalidExecutionInput,
	sfn.ErrStateMachineDoesNotExist, sfn.ErrStateMachineAlreadyExists, sfn.ErrStateMachineDeleting,
	sfn.ErrInvalidDefinition, sfn.ErrInvalidName, sfn.ErrInvalidArn, sfn.ErrValidation,
	sfn.ErrStateMachineTypeNotSupport, sfn.ErrInvalidToken, sfn.ErrTaskDoesNotExist, sfn.ErrTaskTimedOut,
	sfn.ErrExecutionNotRedrivable, sfn.ErrInvalidOutput, sfn.ErrResourceNotFound,
}

// toAPIError classifies err: protocol errors keep their code, sfn's named
// errors are 400s with their code and the text after it, anything else
// is a 500 whose details stay in the log.
func toAPIError(err error) *awsjson.Error {
	var ae *awsjson.Error
	if errors.As(err, &ae) {
		return ae
	}
	for _, c := range codes {
		if errors.Is(err, c) {
			msg := strings.TrimPrefix(err.Error(), c.Error()+": ")
			return &awsjson.Error{Code: c.Error(), Status: http.StatusBadRequest, Message: msg}
		}
	}
	if errors.Is(err, sfn.ErrExecutorClosed) {
		return &awsjson.Error{Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable, Message: "the server is shutting down"}
	}
	return &awsjson.Error{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: "The request processing has failed because of an unknown error, exception or failure."}
}

func validation(format string, args ...any) error {
	return fmt.Errorf("%w: %s", sfn.ErrValidation, fmt.Sprintf(format, args...))
}

// epoch is a JSON 1.0 timestamp: seconds since the epoch, with
// milliseconds.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(fmt.Sprintf("%d.%03d", ms/1000, ms%1000)), nil
}

func epochPtr(t *time.Time) *epoch {
	if t == nil || t.IsZero() {
		return nil
	}
	e := epoch(*t)
	return &e
}

// page holds pagination arguments.
type page struct {
	MaxResults int    `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

// limit is maxResults with its default (100) and bound (1000).
func (p page) limit() (int, error) {
	switch {
	case p.MaxResults < 0 || p.MaxResults > 1000:
		return 0, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", p.MaxResults)
	case p.MaxResults == 0:
		return 100, nil
	}
	return p.MaxResults, nil
}

// cursor is what a nextToken holds: the position after which the next
// page starts, and the request it belongs to.
type cursor struct {
	After string `json:"a"`
	Scope string `json:"s"`
}

// paginate returns the page of keys (in list order) after the token's
// position, and the token of the next page ("" at the end). scope binds
// a token to its request (a state machine, an execution, a filter).
func paginate(keys []string, p page, scope string) (start, end int, next string, err error) {
	n, err := p.limit()
	if err != nil {
		return 0, 0, "", err
	}
	if p.NextToken != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(p.NextToken)
		var c cursor
		if derr != nil || json.Unmarshal(raw, &c) != nil || c.Scope != scope {
			return 0, 0, "", fmt.Errorf("%w: Invalid Token: '%s'", sfn.ErrInvalidToken, p.NextToken)
		}
		start = len(keys)
		for i, k := range keys {
			if k == c.After {
				start = i + 1
				break
			}
		}
	}
	end = min(start+n, len(keys))
	if end < len(keys) {
		b, _ := json.Marshal(cursor{After: keys[end-1], Scope: scope})
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return start, end, next, nil
}
