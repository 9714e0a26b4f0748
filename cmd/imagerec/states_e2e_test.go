package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/citest"
)

// debianAWS returns Debian's aws CLI (/usr/bin/aws, the awscli package),
// or any on PATH; missing, the test skips unless CI is set.
func debianAWS(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		return "/usr/bin/aws"
	}
	if p, err := exec.LookPath("aws"); err == nil {
		return p
	}
	citest.Skip(t, "aws CLI missing (apt-get install awscli)")
	return ""
}

// awsCLI runs `aws --endpoint-url ENDPOINT ARGS` with the server's
// credentials and decodes its JSON output into out (nil: ignored).
type awsCLI struct {
	t        *testing.T
	bin      string
	endpoint string
}

func (a awsCLI) run(out any, args ...string) {
	a.t.Helper()
	if err := a.try(out, args...); err != nil {
		a.t.Fatal(err)
	}
}

func (a awsCLI) try(out any, args ...string) error {
	a.t.Helper()
	cmd := exec.Command(a.bin, append([]string{"--endpoint-url", a.endpoint, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	b, err := cmd.Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return &cliError{args: strings.Join(args, " "), stderr: stderr}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	return nil
}

type cliError struct{ args, stderr string }

func (e *cliError) Error() string { return "aws " + e.args + ": " + e.stderr }

func sfnClient(endpoint string) *awssfn.Client {
	return awssfn.New(awssfn.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("imagerec", "imagerec-local-secret", ""),
	})
}

// TestStepFunctionsAWSCLI drives the Step Functions API of `imagerec
// serve` with Debian's aws CLI as a user would: the pipeline's machine is
// listed, a user-created machine runs end to end and survives a restart,
// a callback task is completed by send-task-success and another fails by
// its heartbeat; the operations that CLI lacks (redrive, validate) go
// through the SDK.
func TestStepFunctionsAWSCLI(t *testing.T) {
	needModels(t)
	data := t.TempDir()
	s := startServer(t, data, "--features", "labels")
	cli := awsCLI{t: t, bin: debianAWS(t), endpoint: s.endpoint}
	const acct = "arn:aws:states:us-east-1:000000000000:"

	var list struct {
		StateMachines []struct{ StateMachineArn, Name, Type string }
	}
	cli.run(&list, "stepfunctions", "list-state-machines")
	names := map[string]string{}
	for _, sm := range list.StateMachines {
		names[sm.Name] = sm.StateMachineArn
	}
	if names["imagerec"] != acct+"stateMachine:imagerec" || names["imagerec-backfill"] != acct+"stateMachine:imagerec-backfill" {
		t.Errorf("list-state-machines: %+v", list)
	}

	dir := t.TempDir()
	def := filepath.Join(dir, "my.asl.json")
	editFile(t, def, `{"StartAt":"Ask","States":{
	  "Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","HeartbeatSeconds":HB,
	    "Parameters":{"FunctionName":"imagerec-notify","Payload":{"Status":"SUCCEEDED","Source":{"Bucket":"b","Key":"k.jpg"},"Document":{"Bucket":"r","Key":"k.jpg.json"},"TaskToken.$":"$$.Task.Token"}},
	    "ResultPath":"$.answer","Next":"Done"},
	  "Done":{"Type":"Pass","Parameters":{"x.$":"$.x","answer.$":"$.answer"},"End":true}}}`, "HB", "600")
	var created struct{ StateMachineArn string }
	cli.run(&created, "stepfunctions", "create-state-machine", "--name", "mine", "--definition", "file://"+def, "--role-arn", "arn:aws:iam::000000000000:role/x")
	if created.StateMachineArn != acct+"stateMachine:mine" {
		t.Fatalf("create-state-machine: %+v", created)
	}
	var started struct{ ExecutionArn string }
	cli.run(&started, "stepfunctions", "start-execution", "--state-machine-arn", created.StateMachineArn, "--name", "first", "--input", `{"x":1}`)
	token := waitToken(t, cli, started.ExecutionArn)
	cli.run(nil, "stepfunctions", "send-task-success", "--task-token", token, "--task-output", `{"approved":true}`)
	var desc struct{ Status, Output string }
	waitStatus(t, cli, started.ExecutionArn, &desc)
	if desc.Status != "SUCCEEDED" || desc.Output != `{"x":1,"answer":{"approved":true}}` {
		t.Errorf("describe-execution: %+v", desc)
	}
	if err := cli.try(nil, "stepfunctions", "send-task-success", "--task-token", token, "--task-output", `{}`); err == nil || !strings.Contains(err.Error(), "TaskTimedOut") {
		t.Errorf("a second send-task-success: %v, want TaskTimedOut", err)
	}
	var hist struct {
		Events []struct {
			Type string
			ID   int64
		}
	}
	cli.run(&hist, "stepfunctions", "get-execution-history", "--execution-arn", started.ExecutionArn, "--reverse-order", "--no-include-execution-data")
	if len(hist.Events) == 0 || hist.Events[0].Type != "ExecutionSucceeded" {
		t.Errorf("get-execution-history --reverse-order: %+v", hist)
	}
	var forExec struct{ StateMachineArn, Definition string }
	cli.run(&forExec, "stepfunctions", "describe-state-machine-for-execution", "--execution-arn", started.ExecutionArn)
	if forExec.StateMachineArn != created.StateMachineArn || !strings.Contains(forExec.Definition, "waitForTaskToken") {
		t.Errorf("describe-state-machine-for-execution: %+v", forExec)
	}

	// A heartbeat that never comes: States.HeartbeatTimeout.
	editFile(t, def, readFileT(t, def), `"HeartbeatSeconds":600`, `"HeartbeatSeconds":1`)
	cli.run(nil, "stepfunctions", "update-state-machine", "--state-machine-arn", created.StateMachineArn, "--definition", "file://"+def)
	cli.run(&started, "stepfunctions", "start-execution", "--state-machine-arn", created.StateMachineArn, "--name", "silent", "--input", `{"x":2}`)
	var silent struct{ Status, Error string }
	waitStatus(t, cli, started.ExecutionArn, &silent)
	if silent.Status != "FAILED" || silent.Error != "States.HeartbeatTimeout" {
		t.Errorf("heartbeat timeout: %+v", silent)
	}
	var failed struct {
		Executions []struct{ Name, Status string }
	}
	cli.run(&failed, "stepfunctions", "list-executions", "--state-machine-arn", created.StateMachineArn, "--status-filter", "FAILED")
	if len(failed.Executions) != 1 || failed.Executions[0].Name != "silent" {
		t.Errorf("list-executions --status-filter FAILED: %+v", failed)
	}

	// Redrive (the CLI has no command for it): the execution runs its
	// own definition again (a 1 s heartbeat), so the answer goes through
	// the SDK at once; the token is the same task's, so it is accepted
	// even before the task waits again.
	c := sfnClient(s.endpoint)
	ctx := t.Context()
	h, err := c.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: aws.String(started.ExecutionArn)})
	if err != nil {
		t.Fatal(err)
	}
	token = ""
	for _, e := range h.Events {
		if e.TaskScheduledEventDetails != nil {
			var p struct{ Payload struct{ TaskToken string } }
			_ = json.Unmarshal([]byte(aws.ToString(e.TaskScheduledEventDetails.Parameters)), &p)
			token = p.Payload.TaskToken
		}
	}
	if _, err := c.RedriveExecution(ctx, &awssfn.RedriveExecutionInput{ExecutionArn: aws.String(started.ExecutionArn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String("Rejected"), Cause: aws.String("no")}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, cli, started.ExecutionArn, &silent)
	if silent.Status != "FAILED" || silent.Error != "Rejected" {
		t.Errorf("after redrive and send-task-failure: %+v", silent)
	}
	v, err := c.ValidateStateMachineDefinition(ctx, &awssfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`)})
	if err != nil || v.Result != sfntypes.ValidateStateMachineDefinitionResultCodeFail || len(v.Diagnostics) != 1 || aws.ToString(v.Diagnostics[0].Location) != `state "A".Next` {
		t.Errorf("validate: %+v %v", v, err)
	}
	var ae smithy.APIError
	if _, err := c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(acct + "execution:mine:nope")}); !errors.As(err, &ae) || ae.ErrorCode() != "ExecutionDoesNotExist" {
		t.Errorf("describe of a missing execution: %v", err)
	}

	// User machines and their executions persist across a restart.
	s.stop()
	s = startServer(t, data, "--features", "labels")
	cli.endpoint = s.endpoint
	var again struct{ Status string }
	cli.run(&again, "stepfunctions", "describe-execution", "--execution-arn", acct+"execution:mine:first")
	if again.Status != "SUCCEEDED" {
		t.Errorf("after a restart: %+v", again)
	}
	cli.run(nil, "stepfunctions", "delete-state-machine", "--state-machine-arn", created.StateMachineArn)
	if err := cli.try(nil, "stepfunctions", "describe-state-machine", "--state-machine-arn", created.StateMachineArn); err == nil || !strings.Contains(err.Error(), "StateMachineDoesNotExist") {
		t.Errorf("describe after delete: %v", err)
	}
}

func editFile(t *testing.T, path, content, old, new string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(content, old, new)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitToken reads the task token from the newest TaskScheduled event of
// a running execution.
func waitToken(t *testing.T, cli awsCLI, arn string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var hist struct {
			Events []struct {
				Type                      string
				TaskScheduledEventDetails struct{ Parameters string }
				TaskSubmittedEventDetails struct{ Output string }
			}
		}
		cli.run(&hist, "stepfunctions", "get-execution-history", "--execution-arn", arn, "--reverse-order")
		submitted := false
		for _, e := range hist.Events {
			submitted = submitted || e.Type == "TaskSubmitted"
			if e.Type == "TaskScheduled" && submitted {
				var p struct{ Payload struct{ TaskToken string } }
				if err := json.Unmarshal([]byte(e.TaskScheduledEventDetails.Parameters), &p); err != nil {
					t.Fatal(err)
				}
				return p.Payload.TaskToken
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no task token in the history of %s", arn)
	return ""
}

// waitStatus polls describe-execution until the execution has ended.
func waitStatus(t *testing.T, cli awsCLI, arn string, out any) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var d struct{ Status string }
		cli.run(&d, "stepfunctions", "describe-execution", "--execution-arn", arn)
		if d.Status != "RUNNING" {
			cli.run(out, "stepfunctions", "describe-execution", "--execution-arn", arn)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s still running", arn)
}
