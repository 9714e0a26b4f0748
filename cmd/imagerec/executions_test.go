package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/sfn"
)

// TestExecutionsListDamaged: `executions list` keeps working with an
// unreadable execution file (named on stderr, left in place) and counts
// the quarantined ones.
func TestExecutionsListDamaged(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	dir := filepath.Join(data, "executions")
	store, err := sfn.NewDirStore(dir, sfn.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"good", "bad"} {
		rec := &sfn.Record{Execution: sfn.Execution{ExecutionArn: "arn:aws:states:us-east-1:000000000000:execution:imagerec:" + name,
			Name: name, Status: sfn.StatusSucceeded, StartDate: time.Unix(1700000000, 0), Input: json.RawMessage(`{}`)}}
		if err := store.Put(rec); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.Truncate(bad, 30); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, sfn.QuarantineDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sfn.QuarantineDir, "old.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "executions", "list", "--data", data)
	if code != 0 || !strings.Contains(stdout, "good") || strings.Contains(stdout, "bad") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, bad+" is unreadable") || !strings.Contains(stderr, "1 quarantined execution file(s)") {
		t.Errorf("stderr does not name the damage: %s", stderr)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the read-only command moved the file: %v", err)
	}
}
