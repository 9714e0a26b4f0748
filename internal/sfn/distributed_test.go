package sfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/sfn"
)

// distributed runs def as a managed machine "dm" over a memstore holding
// objects, with task "arn:aws:states:::local:work" failing items whose
// input mentions "bad".
func distributed(t *testing.T, def string, objects map[string]string) (*sfn.Service, *sfn.Executor, *memstore.Store, *atomic.Int32) {
	t.Helper()
	st := memstore.New()
	ctx := t.Context()
	for _, b := range []string{"inbox", "outbox"} {
		if err := st.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range objects {
		if _, err := st.PutObject(ctx, "inbox", k, strings.NewReader(v), objstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int32
	reg := sfn.NewRegistry()
	reg.Register("arn:aws:states:::local:work", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		calls.Add(1)
		if bytes.Contains(in, []byte("bad")) {
			return nil, &namedError{"BadItem", "bad item"}
		}
		return json.RawMessage(`{"done":` + string(in) + `}`), nil
	}))
	svc, err := sfn.NewService(sfn.ServiceOptions{Registry: reg, Objects: sfn.StoreObjects{Store: st}, Clock: sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	x, err := svc.AddManaged("dm", []byte(def), sfn.ManagedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, x, st, &calls
}

func runDM(t *testing.T, x *sfn.Executor, input string) sfn.Execution {
	t.Helper()
	arn, err := x.Start(t.Context(), "run", json.RawMessage(input))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := x.Wait(t.Context(), arn)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func dmDef(fields string) string {
	return `{"StartAt":"M","States":{"M":{"Type":"Map",` + fields + `,
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"W",
	    "States":{"W":{"Type":"Task","Resource":"arn:aws:states:::local:work","End":true}}},"End":true}}}`
}

func getObject(t *testing.T, st *memstore.Store, bucket, key string) []byte {
	t.Helper()
	rc, _, err := st.GetObject(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

// TestDistributedMapS3 follows the Step Functions documentation: an
// s3:listObjectsV2 ItemReader (Prefix, MaxItems) whose items are
// {"Etag","Key","LastModified","Size","StorageClass"}, child executions
// with their own histories under a Map Run, the tolerated failure
// threshold, and a ResultWriter that writes PREFIX/MAPRUNID/manifest.json
// with SUCCEEDED_0.json and FAILED_0.json.
func TestDistributedMapS3(t *testing.T) {
	t.Parallel()
	objects := map[string]string{"other/x.jpg": "x"}
	for i := range 12 {
		body := "ok"
		if i%4 == 3 {
			body = "bad"
		}
		objects[fmt.Sprintf("photos/%02d-%s.jpg", i, body)] = body
	}
	def := dmDef(`"ItemReader":{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket":"inbox","Prefix.$":"$.prefix"},"ReaderConfig":{"MaxItems":10}},
	  "ItemSelector":{"key.$":"$$.Map.Item.Value.Key","size.$":"$$.Map.Item.Value.Size","index.$":"$$.Map.Item.Index"},
	  "MaxConcurrency":3,"ToleratedFailurePercentage":30,"Label":"photos",
	  "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"outbox","Prefix":"runs"}}`)
	svc, x, st, calls := distributed(t, def, objects)
	ex := runDM(t, x, `{"prefix":"photos/"}`)
	if ex.Status != sfn.StatusSucceeded {
		t.Fatalf("execution %s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	if calls.Load() != 10 {
		t.Errorf("%d task calls, want 10 (MaxItems)", calls.Load())
	}
	var out struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal(ex.Output, &out); err != nil {
		t.Fatal(err)
	}
	id := out.MapRunArn[strings.LastIndex(out.MapRunArn, ":")+1:]
	if !strings.HasPrefix(out.MapRunArn, "arn:aws:states:us-east-1:123456789012:mapRun:dm/photos:") ||
		out.ResultWriterDetails != (struct{ Bucket, Key string }{"outbox", "runs/" + id + "/manifest.json"}) {
		t.Errorf("output %s", ex.Output)
	}
	var manifest struct {
		DestinationBucket string
		MapRunArn         string
		ResultFiles       map[string][]struct {
			Key  string
			Size int
		}
	}
	if err := json.Unmarshal(getObject(t, st, "outbox", out.ResultWriterDetails.Key), &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.DestinationBucket != "outbox" || manifest.MapRunArn != out.MapRunArn || len(manifest.ResultFiles["PENDING"]) != 0 {
		t.Errorf("manifest %+v", manifest)
	}
	counts := map[string]int{}
	for _, g := range []string{"SUCCEEDED", "FAILED"} {
		if len(manifest.ResultFiles[g]) != 1 || manifest.ResultFiles[g][0].Key != "runs/"+id+"/"+g+"_0.json" {
			t.Fatalf("manifest %s files: %+v", g, manifest.ResultFiles[g])
		}
		body := getObject(t, st, "outbox", manifest.ResultFiles[g][0].Key)
		if len(body) != manifest.ResultFiles[g][0].Size {
			t.Errorf("%s: %d bytes, manifest says %d", g, len(body), manifest.ResultFiles[g][0].Size)
		}
		var entries []map[string]any
		if err := json.Unmarshal(body, &entries); err != nil {
			t.Fatal(err)
		}
		counts[g] = len(entries)
		for _, e := range entries {
			for _, f := range []string{"ExecutionArn", "Input", "InputDetails", "Name", "StartDate", "StateMachineArn", "Status", "StopDate", "RedriveCount", "RedriveStatus"} {
				if _, ok := e[f]; !ok {
					t.Errorf("%s entry lacks %s: %v", g, f, e)
				}
			}
			if e["Status"] != g || (g == "FAILED") != (e["Error"] == "BadItem") {
				t.Errorf("%s entry %v", g, e)
			}
		}
	}
	if counts["SUCCEEDED"] != 8 || counts["FAILED"] != 2 {
		t.Errorf("results %v, want 8 succeeded and 2 failed", counts)
	}
	mr, err := svc.DescribeMapRun(t.Context(), out.MapRunArn)
	if err != nil {
		t.Fatal(err)
	}
	want := sfn.MapRunCounts{Succeeded: 8, Failed: 2, Total: 10, ResultsWritten: 10}
	if diff := cmp.Diff(want, mr.ItemCounts); diff != "" || mr.Status != sfn.StatusSucceeded || mr.MaxConcurrency != 3 || mr.ToleratedFailurePercentage != 30 {
		t.Errorf("map run %+v (item counts -want +got %s)", mr, diff)
	}
	runs, err := svc.ListMapRuns(t.Context(), ex.ExecutionArn)
	if err != nil || len(runs) != 1 || runs[0].MapRunArn != out.MapRunArn {
		t.Errorf("ListMapRuns = %+v, %v", runs, err)
	}
	children, err := svc.MapRunExecutions(t.Context(), out.MapRunArn)
	if err != nil || len(children) != 10 {
		t.Fatalf("children %d, %v; want 10", len(children), err)
	}
	cx, err := svc.ExecutionExecutor(children[0].ExecutionArn)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := cx.History(t.Context(), children[0].ExecutionArn)
	if err != nil || len(hist) == 0 || hist[0].Type != "ExecutionStarted" || children[0].MapRunArn != out.MapRunArn {
		t.Errorf("child history %v, %v", hist, err)
	}
	var item struct {
		Key   string
		Size  int
		Index int
	}
	if err := json.Unmarshal(children[0].Input, &item); err != nil || !strings.HasPrefix(item.Key, "photos/") || item.Size < 2 {
		t.Errorf("child input %s: %v", children[0].Input, err)
	}
	parent, _ := x.History(t.Context(), ex.ExecutionArn)
	var types []string
	for _, e := range parent {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "ExecutionStarted,MapStateEntered,MapStateStarted,MapRunStarted,MapRunSucceeded,MapStateSucceeded,MapStateExited,ExecutionSucceeded" {
		t.Errorf("parent history %s", got)
	}
}

// TestDistributedMapTolerance: failures over ToleratedFailureCount or
// ToleratedFailurePercentage fail the Map Run and the state with
// States.ExceedToleratedFailureThreshold; without either, the first
// failure fails the state with the child's error.
func TestDistributedMapTolerance(t *testing.T) {
	t.Parallel()
	items := `{"items":["ok","bad","ok","bad","ok","ok","ok","ok","ok","ok"]}`
	tests := []struct {
		fields, status, err string
	}{
		{`"ToleratedFailureCount":2`, sfn.StatusSucceeded, ""},
		{`"ToleratedFailureCount":1`, sfn.StatusFailed, "States.ExceedToleratedFailureThreshold"},
		{`"ToleratedFailurePercentage":20`, sfn.StatusSucceeded, ""},
		{`"ToleratedFailurePercentage":10`, sfn.StatusFailed, "States.ExceedToleratedFailureThreshold"},
		{`"MaxConcurrency":1`, sfn.StatusFailed, "BadItem"},
	}
	for _, tc := range tests {
		t.Run(tc.fields, func(t *testing.T) {
			t.Parallel()
			svc, x, _, _ := distributed(t, dmDef(`"ItemsPath":"$.items",`+tc.fields), nil)
			ex := runDM(t, x, items)
			if ex.Status != tc.status || ex.Error != tc.err {
				t.Errorf("got %s %s %s, want %s %s", ex.Status, ex.Error, ex.Cause, tc.status, tc.err)
			}
			runs, err := svc.ListMapRuns(t.Context(), ex.ExecutionArn)
			if err != nil || len(runs) != 1 {
				t.Fatalf("map runs %v %v", runs, err)
			}
			if want := map[bool]string{true: sfn.StatusSucceeded, false: sfn.StatusFailed}[tc.err == ""]; runs[0].Status != want {
				t.Errorf("map run %s, want %s", runs[0].Status, want)
			}
		})
	}
}

// TestDistributedMapBatchAndFiles: ItemBatcher (MaxItemsPerBatch,
// BatchInput) makes {"BatchInput","Items"} child inputs; s3:getObject
// readers parse JSON arrays, JSON Lines and CSV (FIRST_ROW or GIVEN
// headers, values as strings).
func TestDistributedMapBatchAndFiles(t *testing.T) {
	t.Parallel()
	objects := map[string]string{
		"items.json":  `[{"n":1},{"n":2},{"n":3},{"n":4},{"n":5},{"n":6},{"n":7}]`,
		"items.jsonl": "{\"n\":1}\n\n{\"n\":2}\n",
		"items.csv":   "name,size\nduck.jpg,10\n\"a, b.png\",20\n",
		"bare.csv":    "duck.jpg;10\n",
	}
	tests := []struct {
		name, reader, batcher, output string
	}{
		{"JSON in batches of 3", `"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"inbox","Key":"items.json"},"ReaderConfig":{"InputType":"JSON"}`,
			`,"ItemBatcher":{"MaxItemsPerBatch":3,"BatchInput":{"run.$":"$.run"}}`,
			`[{"done":{"BatchInput":{"run":7},"Items":[{"n":1},{"n":2},{"n":3}]}},{"done":{"BatchInput":{"run":7},"Items":[{"n":4},{"n":5},{"n":6}]}},{"done":{"BatchInput":{"run":7},"Items":[{"n":7}]}}]`},
		{"JSON by bytes", `"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"inbox","Key":"items.json"},"ReaderConfig":{"InputType":"JSON","MaxItems":4}`,
			`,"ItemBatcher":{"MaxInputBytesPerBatch":30}`,
			`[{"done":{"Items":[{"n":1},{"n":2}]}},{"done":{"Items":[{"n":3},{"n":4}]}}]`}, // {"Items":[{"n":1},{"n":2},{"n":3}]} is 31 bytes
		{"JSON Lines", `"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"inbox","Key":"items.jsonl"},"ReaderConfig":{"InputType":"JSONL"}`, ``,
			`[{"done":{"n":1}},{"done":{"n":2}}]`},
		{"CSV first row", `"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"inbox","Key":"items.csv"},"ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, ``,
			`[{"done":{"name":"duck.jpg","size":"10"}},{"done":{"name":"a, b.png","size":"20"}}]`},
		{"CSV given headers", `"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"inbox","Key":"bare.csv"},"ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["k","v"],"CSVDelimiter":"SEMICOLON"}`, ``,
			`[{"done":{"k":"duck.jpg","v":"10"}}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, x, _, _ := distributed(t, dmDef(`"ItemReader":{`+tc.reader+`}`+tc.batcher), objects)
			ex := runDM(t, x, `{"run":7}`)
			if ex.Status != sfn.StatusSucceeded || string(ex.Output) != tc.output {
				t.Errorf("got %s %s %s\n%s\nwant %s", ex.Status, ex.Error, ex.Cause, ex.Output, tc.output)
			}
		})
	}
	_, x, _, _ := distributed(t, dmDef(`"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"inbox","Key":"missing.json"},"ReaderConfig":{"InputType":"JSON"}}`), objects)
	if ex := runDM(t, x, `{}`); ex.Status != sfn.StatusFailed || ex.Error != "States.ItemReaderFailed" {
		t.Errorf("missing item file: %s %s %s", ex.Status, ex.Error, ex.Cause)
	}
}

// TestRedrive: RedriveExecution restarts a failed execution at the state
// that failed (the states before it are not run again) and, in a
// Distributed Map, re-runs only the child executions that did not
// succeed; the Map Run counts the redrive.
func TestRedrive(t *testing.T) {
	t.Parallel()
	def := `{"StartAt":"First","States":{
	  "First":{"Type":"Task","Resource":"arn:aws:states:::local:work","ResultPath":"$.first","Assign":{"seen":"yes"},"Next":"M"},
	  "M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,"ItemSelector":{"item.$":"$$.Map.Item.Value","seen.$":"$seen"},
	    "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"W",
	      "States":{"W":{"Type":"Task","Resource":"arn:aws:states:::local:flaky","End":true}}},"End":true}}}`
	svc, x, _, calls := distributed(t, def, nil)
	var broken atomic.Bool
	broken.Store(true)
	var flakyCalls atomic.Int32
	svc.Registry().Register("arn:aws:states:::local:flaky", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		flakyCalls.Add(1)
		if broken.Load() && bytes.Contains(in, []byte("broken")) {
			return nil, &namedError{"BadItem", "bad item"}
		}
		return in, nil
	}))
	ex := runDM(t, x, `{"items":["ok","broken","ok","ok","broken","ok"]}`)
	if ex.Status != sfn.StatusFailed || ex.Error != "BadItem" {
		t.Fatalf("first run: %s %s", ex.Status, ex.Error)
	}
	firstCalls, before := calls.Load(), flakyCalls.Load()
	runs, err := svc.ListMapRuns(t.Context(), ex.ExecutionArn)
	if err != nil || len(runs) != 1 || runs[0].Status != sfn.StatusFailed {
		t.Fatalf("map runs after the first run: %+v %v", runs, err)
	}
	succeeded := runs[0].ExecutionCounts.Succeeded
	broken.Store(false)
	if _, err := svc.Redrive(t.Context(), ex.ExecutionArn); err != nil {
		t.Fatal(err)
	}
	ex, err = x.Wait(t.Context(), ex.ExecutionArn)
	if err != nil || ex.Status != sfn.StatusSucceeded || ex.RedriveCount != 1 {
		t.Fatalf("after the redrive: %+v %v", ex, err)
	}
	if calls.Load() != firstCalls {
		t.Errorf("the state before the Map ran again (%d calls, %d before)", calls.Load(), firstCalls)
	}
	if rerun := int64(flakyCalls.Load() - before); rerun != 6-succeeded {
		t.Errorf("%d children ran in the redrive; %d of 6 had succeeded", rerun, succeeded)
	}
	if !strings.Contains(string(ex.Output), `{"item":"broken","seen":"yes"}`) {
		t.Errorf("output %s: the variables did not survive the redrive", ex.Output)
	}
	runs, _ = svc.ListMapRuns(t.Context(), ex.ExecutionArn)
	if len(runs) != 1 || runs[0].RedriveCount != 1 || runs[0].ItemCounts.Succeeded != 6 {
		t.Errorf("map runs %+v", runs)
	}
	hist, _ := x.History(t.Context(), ex.ExecutionArn)
	var redriven bool
	for _, e := range hist {
		redriven = redriven || e.Type == "ExecutionRedriven"
	}
	if !redriven || hist[len(hist)-1].Type != "ExecutionSucceeded" {
		t.Errorf("history has no ExecutionRedriven or does not end in success")
	}
	if _, err := svc.Redrive(t.Context(), ex.ExecutionArn); !errors.Is(err, sfn.ErrExecutionNotRedrivable) {
		t.Errorf("redrive of a success: %v, want ErrExecutionNotRedrivable", err)
	}
}
