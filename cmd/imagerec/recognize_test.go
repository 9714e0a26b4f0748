package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/onnx"
)

func recognizeEnv() (*Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: os.Getenv, Logger: slog.New(slog.DiscardHandler),
	}, &out, &errb
}

// runRecognize runs the subcommand in-process and skips the test when the
// models are not installed (outside CI).
func runRecognize(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env, out, errb := recognizeEnv()
	err = cmdRecognize(t.Context(), env, args)
	if errors.Is(err, onnx.ErrModelsMissing) {
		citest.Skipf(t, "needs the installed models: %v", err)
	}
	return out.String(), errb.String(), err
}

func recognizePhoto(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecognizeCommandArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no input", nil, "Usage: imagerec recognize"},
		{"bad feature", []string{"--features", "labels,colour", "x.jpg"}, `unknown feature "colour"`},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.jpg")}, "no such file"},
		{"empty dir", []string{t.TempDir()}, "no image files found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, errb := recognizeEnv()
			err := cmdRecognize(t.Context(), env, tc.args)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error() + errb.String(); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to mention %q", msg, tc.want)
			}
		})
	}
}

func TestRecognizeCommandStdout(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dog.jpg")
	if err := os.WriteFile(p, recognizePhoto(t, "dog.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runRecognize(t, "--features", "labels", "--max-labels", "5", p)
	if err != nil {
		t.Fatal(err)
	}
	var res vision.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not a result document: %v\n%s", err, out)
	}
	if len(res.Labels) == 0 || len(res.Labels) > 5 {
		t.Errorf("%d labels, want 1-5", len(res.Labels))
	}
	if res.FaceDetails != nil || res.ModerationLabels != nil {
		t.Errorf("features not asked for were run")
	}
}

func TestRecognizeCommandOutDir(t *testing.T) {
	in := t.TempDir()
	for name, data := range map[string][]byte{
		"dog.jpg":          recognizePhoto(t, "dog.jpg"),
		"sub/person.jpg":   recognizePhoto(t, "person.jpg"),
		"broken.jpg":       []byte("this is not a JPEG"),
		"notes.txt":        []byte("ignored: not an image extension"),
		".hidden/skip.jpg": []byte("ignored: hidden"),
	} {
		p := filepath.Join(in, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "results")
	// A stale success document for the broken file must be replaced.
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "broken.jpg.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := runRecognize(t, "--out", out, "--workers", "2", "--features", "labels,moderation", in)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %v, want exit status 1 (one input failed)\nstderr: %s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing with --out", stdout)
	}
	if !strings.Contains(stderr, "3 of 3 images processed, 1 failed") {
		t.Errorf("stderr lacks the failure count: %q", stderr)
	}

	var got []string
	err = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "broken.jpg.error.json dog.jpg.json sub/person.jpg.json"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("output files: %s, want %s", s, want)
	}

	var edoc pipeline.ErrorDocument
	readJSON(t, filepath.Join(out, "broken.jpg.error.json"), &edoc)
	if edoc.Error != vision.CodeInvalidImageFormat || edoc.Source.Bucket != "" || !strings.HasSuffix(edoc.Source.Key, "broken.jpg") || edoc.Source.Size == 0 ||
		edoc.Message == "" || strings.Contains(edoc.Message, "Exception") {
		t.Errorf("error document = %+v", edoc)
	}
	var res vision.Result
	readJSON(t, filepath.Join(out, "sub", "person.jpg.json"), &res)
	found := false
	for _, l := range res.Labels {
		found = found || l.Name == "Person"
	}
	if !found || res.ModerationLabels == nil {
		t.Errorf("person.jpg result: labels %v, moderation %v", res.Labels, res.ModerationLabels)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestCollectInputsNames(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/x.jpg", "b/x.jpg", "c/y.png", "c/z.txt", "c/.h/w.jpg"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := collectInputs([]string{filepath.Join(dir, "a", "x.jpg"), filepath.Join(dir, "b", "x.jpg"), filepath.Join(dir, "c")})
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, in := range got {
		rels = append(rels, filepath.ToSlash(in.rel))
	}
	if len(rels) != 3 || rels[0] != "x.jpg" || !strings.HasSuffix(rels[1], "b/x.jpg") || rels[1] == "x.jpg" || rels[2] != "y.png" {
		t.Errorf("result names %v", rels)
	}
}

// TestRecognizeErrorDocumentGolden pins the error document `imagerec
// recognize` prints for a file it cannot read: the pipeline's error
// document, with a Source that has no bucket. It needs no models.
func TestRecognizeErrorDocumentGolden(t *testing.T) {
	env, out, errb := recognizeEnv()
	in := input{path: filepath.Join("testdata", "no-such-photo.jpg"), rel: "no-such-photo.jpg"}
	doc, ok := recognizeFile(t.Context(), nil, in.path, vision.Options{})
	if ok {
		t.Fatal("a missing file was recognised")
	}
	if err := emit(env, "", in, doc, ok); err != nil {
		t.Fatal(err)
	}
	if want := "imagerec recognize: testdata/no-such-photo.jpg: open testdata/no-such-photo.jpg: no such file or directory\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	goldentest.Compare(t, filepath.Join("testdata", "recognize-missing.error.golden.json"), out.Bytes())
}
