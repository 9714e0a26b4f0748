package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/sfn"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Logger: slog.New(slog.DiscardHandler)}
	code := run(t.Context(), env, args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatesValidate(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := runCmd(t, "states", "validate", filepath.Join("..", "..", "deploy", "statemachine.asl.json"))
	if code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("deploy definition: exit %d, %q", code, out)
	}
	bad := writeFile(t, dir, "bad.json", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`)
	code, _, stderr := runCmd(t, "states", "validate", bad)
	if code != 1 || !strings.Contains(stderr, `state "A".Next: state "B" does not exist`) {
		t.Errorf("bad definition: exit %d, stderr %q", code, stderr)
	}
}

func TestStatesRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, def, input string
		code             int
		want             sfn.SyncResult
	}{
		{"succeeds", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"End":true}}}`, `{"n":41}`, 0,
			sfn.SyncResult{Status: "SUCCEEDED", Output: ptr(`{"n":42}`)}},
		{"fails", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Nope","Cause":"because"}}}`, `{}`, 1,
			sfn.SyncResult{Status: "FAILED", Error: ptr("Nope"), Cause: ptr("because")}},
		{"unregistered task", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`, `{}`, 1,
			sfn.SyncResult{Status: "FAILED", Error: ptr("States.TaskFailed"), Cause: ptr(`no local task is registered for resource "arn:aws:states:::sqs:sendMessage"`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := writeFile(t, dir, tc.name+".def.json", tc.def)
			in := writeFile(t, dir, tc.name+".in.json", tc.input)
			code, out, stderr := runCmd(t, "states", "run", "--definition", def, "--input", in)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			var got sfn.SyncResult
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tc.want)
			if string(gb) != string(wb) {
				t.Errorf("got %s, want %s", gb, wb)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestExecutionsCommands(t *testing.T) {
	data := t.TempDir()
	store, err := sfn.NewDirStore(filepath.Join(data, "executions"), sfn.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := sfn.New([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"done","End":true}}}`), nil, sfn.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := x.Start(t.Context(), "upload-1", json.RawMessage(`{"k":"v"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Wait(t.Context(), arn); err != nil {
		t.Fatal(err)
	}
	x.Close()

	code, out, stderr := runCmd(t, "executions", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "upload-1") || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("list: exit %d, %q %q", code, out, stderr)
	}
	code, out, _ = runCmd(t, "executions", "describe", "upload-1", "--data", data)
	var ex sfn.Execution
	if code != 0 || json.Unmarshal([]byte(out), &ex) != nil || ex.ExecutionArn != arn || string(ex.Output) != `"done"` {
		t.Errorf("describe: exit %d, %q", code, out)
	}
	code, out, _ = runCmd(t, "executions", "history", "--data", data, arn)
	if code != 0 || !strings.Contains(out, `"PassStateEntered"`) || !strings.Contains(out, `"executionSucceededEventDetails"`) {
		t.Errorf("history: exit %d, %q", code, out)
	}
	code, _, stderr = runCmd(t, "executions", "describe", "nope", "--data", data)
	if code != 1 || !strings.Contains(stderr, "no execution") {
		t.Errorf("unknown execution: exit %d, %q", code, stderr)
	}
}
