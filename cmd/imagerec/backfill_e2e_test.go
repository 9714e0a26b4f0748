package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
)

var recognisedRE = regexp.MustCompile(`msg="image recognised".* key=(\S+)`)

// TestBackfill: 200 objects that were in the upload bucket before (20 of
// them with documents) are recognised by `imagerec backfill`. The server
// is killed (SIGKILL) mid-run and restarted, which takes the backfill up
// where it was; then the backfill is stopped and `imagerec backfill`
// redrives it to the end. Every object has exactly one document, the 20
// documents are left as they were, and no image was recognised twice. It
// logs the backfill's rate beside the pipeline's in the same run.
func TestBackfill(t *testing.T) {
	needModels(t)
	if testing.Short() {
		t.Skip("slow")
	}
	data := t.TempDir()
	// Uploads under new/ trigger the pipeline; the "existing" images
	// under old/ do not, as if they predated imagerec.
	args := []string{"--features", "labels", "--prefix", "new/"}
	s := startServer(t, data, args...)
	c := s.client()
	ctx := t.Context()
	var photos [][]byte
	for _, n := range []string{"dog.jpg", "chelsea.jpg", "coffee.jpg", "astronaut.jpg", "person.jpg", "rocket.jpg"} {
		photos = append(photos, photo(t, n))
	}

	// The pipeline's rate on 20 uploads, for comparison.
	start := time.Now()
	for i := range 20 {
		putObject(ctx, t, c, fmt.Sprintf("new/%02d.jpg", i), photos[i%len(photos)])
	}
	for i := range 20 {
		waitDocument(ctx, t, c, fmt.Sprintf("new/%02d.jpg", i), 3*time.Minute)
	}
	pipelineRate := 20 / time.Since(start).Seconds()

	const total, documented = 200, 20
	keys := make([]string, total)
	for i := range keys {
		keys[i] = fmt.Sprintf("old/%03d.jpg", i)
		putObject(ctx, t, c, keys[i], photos[i%len(photos)])
		if i%(total/documented) == 0 {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testResult), Key: aws.String(keys[i] + ".json"), Body: strings.NewReader(`{"earlier":true}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	backfill := func(endpoint string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(binary(t), "backfill", "--prefix", "old/", "--max-concurrency", "2", "--endpoint-url", endpoint)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	first, firstOut := backfill(s.endpoint)
	mapRun := waitMapRun(t, sfnClient(s.endpoint), 60, 3*time.Minute)
	s.kill()
	if err := first.Wait(); err == nil {
		t.Errorf("backfill exited 0 although its server was killed:\n%s", firstOut)
	}
	logs := s.logs.String()

	// The restart takes the backfill up; stop it a while later.
	s = startServer(t, data, args...)
	c = s.client()
	cli := awsCLI{t: t, bin: debianAWS(t), endpoint: s.endpoint}
	sc := sfnClient(s.endpoint)
	waitMapRun(t, sc, 120, 3*time.Minute)
	mr, err := sc.DescribeMapRun(ctx, &awssfn.DescribeMapRunInput{MapRunArn: aws.String(mapRun)})
	if err != nil {
		t.Fatal(err)
	}
	cli.run(nil, "stepfunctions", "stop-execution", "--execution-arn", aws.ToString(mr.ExecutionArn), "--cause", "stopped by the test")
	var stopped struct{ Status string }
	waitStatus(t, cli, aws.ToString(mr.ExecutionArn), &stopped)
	if stopped.Status != "ABORTED" {
		t.Fatalf("after stop-execution: %s", stopped.Status)
	}

	last, lastOut := backfill(s.endpoint)
	if err := last.Wait(); err != nil {
		t.Fatalf("backfill after the redrive: %v\n%s", err, lastOut)
	}
	t.Logf("imagerec backfill:\n%s", lastOut)
	if !strings.Contains(lastOut.String(), "redriving the aborted backfill") || !strings.Contains(lastOut.String(), fmt.Sprintf("%d processed, %d skipped", total-documented, documented)) {
		t.Errorf("backfill output:\n%s", lastOut)
	}
	logs += s.logs.String()

	// Exactly one document per object, the earlier ones untouched, and
	// each recognised once, but for the work in flight at an interruption:
	// a child whose recognition was logged but whose checkpoint was not
	// yet stored when the server was killed, or that stop-execution
	// aborted after its recognition, runs again (at least once, as on
	// AWS). That is at most --max-concurrency children per interruption
	// (the kill and the stop), each recognised at most twice.
	recognised := map[string]int{}
	for _, m := range recognisedRE.FindAllStringSubmatch(logs, -1) {
		recognised[m[1]]++
	}
	const interruptions, maxConcurrency = 2, 2
	again := 0
	for _, k := range keys {
		if recognised[k] == 2 {
			again++
			recognised[k] = 1
		}
	}
	if again > interruptions*maxConcurrency {
		t.Errorf("%d objects recognised twice, want at most %d (the work in flight at the kill and at the stop)", again, interruptions*maxConcurrency)
	}
	t.Logf("objects recognised again after an interruption: %d", again)
	for i, k := range keys {
		name, body := waitDocument(ctx, t, c, k, time.Second)
		earlier := i%(total/documented) == 0
		switch {
		case earlier && string(body) != `{"earlier":true}`:
			t.Errorf("%s: the earlier document was replaced: %.100s", name, body)
		case !earlier && (name != k+".json" || !bytes.Contains(body, []byte(`"Labels"`))):
			t.Errorf("%s: %.100s", name, body)
		}
		if want := map[bool]int{true: 0, false: 1}[earlier]; recognised[k] != want {
			t.Errorf("%s recognised %d times, want %d", k, recognised[k], want)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testResult), Key: aws.String(k + ".error.json")}); err == nil {
			t.Errorf("%s has an error document too", k)
		}
	}
	final, err := sc.DescribeMapRun(ctx, &awssfn.DescribeMapRunInput{MapRunArn: aws.String(mapRun)})
	if err != nil {
		t.Fatal(err)
	}
	ic := final.ItemCounts
	if ic.Succeeded != total || ic.Failed != 0 || ic.Total != total || ic.ResultsWritten != total || aws.ToInt32(final.RedriveCount) < 1 {
		t.Errorf("map run: %+v redrives %d", *ic, aws.ToInt32(final.RedriveCount))
	}
	d := final.StopDate.Sub(*final.StartDate)
	t.Logf("backfill: %d images in %s with a kill, a restart and a redrive; pipeline: %.2f images/s", total-documented, d.Round(time.Millisecond), pipelineRate)
}

// waitMapRun waits until the backfill's Map Run has n finished items and
// returns its ARN.
func waitMapRun(t *testing.T, c *awssfn.Client, n int64, timeout time.Duration) string {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ex, err := c.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:imagerec-backfill")})
		if err == nil && len(ex.Executions) > 0 {
			runs, err := c.ListMapRuns(ctx, &awssfn.ListMapRunsInput{ExecutionArn: ex.Executions[0].ExecutionArn})
			if err == nil && len(runs.MapRuns) > 0 {
				mr, err := c.DescribeMapRun(ctx, &awssfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
				if err == nil && mr.ItemCounts.Succeeded+mr.ItemCounts.Failed >= n {
					return aws.ToString(mr.MapRunArn)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the backfill's Map Run did not reach %d items in %s", n, timeout)
	return ""
}
