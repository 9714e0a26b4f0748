package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/schollz/progressbar/v3"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/config"
)

// backfillInput is the backfill state machine's input.
type backfillInput struct {
	Prefix         string `json:"Prefix"`
	Force          bool   `json:"Force"`
	MaxConcurrency int    `json:"MaxConcurrency"`
}

// cmdBackfill implements `imagerec backfill`: it starts the backfill
// state machine (deploy/backfill.asl.json) on a running imagerec serve
// (or on AWS) through the Step Functions API, follows its Map Run, and
// prints a summary. An unfinished run with the same prefix and --force is
// followed (RUNNING) or redriven (FAILED, ABORTED, TIMED_OUT) instead of
// started again.
func cmdBackfill(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "backfill", "backfill [--prefix P] [--force] [--max-concurrency N] [--endpoint-url URL] [--state-machine-arn ARN]")
	prefix := fs.String("prefix", "", "only objects whose key starts with `P`")
	force := fs.Bool("force", false, "recognise objects that already have a document too")
	conc := fs.Int("max-concurrency", 4, "images recognised at once (child executions of the Map Run)")
	endpoint := fs.String("endpoint-url", "", "Step Functions and S3 endpoint (default $AWS_ENDPOINT_URL, else http://127.0.0.1:9000; \"aws\" for AWS's own)")
	smArn := fs.String("state-machine-arn", "", "backfill state machine (default: the one named "+deploy.LocalBackfill+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *conc < 1 {
		fs.Usage()
		return &exitError{2}
	}
	ep := *endpoint
	if ep == "" {
		ep = env.Getenv("AWS_ENDPOINT_URL")
	}
	if ep == "" {
		ep = "http://127.0.0.1:9000"
	}
	c, err := newAWSClients(ctx, env, ep)
	if err != nil {
		return err
	}
	b := &backfiller{env: env, sfn: c.sfn, s3: c.s3}
	if *smArn == "" {
		if *smArn, err = b.findMachine(ctx); err != nil {
			return err
		}
	}
	in := backfillInput{Prefix: *prefix, Force: *force, MaxConcurrency: *conc}
	arn, how, err := b.startOrResume(ctx, *smArn, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "imagerec backfill: %s %s\n", how, arn)
	started := time.Now()
	ex, err := b.follow(ctx, arn)
	if err != nil {
		return err
	}
	return b.summarize(ctx, ex, time.Since(started))
}

type awsClients struct {
	sfn *awssfn.Client
	s3  *s3.Client
}

