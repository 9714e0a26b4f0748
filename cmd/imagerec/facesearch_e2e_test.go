package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// faceSearchDoc is the part of a result document FaceSearch adds.
type faceSearchDoc struct {
	FaceDetails []json.RawMessage
	FaceSearch  *struct {
		CollectionID string `json:"CollectionId"`
		Faces        []struct {
			SearchedFaceConfidence float64
			FaceMatches            []struct {
				Similarity float64
				Face       struct {
					FaceID          string `json:"FaceId"`
					ExternalImageID string `json:"ExternalImageId"`
				}
			}
			FaceModelVersion string
		}
		IndexedFaces []struct {
			FaceID          string `json:"FaceId"`
			ExternalImageID string `json:"ExternalImageId"`
		}
	}
}

// TestServeFaceSearch runs `imagerec serve --face-collection family
// --index-faces` on real photos with the real models: bar55.jpg and
// bar55-2.jpg show the same two people (testdata/images/README.md). The
// second upload's document finds them in the first's faces. Then the
// collection is deleted while serving: the next upload fails with
// ResourceNotFoundException and an error document that says the image is
// kept, and once the collection is back `imagerec backfill --force`
// recognises it.
func TestServeFaceSearch(t *testing.T) {
	needModels(t)
	s := startServer(t, t.TempDir(), "--face-collection", "family", "--index-faces")
	c, ctx := s.client(), t.Context()
	rek := rekognition.New(rekognition.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("imagerec", "imagerec-local-secret", ""),
	})
	upload := func(key, photoName string) (string, faceSearchDoc, []byte) {
		t.Helper()
		putObject(ctx, t, c, key, photo(t, photoName))
		name, body := waitDocument(ctx, t, c, key, 3*time.Minute)
		var doc faceSearchDoc
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		return name, doc, body
	}

	name, first, body := upload("evening/bar55.jpg", "bar55.jpg")
	if name != "evening/bar55.jpg.json" || first.FaceSearch == nil {
		t.Fatalf("first upload: %s without FaceSearch: %.2000s", name, body)
	}
	if fs := first.FaceSearch; fs.CollectionID != "family" || len(fs.Faces) != len(first.FaceDetails) || len(fs.IndexedFaces) < 2 {
		t.Fatalf("first upload's FaceSearch: %d searches for %d faces, %d indexed (want both people): %.2000s", len(fs.Faces), len(first.FaceDetails), len(fs.IndexedFaces), body)
	}
	for _, f := range first.FaceSearch.Faces {
		if len(f.FaceMatches) != 0 || !strings.Contains(f.FaceModelVersion, "face_recognition") {
			t.Errorf("first upload matched an empty collection: %+v", f)
		}
	}
	for _, f := range first.FaceSearch.IndexedFaces {
		if f.ExternalImageID != "evening:bar55.jpg" {
			t.Errorf("indexed with ExternalImageId %q, want the key evening:bar55.jpg", f.ExternalImageID)
		}
	}

	name, second, body := upload("evening/bar55-2.jpg", "bar55-2.jpg")
	if name != "evening/bar55-2.jpg.json" || second.FaceSearch == nil {
		t.Fatalf("second upload: %s without FaceSearch: %.2000s", name, body)
	}
	matched := 0
	for _, f := range second.FaceSearch.Faces {
		for _, m := range f.FaceMatches {
			if m.Face.ExternalImageID != "evening:bar55.jpg" || m.Similarity < 80 {
				t.Errorf("match %+v: want a face of evening:bar55.jpg at Similarity 80 or more", m)
			}
			matched++
			t.Logf("same person in another photo: Similarity %.1f", m.Similarity)
		}
	}
	if matched == 0 {
		t.Fatalf("the second photo of the same people matched nothing: %.3000s", body)
	}
	// The collection holds both uploads' faces, as ListFaces shows.
	faces, err := rek.ListFaces(ctx, &rekognition.ListFacesInput{CollectionId: aws.String("family")})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(first.FaceSearch.IndexedFaces) + len(second.FaceSearch.IndexedFaces); len(faces.Faces) != want {
		t.Errorf("ListFaces: %d faces, want the %d indexed", len(faces.Faces), want)
	}

	// The collection is deleted while serving.
	if _, err := rek.DeleteCollection(ctx, &rekognition.DeleteCollectionInput{CollectionId: aws.String("family")}); err != nil {
		t.Fatal(err)
	}
	name, _, body = upload("late.jpg", "bar55.jpg")
	if name != "late.jpg.error.json" {
		t.Fatalf("upload after the collection was deleted: %s: %.1000s", name, body)
	}
	code, msg := errorDoc(t, body)
	if code != "ResourceNotFoundException" || !strings.Contains(msg, "family") || !strings.Contains(msg, "the image is kept") {
		t.Errorf("error document: %s: %s", code, msg)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testUpload), Key: aws.String("late.jpg")}); err != nil {
		t.Errorf("the upload is gone: %v", err)
	}

	// Nothing is lost: with the collection back, the backfill recognises it.
	if _, err := rek.CreateCollection(ctx, &rekognition.CreateCollectionInput{CollectionId: aws.String("family")}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "backfill", "--force", "--prefix", "late.jpg", "--endpoint-url", s.endpoint)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testResult), Key: aws.String("late.jpg.json")})
	if err != nil {
		t.Fatalf("no result document after the backfill: %v", err)
	}
	defer got.Body.Close()
	var late faceSearchDoc
	if err := json.NewDecoder(got.Body).Decode(&late); err != nil || late.FaceSearch == nil || len(late.FaceSearch.IndexedFaces) < 2 {
		t.Errorf("late.jpg after the backfill: %+v, %v", late.FaceSearch, err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testResult), Key: aws.String("late.jpg.error.json")}); err == nil {
		t.Error("the error document is still there beside the result")
	}
}

