package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/s3event"
)

func record(bucket, key, etag, event string) s3event.Record {
	return s3event.NewRecord(s3event.ObjectParams{EventName: event, Region: "us-east-1", Time: time.Unix(1700000000, 0),
		Bucket: bucket, Key: key, Size: 10, ETag: etag, Sequencer: "0A"})
}

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,80}$`)

func TestTriggerPlan(t *testing.T) {
	t.Parallel()
	tr := pipeline.Trigger{ResultBucket: "results"}
	tests := []struct {
		name    string
		rec     s3event.Record
		wantKey string
		skip    string
		wantErr bool
	}{
		{name: "plain", rec: record("uploads", "a.jpg", "e1", "ObjectCreated:Put"), wantKey: "a.jpg"},
		{name: "space plus unicode", rec: record("uploads", "dir/my photo+1 ü狗.jpg", "e1", "ObjectCreated:Put"), wantKey: "dir/my photo+1 ü狗.jpg"},
		{name: "multipart", rec: record("uploads", "big.jpg", "e1-3", "ObjectCreated:CompleteMultipartUpload"), wantKey: "big.jpg"},
		{name: "result bucket is ignored", rec: record("results", "a.jpg.json", "e1", "ObjectCreated:Put"), skip: "result bucket"},
		{name: "delete is ignored", rec: record("uploads", "a.jpg", "", "ObjectRemoved:Delete"), skip: "not ObjectCreated"},
		{name: "own prefix", rec: record("uploads", "_imagerec/pending/x.json", "e", "ObjectCreated:Put"), skip: "imagerec's own"},
		{name: "longest key", rec: record("uploads", strings.Repeat("k", pipeline.MaxKeyLen), "e", "ObjectCreated:Put"), wantKey: strings.Repeat("k", pipeline.MaxKeyLen)},
		{name: "key without room for its document", rec: record("uploads", strings.Repeat("k", pipeline.MaxKeyLen+1), "e", "ObjectCreated:Put"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Round-trip through AWS's JSON, as both shells receive it.
			b, _ := json.Marshal(s3event.Event{Records: []s3event.Record{tc.rec}})
			ev, err := s3event.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			st, ok, reason, err := tr.Plan(ev.Records[0])
			if tc.wantErr {
				var ke *pipeline.KeyTooLongError
				if !errors.As(err, &ke) || ok {
					t.Fatalf("ok=%v err=%v, want a KeyTooLongError", ok, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.skip != "" {
				if ok || !regexp.MustCompile(regexp.QuoteMeta(tc.skip)).MatchString(reason) {
					t.Fatalf("ok=%v reason=%q, want skip %q", ok, reason, tc.skip)
				}
				return
			}
			if !ok || st.Source.Key != tc.wantKey {
				t.Fatalf("ok=%v key=%q want %q", ok, st.Source.Key, tc.wantKey)
			}
			if !validName.MatchString(st.Name) {
				t.Errorf("invalid execution name %q", st.Name)
			}
			var in pipeline.ExecutionInput
			if err := json.Unmarshal(st.Input, &in); err != nil || in.Source.Key != tc.wantKey || in.Source.ETag == "" {
				t.Errorf("input %s: %v", st.Input, err)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	if pipeline.MaxKeyLen+len(pipeline.ErrorSuffix) != 1024 {
		t.Fatalf("MaxKeyLen %d leaves no exact room for %s", pipeline.MaxKeyLen, pipeline.ErrorSuffix)
	}
	for _, n := range []int{1, 1000, pipeline.MaxKeyLen} {
		if err := pipeline.CheckKey(strings.Repeat("x", n)); err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	for _, n := range []int{pipeline.MaxKeyLen + 1, 1020, 1024} {
		err := pipeline.CheckKey(strings.Repeat("x", n))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes", n)) || !strings.Contains(err.Error(), ".error.json") {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

func TestExecutionNameIdempotent(t *testing.T) {
	t.Parallel()
	a := pipeline.Source{Bucket: "b", Key: "k.jpg", ETag: "1"}
	b := a
	b.ETag = "2"
	if pipeline.ExecutionName(a) != pipeline.ExecutionName(pipeline.Source{Bucket: "b", Key: "k.jpg", ETag: "1"}) {
		t.Error("not deterministic")
	}
	if pipeline.ExecutionName(a) == pipeline.ExecutionName(b) {
		t.Error("a new version of the object must start a new execution")
	}
}

// TestAWSSampleEvent plans AWS's documented sample S3 event.
func TestAWSSampleEvent(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../s3event/testdata/aws-lambda-go-s3-event.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s3event.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	st, ok, _, err := pipeline.Trigger{ResultBucket: "results"}.Plan(ev.Records[0])
	if err != nil || !ok || st.Source.Key == "" {
		t.Fatalf("plan: %+v %v %v", st, ok, err)
	}
}

// TestTriggerRecords runs the trigger loop both shells use over a batch:
// every record is tried, duplicates and ignored records are counted, and
// the records not started come back as *RecordError inside one
// TransientError (Execution empty when the record itself is bad).
func TestTriggerRecords(t *testing.T) {
	t.Parallel()
	tr := pipeline.Trigger{ResultBucket: "results"}
	recs := []s3event.Record{
		record("uploads", "new.jpg", "e1", "ObjectCreated:Put"),
		record("uploads", "seen.jpg", "e1", "ObjectCreated:Put"),
		record("results", "new.jpg.json", "e1", "ObjectCreated:Put"),
		record("uploads", "down.jpg", "e1", "ObjectCreated:Put"),
		record("uploads", strings.Repeat("k", pipeline.MaxKeyLen+1), "e1", "ObjectCreated:Put"),
	}
	var tried []string
	start := func(_ context.Context, st pipeline.Start) (string, error) {
		tried = append(tried, st.Source.Key)
		switch st.Source.Key {
		case "seen.jpg":
			return "", pipeline.ErrExecutionExists
		case "down.jpg":
			return "", errors.New("executor unavailable")
		}
		if st.Name != pipeline.ExecutionName(st.Source) {
			t.Errorf("start %q, want the identity %q", st.Name, pipeline.ExecutionName(st.Source))
		}
		return "arn:" + st.Name, nil
	}
	res, err := tr.Records(t.Context(), recs, start, nil)
	if want := (pipeline.TriggerResult{Started: 1, Duplicates: 1, Ignored: 1}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if want := []string{"new.jpg", "seen.jpg", "down.jpg"}; fmt.Sprint(tried) != fmt.Sprint(want) {
		t.Errorf("started %v, want %v", tried, want)
	}
	if got := pipeline.ErrorName(err); got != pipeline.ErrNameTransient {
		t.Fatalf("error %v named %q, want %s", err, got, pipeline.ErrNameTransient)
	}
	var bad, failed int
	for _, e := range err.(*pipeline.Error).Err.(interface{ Unwrap() []error }).Unwrap() { //nolint:errorlint // the joined list itself
		var re *pipeline.RecordError
		if !errors.As(e, &re) {
			t.Fatalf("joined error %T %v, want *pipeline.RecordError", e, e)
		}
		if re.Execution == "" {
			bad++
		} else {
			failed++
		}
	}
	if bad != 1 || failed != 1 || !strings.Contains(err.Error(), "2 of 5 records not started") {
		t.Errorf("err = %v: %d bad and %d failed records, want 1 and 1", err, bad, failed)
	}

	// Nothing to start is no error.
	if res, err := tr.Records(t.Context(), recs[:3], start, nil); err != nil || res.Started != 1 {
		t.Errorf("without failures: %+v, %v", res, err)
	}
}

// A MinIO message (testdata/events) and the AWS record of the same object
// plan the same execution: same name, same input.
func TestMinIOAndAWSRecordsStartTheSameExecution(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../testdata/events/minio-nats-put.json")
	if err != nil {
		t.Fatal(err)
	}
	minio, err := s3event.ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	aws := s3event.NewRecord(s3event.ObjectParams{
		EventName: s3event.ObjectCreatedPut, Region: "us-east-1", Time: time.Date(2026, 11, 28, 13, 45, 6, 789000000, time.UTC),
		Bucket: "image-upload-bucket", Key: "holiday photos/Café +1=2.jpg", Size: 1024,
		ETag: "d41d8cd98f00b204e9800998ecf8427e", Sequencer: "0055AED6DCD90281E5", ConfigurationID: "imagerec-recognize",
	})
	// Through the queue, as the gateway publishes it.
	b, err := json.Marshal(aws)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := s3event.ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	tr := pipeline.Trigger{ResultBucket: "image-result-bucket"}
	var starts []pipeline.Start
	for _, rec := range []s3event.Record{minio[0], queued[0]} {
		st, ok, reason, err := tr.Plan(rec)
		if err != nil || !ok {
			t.Fatalf("Plan: ok %v reason %q err %v", ok, reason, err)
		}
		starts = append(starts, st)
	}
	if starts[0].Name != starts[1].Name || string(starts[0].Input) != string(starts[1].Input) {
		t.Errorf("MinIO record starts %s %s,\nAWS record %s %s", starts[0].Name, starts[0].Input, starts[1].Name, starts[1].Input)
	}
	if starts[0].Source.Key != "holiday photos/Café +1=2.jpg" {
		t.Errorf("key %q", starts[0].Source.Key)
	}
}
