package pipeline_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/pipeline"
	"github.com/imagerec/imagerec/internal/vision"
)

// TestRecognizeFailureMatchesStore: the error document `imagerec
// recognize` builds for a failed image (RecognizeFailure) is the one the
// pipeline stores when the Recognize task fails the same way and Store
// gets the error the executor caught.
func TestRecognizeFailureMatchesStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"image error", &vision.Error{Code: vision.CodeInvalidImageFormat, Message: "not an image", Err: errors.New("the file is a PDF document")},
			vision.CodeInvalidImageFormat, "not an image: the file is a PDF document"},
		{"wrapped image error", fmt.Errorf("engine: %w", vision.Errorf(vision.CodeInvalidParameter, "the image is 10x10; sides must be at least 80")),
			vision.CodeInvalidParameter, "the image is 10x10; sides must be at least 80"},
		{"anything else", errors.New("session busy"), "InternalServerError", "TransientError: session busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := pipeline.Source{Bucket: "uploads", Key: "x.png", ETag: "e"}
			cli := pipeline.NewErrorDocument(src, pipeline.RecognizeFailure(tc.err), "arn:x")
			if cli.Error != tc.wantCode || cli.Message != tc.wantMsg {
				t.Errorf("document %+v, want %s %q", cli, tc.wantCode, tc.wantMsg)
			}

			tasks, objs := setup(t, fakeRecognizer{err: tc.err})
			put(t, objs, "x.png", pngBytes(t))
			_, err := tasks.Recognize(t.Context(), pipeline.RecognizeInput{Source: src, ResultBucket: "results"})
			if err == nil {
				t.Fatal("Recognize succeeded")
			}
			// What the executor records: the error's name and message.
			caught := pipeline.Failure{Error: pipeline.ErrorName(err), Cause: err.Error()}
			if _, err := tasks.Store(t.Context(), pipeline.StoreInput{Source: src, ResultBucket: "results", Failure: &caught, Execution: "arn:x"}); err != nil {
				t.Fatal(err)
			}
			var stored pipeline.ErrorDocument
			if err := json.Unmarshal(read(t, objs, "results", "x.png.error.json"), &stored); err != nil {
				t.Fatal(err)
			}
			// The task adds where it failed to a transient error's message.
			if tc.wantCode == "InternalServerError" {
				if want := "TransientError: recognize s3://uploads/x.png: session busy"; stored.Message != want {
					t.Errorf("stored message %q, want %q", stored.Message, want)
				}
				stored.Message = cli.Message
			}
			if diff := cmp.Diff(cli, stored); diff != "" {
				t.Errorf("stored document differs from the CLI's (-cli +stored):\n%s", diff)
			}
		})
	}
}