// newAWSClients makes SDK clients for endpoint ("aws": AWS's own) with
// the usual credentials (environment, shared files); without any, for a
// loopback endpoint, imagerec serve's (IMAGEREC_ACCESS_KEY_ID and
// IMAGEREC_SECRET_ACCESS_KEY, or their documented defaults).
func newAWSClients(ctx context.Context, env *Env, endpoint string) (*awsClients, error) {
	region := env.Getenv("AWS_REGION")
	if region == "" {
		region = env.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = "us-east-1"
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region)}
	if endpoint != "aws" {
		// Another endpoint than AWS's: never ask an instance metadata
		// service for credentials.
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if id := env.Getenv("AWS_ACCESS_KEY_ID"); id != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, env.Getenv("AWS_SECRET_ACCESS_KEY"), env.Getenv("AWS_SESSION_TOKEN"))
	} else if _, err := cfg.Credentials.Retrieve(ctx); err != nil && isLoopback(endpoint) {
		local, err := config.Load(env.Getenv, nil, io.Discard)
		if err != nil {
			return nil, fmt.Errorf("configuration: %w", err)
		}
		cfg.Credentials = credentials.NewStaticCredentialsProvider(local.AccessKeyID, local.SecretAccessKey, "")
	}
	if endpoint == "aws" {
		return &awsClients{sfn: awssfn.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })}, nil
	}
	if _, err := url.ParseRequestURI(endpoint); err != nil {
		return nil, fmt.Errorf("--endpoint-url %q: %w", endpoint, err)
	}
	return &awsClients{
		sfn: awssfn.NewFromConfig(cfg, func(o *awssfn.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
	}, nil
}

func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

type backfiller struct {
	env *Env
	sfn *awssfn.Client
	s3  *s3.Client
}

// findMachine returns the ARN of the state machine named imagerec-backfill
// (or ending in -backfill, as the SAM template names it).
func (b *backfiller) findMachine(ctx context.Context) (string, error) {
	var found []string
	p := awssfn.NewListStateMachinesPaginator(b.sfn, &awssfn.ListStateMachinesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list state machines: %w", err)
		}
		for _, sm := range page.StateMachines {
			name := aws.ToString(sm.Name)
			if name == deploy.LocalBackfill {
				return aws.ToString(sm.StateMachineArn), nil
			}
			if strings.HasSuffix(name, "-backfill") {
				found = append(found, aws.ToString(sm.StateMachineArn))
			}
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", fmt.Errorf("no backfill state machine found (%d candidates); give --state-machine-arn", len(found))
}

// startOrResume starts the backfill, or takes up the newest run with the
// same prefix and --force when it has not succeeded: following it while
// RUNNING, redriving it when it failed, timed out or was aborted.
func (b *backfiller) startOrResume(ctx context.Context, smArn string, in backfillInput) (arn, how string, err error) {
	page, err := b.sfn.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(smArn), MaxResults: 10})
	if err != nil {
		return "", "", fmt.Errorf("list backfill executions: %w", err)
	}
	for _, e := range page.Executions {
		d, err := b.sfn.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
		if err != nil {
			return "", "", fmt.Errorf("describe %s: %w", aws.ToString(e.ExecutionArn), err)
		}
		var prev backfillInput
		if json.Unmarshal([]byte(aws.ToString(d.Input)), &prev) != nil || prev.Prefix != in.Prefix || prev.Force != in.Force {
			continue
		}
		switch d.Status {
		case sfntypes.ExecutionStatusRunning:
			return aws.ToString(d.ExecutionArn), "following the running backfill", nil
		case sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusAborted, sfntypes.ExecutionStatusTimedOut:
			if _, err := b.sfn.RedriveExecution(ctx, &awssfn.RedriveExecutionInput{ExecutionArn: d.ExecutionArn}); err != nil {
				return "", "", fmt.Errorf("redrive %s: %w", aws.ToString(d.ExecutionArn), err)
			}
			return aws.ToString(d.ExecutionArn), fmt.Sprintf("redriving the %s backfill", strings.ToLower(string(d.Status))), nil
		default: // SUCCEEDED (or a pending redrive): start a new one
		}
		break // only the newest run with this input is taken up
	}
	input, _ := json.Marshal(in)
	name := "backfill-" + time.Now().UTC().Format("20060102T150405.000Z")
	name = strings.ReplaceAll(name, ".", "-")
	out, err := b.sfn.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Name: aws.String(name), Input: aws.String(string(input))})
	if err != nil {
		return "", "", fmt.Errorf("start backfill: %w", err)
	}
	return aws.ToString(out.ExecutionArn), "started", nil
}

// follow shows the Map Run's progress until the execution ends.
func (b *backfiller) follow(ctx context.Context, arn string) (*awssfn.DescribeExecutionOutput, error) {
	var bar *progressbar.ProgressBar
	defer func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	mapRun := ""
	for {
		d, err := b.sfn.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", arn, err)
		}
		if mapRun == "" {
			if runs, err := b.sfn.ListMapRuns(ctx, &awssfn.ListMapRunsInput{ExecutionArn: aws.String(arn)}); err == nil && len(runs.MapRuns) > 0 {
				mapRun = aws.ToString(runs.MapRuns[0].MapRunArn)
			}
		}
		if mapRun != "" && isTerminal(b.env.Stderr) {
			if mr, err := b.sfn.DescribeMapRun(ctx, &awssfn.DescribeMapRunInput{MapRunArn: aws.String(mapRun)}); err == nil && mr.ItemCounts != nil {
				c := mr.ItemCounts
				if bar == nil && c.Total > 0 {
					bar = progressbar.NewOptions64(c.Total, progressbar.OptionSetWriter(b.env.Stderr), progressbar.OptionSetDescription("backfill"),
						progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
						progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.env.Stderr) }))
				}
				if bar != nil {
					_ = bar.Set64(c.Succeeded + c.Failed + c.TimedOut + c.Aborted)
				}
			}
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// backfillSummary counts what a backfill did, from its ResultWriter files.
// Recent counts the images processed since the command started (a
// resumed run's earlier work is not in the rate).
type backfillSummary struct {
	Processed, Skipped, Ignored, Recent int
	Failed                              map[string]int
}

