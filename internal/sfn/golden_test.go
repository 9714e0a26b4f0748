package sfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/sfn"
)

var update = flag.Bool("update", false, "rewrite the expected output and history in testdata/history/*.txtar")

// archive is a txtar-style file: a comment, then "-- name --" sections.
type archive struct {
	comment string
	names   []string
	files   map[string]string
}

func parseArchive(b []byte) *archive {
	a := &archive{files: map[string]string{}}
	cur := ""
	var buf strings.Builder
	flush := func() {
		if cur == "" {
			a.comment = buf.String()
		} else {
			a.files[cur] = buf.String()
		}
		buf.Reset()
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		t := strings.TrimRight(line, "\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			flush()
			cur = strings.TrimSpace(t[3 : len(t)-3])
			a.names = append(a.names, cur)
			continue
		}
		buf.WriteString(line)
	}
	flush()
	return a
}

func (a *archive) format() []byte {
	var b bytes.Buffer
	b.WriteString(a.comment)
	for _, n := range a.names {
		fmt.Fprintf(&b, "-- %s --\n%s", n, a.files[n])
	}
	return b.Bytes()
}

func (a *archive) set(name, content string) {
	if _, ok := a.files[name]; !ok {
		a.names = append(a.names, name)
	}
	a.files[name] = content
}

// historyText prints events one per line, without timestamps.
func historyText(events []sfn.Event) string {
	var b strings.Builder
	for _, e := range events {
		d := ""
		if e.Details != nil {
			keys := make([]string, 0, len(e.Details))
			for k := range e.Details {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				v, _ := json.Marshal(e.Details[k])
				parts = append(parts, k+"="+string(v))
			}
			d = " " + strings.Join(parts, " ")
		}
		fmt.Fprintf(&b, "%d %d %s%s\n", e.ID, e.PreviousEventID, e.Type, d)
	}
	return b.String()
}

// TestHistoryGolden runs each testdata/history/*.txtar (definition.json,
// input.json) and compares the result and the history with the archive's
// output.json and history.txt. Tasks: "echo" returns its input, "boom"
// fails with error name "Boom" twice, then returns {"ok":true}.
func TestHistoryGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "history", "*.txtar"))
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := parseArchive(b)
			reg := sfn.NewRegistry()
			reg.RegisterFunction("echo", sfn.TaskFunc(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }))
			fails := 0
			reg.RegisterFunction("boom", sfn.TaskFunc(func(context.Context, json.RawMessage) (json.RawMessage, error) {
				if fails++; fails <= 2 {
					return nil, &namedError{"Boom", fmt.Sprintf("failure %d", fails)}
				}
				return json.RawMessage(`{"ok":true}`), nil
			}))
			x, err := sfn.New([]byte(a.files["definition.json"]), reg, sfn.Options{Clock: sfn.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			ex, err := x.RunSync(t.Context(), "golden", json.RawMessage(a.files["input.json"]))
			if err != nil {
				t.Fatal(err)
			}
			res := map[string]any{"status": ex.Status}
			if ex.Output != nil {
				res["output"] = json.RawMessage(ex.Output)
			}
			if ex.HasError {
				res["error"] = ex.Error
			}
			if ex.HasCause {
				res["cause"] = ex.Cause
			}
			out, _ := json.MarshalIndent(res, "", "  ")
			events, err := x.History(t.Context(), ex.ExecutionArn)
			if err != nil {
				t.Fatal(err)
			}
			gotOut, gotHist := string(out)+"\n", historyText(events)
			if *update {
				a.set("output.json", gotOut)
				a.set("history.txt", gotHist)
				if err := os.WriteFile(file, a.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(a.files["output.json"], gotOut); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(a.files["history.txt"], gotHist); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}
