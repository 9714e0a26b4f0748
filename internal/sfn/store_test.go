package sfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/sfn"
)

// damage is one way an execution file gets spoiled from outside.
type damage struct {
	name string
	// spoil rewrites the file's bytes.
	spoil func(b []byte) []byte
	// salvaged: the execution's description survives.
	salvaged bool
}

var damages = []damage{
	{"truncated in the history", func(b []byte) []byte { return b[:bytes.Index(b, []byte(`"history"`))+12] }, true},
	{"truncated in the execution", func(b []byte) []byte { return b[:40] }, false},
	{"empty", func([]byte) []byte { return nil }, false},
	{"bytes flipped in the history", func(b []byte) []byte {
		i := bytes.Index(b, []byte(`"history"`)) + 12
		for j := i; j < i+16 && j < len(b); j++ {
			b[j] ^= 0xff
		}
		return b
	}, true},
	{"JSON but not a record", func([]byte) []byte { return []byte(`{"something":"else"}`) }, false},
}

func storedRecord(t *testing.T, store *sfn.DirStore, name, status string) string {
	t.Helper()
	arn := "arn:aws:states:us-east-1:123456789012:execution:imagerec:" + name
	rec := &sfn.Record{
		Execution: sfn.Execution{ExecutionArn: arn, StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:imagerec", Name: name, Status: status, StartDate: time.Unix(1700000000, 0).UTC(), Input: json.RawMessage(`{"k":1}`)},
		History:   []sfn.Event{{ID: 1, Type: "ExecutionStarted"}, {ID: 2, Type: "PassStateEntered"}},
	}
	if err := store.Put(rec); err != nil {
		t.Fatal(err)
	}
	return arn
}

func spoilFile(t *testing.T, dir, name string, spoil func([]byte) []byte) string {
	t.Helper()
	path := filepath.Join(dir, name+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, spoil(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDirStoreQuarantine: an unreadable file never stops List or Get; the
// owning store moves it to quarantine/ with an ERROR line naming it, and
// writes back the execution's description when it can be read.
func TestDirStoreQuarantine(t *testing.T) {
	t.Parallel()
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var logs bytes.Buffer
			store, err := sfn.NewDirStore(dir, sfn.DirOptions{Quarantine: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			storedRecord(t, store, "good", sfn.StatusSucceeded)
			arn := storedRecord(t, store, "bad", sfn.StatusRunning)
			path := spoilFile(t, dir, "bad", d.spoil)

			recs, err := store.List()
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			want := 1
			if d.salvaged {
				want = 2
			}
			if len(recs) != want {
				t.Fatalf("List returned %d records, want %d", len(recs), want)
			}
			if n, err := store.Quarantined(); n != 1 || err != nil {
				t.Errorf("Quarantined = %d, %v; want 1", n, err)
			}
			if _, err := os.Stat(filepath.Join(dir, sfn.QuarantineDir, "bad.json")); err != nil {
				t.Errorf("file not in quarantine: %v", err)
			}
			line := logs.String()
			if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, path) || !strings.Contains(line, "quarantine") {
				t.Errorf("log does not name the file at ERROR:\n%s", line)
			}
			rec, err := store.Get(arn)
			if d.salvaged {
				if err != nil || rec.Execution.Status != sfn.StatusRunning || string(rec.Execution.Input) != `{"k":1}` || len(rec.History) != 0 {
					t.Errorf("salvaged record: %+v, %v", rec, err)
				}
			} else if !errors.Is(err, sfn.ErrExecutionDoesNotExist) {
				t.Errorf("Get of a quarantined execution: %v, want ErrExecutionDoesNotExist", err)
			}
			// A second List finds nothing more to do.
			logs.Reset()
			if recs, err := store.List(); err != nil || len(recs) != want || logs.Len() != 0 {
				t.Errorf("second List: %d records, %v, logs %q", len(recs), err, logs.String())
			}
		})
	}
}

// TestDirStoreReadOnlySkips: without Quarantine (read-only tools) an
// unreadable file is skipped and named, and left where it is.
func TestDirStoreReadOnlySkips(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, err := sfn.NewDirStore(dir, sfn.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storedRecord(t, store, "good", sfn.StatusSucceeded)
	arn := storedRecord(t, store, "bad", sfn.StatusSucceeded)
	path := spoilFile(t, dir, "bad", damages[0].spoil)
	recs, bad, err := store.ListReport()
	if err != nil || len(recs) != 1 || len(bad) != 1 || bad[0] != path {
		t.Fatalf("ListReport = %d records, unreadable %v, %v", len(recs), bad, err)
	}
	var ce *sfn.CorruptRecordError
	if _, err := store.Get(arn); !errors.As(err, &ce) || ce.Path != path {
		t.Errorf("Get = %v, want a CorruptRecordError naming %s", err, path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("read-only store moved the file: %v", err)
	}
}

// TestRecoverSalvagedExecution: a RUNNING execution whose file was
// truncated is re-run from its recovered input; one whose description is
// lost can be started again under its name (the queue redelivers it).
func TestRecoverSalvagedExecution(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, _ := sfn.NewDirStore(dir, sfn.DirOptions{Quarantine: true})
	reg := sfn.NewRegistry()
	reg.RegisterFunction("work", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }))
	def := []byte(taskDef("", ""))
	x, err := sfn.New(def, reg, sfn.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	salvaged := storedRecord(t, store, "salvaged", sfn.StatusRunning)
	spoilFile(t, dir, "salvaged", damages[0].spoil)
	storedRecord(t, store, "lost", sfn.StatusRunning)
	spoilFile(t, dir, "lost", damages[1].spoil)
	arns, err := x.Recover(t.Context())
	if err != nil || len(arns) != 1 || arns[0] != salvaged {
		t.Fatalf("Recover = %v, %v; want the salvaged execution", arns, err)
	}
	if ex, err := x.Wait(t.Context(), salvaged); err != nil || ex.Status != sfn.StatusSucceeded {
		t.Errorf("salvaged execution: %+v, %v", ex, err)
	}
	arn, err := x.Start(t.Context(), "lost", json.RawMessage(`{"k":1}`))
	if err != nil {
		t.Fatalf("start the lost execution again: %v", err)
	}
	if ex, err := x.Wait(t.Context(), arn); err != nil || ex.Status != sfn.StatusSucceeded {
		t.Errorf("re-started execution: %+v, %v", ex, err)
	}
}

// TestDirStoreFilesArePrivate: execution files are 0600 in a 0700
// directory, whatever the process umask.
func TestDirStoreFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "executions")
	store, err := sfn.NewDirStore(dir, sfn.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storedRecord(t, store, "one", sfn.StatusSucceeded)
	des, err := os.ReadDir(dir)
	if err != nil || len(des) == 0 {
		t.Fatalf("%v, %v", des, err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
	for _, d := range des {
		fi, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", d.Name(), fi.Mode().Perm())
		}
	}
}
