package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatesRunUsesPipelineTasks runs the shared definition with `states
// run`: its Task states resolve to the same pipeline tasks as in serve, and
// a missing object ends in the error path with Rekognition's code.
func TestStatesRunUsesPipelineTasks(t *testing.T) {
	needModels(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	if err := os.WriteFile(in, []byte(`{"Source":{"Bucket":"image-upload-bucket","Key":"missing.jpg"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "states", "run", "--definition", filepath.Join(repoRoot(t), "deploy", "statemachine.asl.json"), "--input", in)
	cmd.Env = append(os.Environ(), "IMAGEREC_DATA="+filepath.Join(dir, "data"))
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v), want 1: %s", code, err, out.String())
	}
	if !strings.Contains(out.String(), `"error":"InvalidS3ObjectException"`) {
		t.Errorf("output %s", out.String())
	}
}
