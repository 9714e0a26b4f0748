package awslambda_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// stepFunctions speaks the Step Functions JSON 1.0 protocol for
// StartExecution, with its idempotency rule: the same name and input again
// while the execution runs is accepted; a name reused with another input,
// or after the execution closed, is ExecutionAlreadyExists.
type stepFunctions struct {
	t          *testing.T
	mu         sync.Mutex
	executions map[string]string // name -> input
	closed     bool              // executions finish at once
	starts     int
}

func newStepFunctions(t *testing.T, closed bool) (*stepFunctions, *httptest.Server) {
	s := &stepFunctions{t: t, executions: map[string]string{}, closed: closed}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *stepFunctions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AWSStepFunctions.StartExecution" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.t.Errorf("unexpected Step Functions request: target %q", r.Header.Get("X-Amz-Target"))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Input           string `json:"input"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil || in.StateMachineArn == "" || in.Name == "" {
		s.t.Errorf("bad StartExecution body %s", body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	if prev, ok := s.executions[in.Name]; ok && (s.closed || prev != in.Input) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"ExecutionAlreadyExists","message":"Execution Already Exists: '%s'"}`, in.Name)
		return
	}
	s.executions[in.Name] = in.Input
	arn := strings.Replace(in.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + in.Name
	fmt.Fprintf(w, `{"executionArn":%q,"startDate":1.7e9}`, arn)
}

func (s *stepFunctions) inputs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.executions {
		out[k] = v
	}
	return out
}

// snsTopic speaks the SNS query protocol for Publish.
type snsTopic struct {
	t        *testing.T
	mu       sync.Mutex
	messages []url.Values
}

func (s *snsTopic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "Publish" {
		s.t.Errorf("unexpected SNS request %v", r.PostForm)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.messages = append(s.messages, r.PostForm)
	n := len(s.messages)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>00000000-0000-0000-0000-%012d</MessageId></PublishResult><ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata></PublishResponse>`, n, n)
}

// rekognitionPlayback answers the four Detect operations with the recorded
// responses in testdata/rekognition.
func rekognitionPlayback(t *testing.T) *httptest.Server {
	dir := filepath.Join("..", "..", "testdata", "rekognition")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "RekognitionService.")
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(op)+".json"))
		if err != nil {
			t.Errorf("unexpected Rekognition operation %q", op)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}