func (s backfillSummary) failed() int {
	n := 0
	for _, c := range s.Failed {
		n += c
	}
	return n
}

// summarizeResults reads SUCCEEDED and FAILED result entries (each a child
// execution: {"Status","Output","Error",...}).
func summarizeResults(entries []resultEntry, since time.Time) backfillSummary {
	s := backfillSummary{Failed: map[string]int{}}
	for _, e := range entries {
		if e.Status != "SUCCEEDED" {
			code := e.Error
			if code == "" {
				code = e.Status
			}
			s.Failed[code]++
			continue
		}
		var out struct{ Outcome string }
		_ = json.Unmarshal([]byte(e.Output), &out)
		switch out.Outcome {
		case "skipped":
			s.Skipped++
		case "ignored":
			s.Ignored++
		default:
			s.Processed++
			if stop, err := time.Parse(time.RFC3339, e.StopDate); err == nil && !stop.Before(since) {
				s.Recent++
			}
		}
	}
	return s
}

type resultEntry struct {
	Status   string `json:"Status"`
	Output   string `json:"Output"`
	Error    string `json:"Error"`
	StopDate string `json:"StopDate"`
}

func (b *backfiller) getJSON(ctx context.Context, bucket, key string, v any) error {
	out, err := b.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// summarize prints what the backfill did and returns an exit error when
// it failed or any image did.
func (b *backfiller) summarize(ctx context.Context, d *awssfn.DescribeExecutionOutput, took time.Duration) error {
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		fmt.Fprintf(b.env.Stderr, "imagerec backfill: %s %s: %s %s (run imagerec backfill again to redrive it)\n",
			aws.ToString(d.ExecutionArn), d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		return &exitError{1}
	}
	var out struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		return fmt.Errorf("backfill output %q: %w", aws.ToString(d.Output), err)
	}
	var manifest struct {
		ResultFiles map[string][]struct{ Key string }
	}
	bucket := out.ResultWriterDetails.Bucket
	if err := b.getJSON(ctx, bucket, out.ResultWriterDetails.Key, &manifest); err != nil {
		return err
	}
	var entries []resultEntry
	for _, g := range []string{"SUCCEEDED", "FAILED", "PENDING"} {
		for _, f := range manifest.ResultFiles[g] {
			var part []resultEntry
			if err := b.getJSON(ctx, bucket, f.Key, &part); err != nil {
				return err
			}
			entries = append(entries, part...)
		}
	}
	s := summarizeResults(entries, time.Now().Add(-took-time.Second))
	rate := 0.0
	if took > 0 {
		rate = float64(s.Recent) / took.Seconds()
	}
	fmt.Fprintf(b.env.Stdout, "backfill: %d processed, %d skipped (already had a document), %d ignored, %d failed in %s (%.1f images/s)\n",
		s.Processed, s.Skipped, s.Ignored, s.failed(), took.Round(time.Millisecond), rate)
	codes := make([]string, 0, len(s.Failed))
	for c := range s.Failed {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(b.env.Stdout, "  failed %-32s %d\n", c, s.Failed[c])
	}
	fmt.Fprintf(b.env.Stdout, "  results: s3://%s/%s\n", bucket, out.ResultWriterDetails.Key)
	if s.failed() > 0 {
		return &exitError{1}
	}
	return nil
}
