package awslambda_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
