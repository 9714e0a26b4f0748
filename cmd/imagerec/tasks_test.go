package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/config"
	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/pipeline"
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

// TestSearchFacesRefusesOlderModel: serve --face-collection with a
// collection made under another face model version stops at start, naming
// both versions, instead of failing every upload.
func TestSearchFacesRefusesOlderModel(t *testing.T) {
	dir := t.TempDir()
	old, err := facecollection.Open(dir, facecollection.Options{FaceModelVersion: "faceres@x/descriptor-1", Dim: 1024, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Create("family"); err != nil {
		t.Fatal(err)
	}
	faces, err := facecollection.Open(dir, facecollection.Options{FaceModelVersion: "face_recognition@y/descriptor-2", Dim: 128, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	var tasks pipeline.Tasks
	err = searchFaces(&tasks, faces, config.Config{FaceCollection: "family"}, log)
	if !errors.Is(err, facecollection.ErrModelVersion) || !strings.Contains(err.Error(), "faceres@x/descriptor-1") || !strings.Contains(err.Error(), "face_recognition@y/descriptor-2") || tasks.Faces != nil {
		t.Errorf("old collection: %v", err)
	}
	if err := searchFaces(&tasks, faces, config.Config{FaceCollection: "family2"}, log); err != nil || tasks.Faces == nil {
		t.Errorf("new collection: %v", err)
	}
}
