package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	cache := t.TempDir()
	getenv := func(k string) string {
		if k == "IMAGEREC_CACHE" {
			return cache
		}
		return ""
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"packages":[],"photos":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join("..", "..", "testdata", "devset", "manifest.json")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		errHas string
	}{
		{"bad flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"missing manifest", []string{"-manifest", filepath.Join(t.TempDir(), "none.json"), "-check"}, 1, "read manifest"},
		{"invalid manifest", []string{"-manifest", bad, "-check"}, 1, "no photos"},
		// -check downloads nothing: an empty cache lists every photo.
		{"check empty cache", []string{"-manifest", manifest, "-check"}, 1, filepath.Join(cache, "devset")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, getenv, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.errHas) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.errHas)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(cache, "devset")); len(entries) != 0 {
		t.Errorf("-check wrote %d files", len(entries))
	}
}