// TestServeFaceCollectionFlags: bad --face-collection settings stop
// imagerec serve at start-up with a message that names the flag.
func TestServeFaceCollectionFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"invalid id", []string{"--face-collection", "my/family"}, `face-collection: "my/family" is not a collection id`},
		{"index without a collection", []string{"--index-faces"}, "index-faces needs --face-collection"},
		{"without the faces feature", []string{"--face-collection", "family", "--features", "labels"}, "face-collection needs the faces feature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--cache", t.TempDir()}, tt.args...)
			cmd := exec.Command(binary(t), args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if err == nil || !strings.Contains(out.String(), tt.want) {
				t.Errorf("serve %s: %v, want a failure saying %q:\n%s", strings.Join(tt.args, " "), err, tt.want, out.String())
			}
		})
	}
}

// TestStatesRunSearchesFaces: `states run` runs the recognize task as
// serve does, face search included (IMAGEREC_FACE_COLLECTION,
// IMAGEREC_INDEX_FACES).
func TestStatesRunSearchesFaces(t *testing.T) {
	needModels(t)
	data := t.TempDir()
	s := startServer(t, data)
	putObject(t.Context(), t, s.client(), "bar55.jpg", photo(t, "bar55.jpg"))
	waitDocument(t.Context(), t, s.client(), "bar55.jpg", 3*time.Minute)
	s.stop()

	in := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(in, []byte(`{"Source":{"Bucket":"image-upload-bucket","Key":"bar55.jpg"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "states", "run", "--definition", filepath.Join(repoRoot(t), "deploy", "statemachine.asl.json"), "--input", in)
	cmd.Env = append(os.Environ(), "IMAGEREC_DATA="+data, "IMAGEREC_FACE_COLLECTION=family", "IMAGEREC_INDEX_FACES=true")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"status":"SUCCEEDED"`) {
		t.Fatalf("states run: %v\n%s", err, out)
	}

	s = startServer(t, data)
	_, body := waitDocument(t.Context(), t, s.client(), "bar55.jpg", time.Minute)
	var doc faceSearchDoc
	if err := json.Unmarshal(body, &doc); err != nil || doc.FaceSearch == nil || len(doc.FaceSearch.IndexedFaces) < 2 {
		t.Fatalf("document after states run: %v %.1500s", err, body)
	}
	rek := rekognition.New(rekognition.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("imagerec", "imagerec-local-secret", ""),
	})
	faces, err := rek.ListFaces(t.Context(), &rekognition.ListFacesInput{CollectionId: aws.String("family")})
	if err != nil || len(faces.Faces) != len(doc.FaceSearch.IndexedFaces) || aws.ToString(faces.Faces[0].ExternalImageId) != "bar55.jpg" {
		t.Errorf("ListFaces after states run: %+v, %v", faces, err)
	}
}
