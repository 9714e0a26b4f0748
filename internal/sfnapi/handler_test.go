package sfnapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imagerec/imagerec/internal/sfn"
	"github.com/imagerec/imagerec/internal/sfnapi"
	"github.com/imagerec/imagerec/internal/shapetest"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// loadShapes reads testdata/shapes.json: the operations and shapes of
// botocore 1.43.11's stepfunctions service-2.json that the API serves.
func loadShapes(t testing.TB) *shapetest.Model {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "shapes.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := shapetest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	smArn   = "arn:aws:states:us-east-1:123456789012:stateMachine:"
	execArn = "arn:aws:states:us-east-1:123456789012:execution:"
)

func newService(t testing.TB) *sfn.Service {
	t.Helper()
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::local:echo", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }))
	svc, err := sfn.NewService(sfn.ServiceOptions{Dir: t.TempDir(), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	if _, err := svc.AddManaged("imagerec", []byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`), sfn.ManagedOptions{}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// call posts one operation and checks the answer against botocore's
// shapes: a 200 of the operation's output shape, or a 400 whose __type
// is one of its errors (or a protocol error).
func call(t *testing.T, h http.Handler, shapes *shapetest.Model, op, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", sfnapi.TargetPrefix+op)
	req.Header.Set("Content-Type", sfnapi.ContentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%s: not JSON: %s", op, rec.Body)
	}
	switch rec.Code {
	case http.StatusOK:
		if probs := shapes.Check(shapes.Operations[op].Output, rec.Body.Bytes()); len(probs) > 0 {
			t.Errorf("%s: response off botocore's shape: %v\n%s", op, probs, rec.Body)
		}
	case http.StatusBadRequest:
		code, _ := doc["__type"].(string)
		if !slices.Contains(shapes.Operations[op].Errors, code) && code != "ValidationException" && code != "SerializationException" {
			t.Errorf("%s: error %s is not one of the operation's %v", op, code, shapes.Operations[op].Errors)
		}
		if rec.Header().Get("X-Amzn-Errortype") != code || doc["message"] == "" {
			t.Errorf("%s: error document %s, header %q", op, rec.Body, rec.Header().Get("X-Amzn-Errortype"))
		}
	default:
		t.Errorf("%s: status %d %s", op, rec.Code, rec.Body)
	}
	return rec.Code, doc
}

// TestShapes runs every operation, successful and failing, and holds each
// answer to botocore's model of Step Functions.
func TestShapes(t *testing.T) {
	t.Parallel()
	shapes := loadShapes(t)
	svc := newService(t)
	h := sfnapi.New(svc, sfnapi.Options{})
	def := `{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::local:echo.waitForTaskToken","Parameters":{"t.$":"$$.Task.Token"},"HeartbeatSeconds":60,"End":true}}}`
	defJSON, _ := json.Marshal(def)
	steps := []struct {
		op, body string
		status   int
		code     string
	}{
		{"CreateStateMachine", `{"name":"m","definition":` + string(defJSON) + `,"roleArn":"arn:aws:iam::1:role/r"}`, 200, ""},
		{"CreateStateMachine", `{"name":"m","definition":"{}","roleArn":"arn:aws:iam::1:role/r"}`, 400, "InvalidDefinition"},
		{"CreateStateMachine", `{"name":"bad name","definition":` + string(defJSON) + `,"roleArn":"arn:aws:iam::1:role/r"}`, 400, "InvalidName"},
		{"CreateStateMachine", `{"name":"n","definition":` + string(defJSON) + `,"roleArn":"nope"}`, 400, "InvalidArn"},
		{"DescribeStateMachine", `{"stateMachineArn":"` + smArn + `m"}`, 200, ""},
		{"DescribeStateMachine", `{"stateMachineArn":"` + smArn + `none"}`, 400, "StateMachineDoesNotExist"},
		{"ListStateMachines", `{}`, 200, ""},
		{"UpdateStateMachine", `{"stateMachineArn":"` + smArn + `m","roleArn":"arn:aws:iam::1:role/s"}`, 200, ""},
		{"UpdateStateMachine", `{"stateMachineArn":"` + smArn + `imagerec","roleArn":"arn:aws:iam::1:role/s"}`, 400, "ValidationException"},
		{"ValidateStateMachineDefinition", `{"definition":` + string(defJSON) + `}`, 200, ""},
		{"ValidateStateMachineDefinition", `{"definition":"{\"StartAt\":\"X\",\"States\":{}}"}`, 200, ""},
		{"StartExecution", `{"stateMachineArn":"` + smArn + `m","name":"e1","input":"{\"a\":1}"}`, 200, ""},
		{"StartExecution", `{"stateMachineArn":"` + smArn + `m","name":"e1","input":"{\"a\":2}"}`, 400, "ExecutionAlreadyExists"},
		{"StartExecution", `{"stateMachineArn":"` + smArn + `m","input":"not json"}`, 400, "InvalidExecutionInput"},
		{"StartSyncExecution", `{"stateMachineArn":"` + smArn + `m"}`, 400, "StateMachineTypeNotSupported"},
		{"DescribeExecution", `{"executionArn":"` + execArn + `m:e1"}`, 200, ""},
		{"DescribeExecution", `{"executionArn":"` + execArn + `m:nope"}`, 400, "ExecutionDoesNotExist"},
		{"DescribeExecution", `{"executionArn":"not-an-arn"}`, 400, "InvalidArn"},
		{"ListExecutions", `{"stateMachineArn":"` + smArn + `m","statusFilter":"RUNNING"}`, 200, ""},
		{"ListExecutions", `{"stateMachineArn":"` + smArn + `m","nextToken":"garbage"}`, 400, "InvalidToken"},
		{"ListExecutions", `{"stateMachineArn":"` + smArn + `m","statusFilter":"DONE"}`, 400, "ValidationException"},
		{"GetExecutionHistory", `{"executionArn":"` + execArn + `m:e1","reverseOrder":true,"includeExecutionData":false}`, 200, ""},
		{"DescribeStateMachineForExecution", `{"executionArn":"` + execArn + `m:e1"}`, 200, ""},
		{"SendTaskHeartbeat", `{"taskToken":"garbage!"}`, 400, "InvalidToken"},
		{"RedriveExecution", `{"executionArn":"` + execArn + `m:e1"}`, 400, "ExecutionNotRedrivable"},
		{"ListMapRuns", `{"executionArn":"` + execArn + `m:e1"}`, 200, ""},
		{"DescribeMapRun", `{"mapRunArn":"arn:aws:states:us-east-1:123456789012:mapRun:m/x:1"}`, 400, "ResourceNotFound"},
		{"StopExecution", `{"executionArn":"` + execArn + `m:e1","error":"E","cause":"C"}`, 200, ""},
		{"DescribeExecution", `{"executionArn":"` + execArn + `m:e1"}`, 200, ""},
		{"SendTaskSuccess", `{"taskToken":"TOKEN","output":"{}"}`, 400, "TaskTimedOut"},
		{"DeleteStateMachine", `{"stateMachineArn":"` + smArn + `m"}`, 200, ""},
	}
	token := ""
	for _, st := range steps {
		body := strings.ReplaceAll(st.body, "TOKEN", token)
		status, doc := call(t, h, shapes, st.op, body)
		if status != st.status || (st.code != "" && doc["__type"] != st.code) {
			t.Errorf("%s %s: %d %v, want %d %s", st.op, body, status, doc, st.status, st.code)
		}
		if st.op == "StartExecution" && status == 200 {
			token = waitToken(t, h, shapes, doc["executionArn"].(string))
		}
		if st.op == "GetExecutionHistory" {
			b, _ := json.Marshal(doc)
			if bytes.Contains(b, []byte(`"input"`)) {
				t.Errorf("includeExecutionData false still has input: %s", b)
			}
		}
	}
}

func waitToken(t *testing.T, h http.Handler, shapes *shapetest.Model, arn string) string {
	t.Helper()
	for range 1000 {
		_, doc := call(t, h, shapes, "GetExecutionHistory", `{"executionArn":"`+arn+`"}`)
		events, _ := doc["events"].([]any)
		for _, e := range events {
			ev := e.(map[string]any)
			if ev["type"] == "TaskSubmitted" {
				for _, e2 := range events {
					if d, ok := e2.(map[string]any)["taskScheduledEventDetails"].(map[string]any); ok {
						var p struct{ T string }
						_ = json.Unmarshal([]byte(d["parameters"].(string)), &p)
						return p.T
					}
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no token")
	return ""
}

// TestSDK drives the API with the AWS SDK for Go, signed with SigV4:
// pagination of executions and history, StartSyncExecution on an EXPRESS
// machine, and the refusal of unsigned requests.
func TestSDK(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	v := sigv4.New([]sigv4.Credentials{{AccessKeyID: "AKID", SecretAccessKey: "secret"}}, nil)
	srv := httptest.NewServer(sfnapi.New(svc, sfnapi.Options{Verifier: v}))
	t.Cleanup(srv.Close)
	c := awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	ctx := t.Context()
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}}`
	created, err := c.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{Name: aws.String("fast"), Definition: aws.String(def),
		RoleArn: aws.String("arn:aws:iam::1:role/r"), Type: sfntypes.StateMachineTypeExpress})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK sends StartSyncExecution to sync-<host>, as for AWS, unless
	// the host prefix is disabled.
	sync, err := c.StartSyncExecution(ctx, &awssfn.StartSyncExecutionInput{StateMachineArn: created.StateMachineArn, Input: aws.String(`{"k":1}`)}, noHostPrefix)
	if err != nil || sync.Status != sfntypes.SyncExecutionStatusSucceeded || aws.ToString(sync.Output) != `{"k":1}` {
		t.Fatalf("StartSyncExecution: %+v %v", sync, err)
	}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		if _, err := c.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := awssfn.NewListExecutionsPaginator(c, &awssfn.ListExecutionsInput{StateMachineArn: created.StateMachineArn, MaxResults: 2})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Executions {
			names = append(names, aws.ToString(e.Name))
		}
	}
	if len(names) != 6 || pages != 3 {
		t.Errorf("%d executions in %d pages: %v", len(names), pages, names)
	}
	var types []sfntypes.HistoryEventType
	hp := awssfn.NewGetExecutionHistoryPaginator(c, &awssfn.GetExecutionHistoryInput{ExecutionArn: aws.String(execArn + "fast:a"), MaxResults: 3, ReverseOrder: true})
	for hp.HasMorePages() {
		page, err := hp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			types = append(types, e.Type)
		}
	}
	if len(types) != 6 || types[0] != sfntypes.HistoryEventTypeExecutionSucceeded || types[5] != sfntypes.HistoryEventTypeExecutionStarted {
		t.Errorf("history, newest first: %v", types)
	}
	unsigned := awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	_, err = unsigned.ListStateMachines(ctx, &awssfn.ListStateMachinesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %v", err)
	}
}

// noHostPrefix keeps StartSyncExecution on the endpoint given.
func noHostPrefix(o *awssfn.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("noHostPrefix", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
	})
}
