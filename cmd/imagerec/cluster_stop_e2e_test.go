package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/imagerec/imagerec/internal/natstest"
)

// TestClusterStopExecution: StopExecution on a gateway (AWS SDK) stops a
// backfill whose execution runs on a worker. The worker aborts it: it ends
// ABORTED with the given error and cause, one end in its history, its Map
// Run aborted, and the backfill command ends.
func TestClusterStopExecution(t *testing.T) {
	needModels(t)
	if testing.Short() {
		t.Skip("slow: a NATS server and two imagerec processes")
	}
	const n = 40 // at one image at a time, seconds of work left when the stop comes
	nodes := natstest.Start(t, 1)
	common := []string{"--queue", strings.Join(nodes.URLs(), ","), "--queue-ack-wait", "3s", "--features", "labels", "--workers", "2", "--reconcile-interval", "0", "--prefix", "new/"}
	gw := startServer(t, t.TempDir(), append([]string{"--role", "gateway"}, common...)...)
	w := startServerEnv(t, t.TempDir(), workerEnv, append([]string{"--role", "worker", "--store-endpoint", gw.endpoint}, common...)...)
	ctx := t.Context()
	c := gw.client()
	photos := []string{"dog.jpg", "chelsea.jpg", "coffee.jpg", "astronaut.jpg"}
	for i := range n {
		putObject(ctx, t, c, fmt.Sprintf("old/%02d-%s", i, photos[i%len(photos)]), photo(t, photos[i%len(photos)]))
	}
	cmd := exec.Command(binary(t), "backfill", "--prefix", "old/", "--max-concurrency", "1", "--endpoint-url", gw.endpoint)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for len(recognisedRE.FindAllString(w.logs.String(), -1)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the backfill did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sc := sfnClient(gw.endpoint)
	list, err := sc.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:imagerec-backfill")})
	if err != nil || len(list.Executions) != 1 || list.Executions[0].Status != "RUNNING" {
		t.Fatalf("ListExecutions = %+v, %v", list, err)
	}
	arn := list.Executions[0].ExecutionArn
	stop, err := sc.StopExecution(ctx, &awssfn.StopExecutionInput{ExecutionArn: arn, Error: aws.String("Operator"), Cause: aws.String("stopped on the gateway")})
	if err != nil || stop.StopDate == nil {
		t.Fatalf("StopExecution = %+v, %v", stop, err)
	}
	d, err := sc.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: arn})
	if err != nil || d.Status != "ABORTED" || aws.ToString(d.Error) != "Operator" || aws.ToString(d.Cause) != "stopped on the gateway" {
		t.Fatalf("DescribeExecution = %+v, %v", d, err)
	}
	h, err := sc.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: arn, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ends := 0
	for _, e := range h.Events {
		if strings.HasPrefix(string(e.Type), "Execution") && e.Type != "ExecutionStarted" && e.Type != "ExecutionRedriven" {
			ends++
		}
	}
	last := h.Events[len(h.Events)-1]
	if ends != 1 || last.Type != "ExecutionAborted" || aws.ToString(last.ExecutionAbortedEventDetails.Cause) != "stopped on the gateway" {
		t.Errorf("history: %d ends, last %s", ends, last.Type)
	}
	runs, err := sc.ListMapRuns(ctx, &awssfn.ListMapRunsInput{ExecutionArn: arn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("ListMapRuns = %+v, %v", runs, err)
	}
	if mr, err := sc.DescribeMapRun(ctx, &awssfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn}); err != nil || mr.Status != "ABORTED" {
		t.Errorf("DescribeMapRun = %+v, %v; want ABORTED", mr, err)
	}
	if !strings.Contains(w.logs.String(), `msg="stopping an execution: another process asked"`) {
		t.Error("the worker did not log the stop")
	}
	select {
	case err := <-ended:
		if err == nil || !strings.Contains(out.String(), "ABORTED: Operator stopped on the gateway") {
			t.Errorf("backfill command: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the backfill command did not end:\n%s", out.String())
	}
	if got := len(recognisedRE.FindAllString(w.logs.String(), -1)); got >= n {
		t.Errorf("all %d images were recognised: the stop came too late", got)
	}
	// Stopping it again answers as it ended.
	if again, err := sc.StopExecution(ctx, &awssfn.StopExecutionInput{ExecutionArn: arn}); err != nil || again.StopDate == nil || !again.StopDate.Equal(*d.StopDate) {
		t.Errorf("second StopExecution = %+v, %v; want the stop date %v", again, err, d.StopDate)
	}
}
