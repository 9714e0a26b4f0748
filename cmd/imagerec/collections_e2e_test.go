package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	rektypes "github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/citest"
)

// TestServeFaceCollections runs Rekognition's face collection operations
// against `imagerec serve` with the SDK, on real photos and the real
// models: bar55.jpg and bar55-2.jpg show the same two people (see
// testdata/images/README.md). The collection must survive a SIGKILL of
// the server and a restart on the same data directory.
func TestServeFaceCollections(t *testing.T) {
	needModels(t)
	data := t.TempDir()
	s := startServer(t, data)
	client := func(s *testServer) *rekognition.Client {
		return rekognition.New(rekognition.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("imagerec", "imagerec-local-secret", ""),
		})
	}
	c, ctx := client(s), t.Context()
	bar, bar2, astronaut := photo(t, "bar55.jpg"), photo(t, "bar55-2.jpg"), photo(t, "astronaut.jpg")

	created, err := c.CreateCollection(ctx, &rekognition.CreateCollectionInput{CollectionId: aws.String("family")})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(created.FaceModelVersion); !strings.Contains(v, "face_recognition") {
		t.Errorf("FaceModelVersion %q", v)
	}
	putObject(ctx, t, s.client(), "bar55.jpg", bar)
	idx, err := c.IndexFaces(ctx, &rekognition.IndexFacesInput{
		CollectionId:    aws.String("family"),
		Image:           &rektypes.Image{S3Object: &rektypes.S3Object{Bucket: aws.String(testUpload), Name: aws.String("bar55.jpg")}},
		ExternalImageId: aws.String("bar55.jpg"),
		MaxFaces:        aws.Int32(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.FaceRecords) != 2 {
		t.Fatalf("IndexFaces indexed %d faces, want the 2 people (unindexed: %+v)", len(idx.FaceRecords), idx.UnindexedFaces)
	}

	search := func(c *rekognition.Client) *rekognition.SearchFacesByImageOutput {
		t.Helper()
		out, err := c.SearchFacesByImage(ctx, &rekognition.SearchFacesByImageInput{CollectionId: aws.String("family"), Image: &rektypes.Image{Bytes: bar2}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The largest face of the other photo is one of the two people: it
	// matches exactly one indexed face at the default threshold (80).
	found := search(c)
	if len(found.FaceMatches) != 1 || aws.ToString(found.FaceMatches[0].Face.ExternalImageId) != "bar55.jpg" {
		t.Fatalf("SearchFacesByImage = %+v", found.FaceMatches)
	}
	t.Logf("same person in another photo: Similarity %.1f", aws.ToFloat32(found.FaceMatches[0].Similarity))
	matched := aws.ToString(found.FaceMatches[0].Face.FaceId)

	// The two people of one photo do not match each other.
	byID, err := c.SearchFaces(ctx, &rekognition.SearchFacesInput{CollectionId: aws.String("family"), FaceId: aws.String(matched)})
	if err != nil || len(byID.FaceMatches) != 0 {
		t.Errorf("SearchFaces (the other person) = %+v, %v", byID, err)
	}
	if none, err := c.SearchFacesByImage(ctx, &rekognition.SearchFacesByImageInput{CollectionId: aws.String("family"), Image: &rektypes.Image{Bytes: astronaut}}); err != nil || len(none.FaceMatches) != 0 {
		t.Errorf("astronaut matched: %+v, %v", none, err)
	}

	cmp, err := c.CompareFaces(ctx, &rekognition.CompareFacesInput{SourceImage: &rektypes.Image{Bytes: bar2}, TargetImage: &rektypes.Image{Bytes: bar}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.FaceMatches) != 1 || len(cmp.UnmatchedFaces) < 1 {
		t.Errorf("CompareFaces: %d matches, %d unmatched; want 1 and at least 1", len(cmp.FaceMatches), len(cmp.UnmatchedFaces))
	}
	_, err = c.CompareFaces(ctx, &rekognition.CompareFacesInput{SourceImage: &rektypes.Image{Bytes: photo(t, "dog.jpg")}, TargetImage: &rektypes.Image{Bytes: bar}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" {
		t.Errorf("CompareFaces without a source face: %v", err)
	}

	// SIGKILL, restart on the same data: the collection is still there.
	s.kill()
	s2 := startServer(t, data)
	c2 := client(s2)
	desc, err := c2.DescribeCollection(ctx, &rekognition.DescribeCollectionInput{CollectionId: aws.String("family")})
	if err != nil || aws.ToInt64(desc.FaceCount) != 2 {
		t.Fatalf("after SIGKILL: DescribeCollection = %+v, %v", desc, err)
	}
	if again := search(c2); len(again.FaceMatches) != 1 || aws.ToString(again.FaceMatches[0].Face.FaceId) != matched {
		t.Errorf("after restart the search finds %+v", again.FaceMatches)
	}
	del, err := c2.DeleteFaces(ctx, &rekognition.DeleteFacesInput{CollectionId: aws.String("family"), FaceIds: []string{matched}})
	if err != nil || len(del.DeletedFaces) != 1 {
		t.Errorf("DeleteFaces = %+v, %v", del, err)
	}
	if _, err := c2.DeleteCollection(ctx, &rekognition.DeleteCollectionInput{CollectionId: aws.String("family")}); err != nil {
		t.Fatal(err)
	}
	_, err = c2.DescribeCollection(ctx, &rekognition.DescribeCollectionInput{CollectionId: aws.String("family")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("deleted collection: %v", err)
	}
}

// TestServeFaceCollectionsAWSCLI runs the commands with the aws
// CLI: create, index from S3, search by image bytes, list, compare,
// delete, and a documented error.
func TestServeFaceCollectionsAWSCLI(t *testing.T) {
	needModels(t)
	if _, err := exec.LookPath("aws"); err != nil {
		citest.Skip(t, "aws CLI missing (apt-get install awscli)")
	}
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	for _, name := range []string{"bar55.jpg", "bar55-2.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, name), photo(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.endpoint, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=imagerec", "AWS_SECRET_ACCESS_KEY=imagerec-local-secret",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	awsJSON := func(v any, args ...string) {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}
	awsJSON(nil, "s3", "cp", filepath.Join(dir, "bar55.jpg"), "s3://image-upload-bucket/bar55.jpg")
	awsJSON(nil, "rekognition", "create-collection", "--collection-id", "family")
	var idx struct {
		FaceRecords []struct {
			Face struct {
				FaceID string `json:"FaceId"`
			}
		}
	}
	awsJSON(&idx, "rekognition", "index-faces", "--collection-id", "family", "--external-image-id", "bar55",
		"--image", `{"S3Object":{"Bucket":"image-upload-bucket","Name":"bar55.jpg"}}`, "--max-faces", "2")
	if len(idx.FaceRecords) != 2 {
		t.Fatalf("index-faces: %+v", idx)
	}
	var found struct {
		FaceMatches []struct {
			Similarity float64
			Face       struct {
				ExternalImageID string `json:"ExternalImageId"`
			}
		}
	}
	awsJSON(&found, "rekognition", "search-faces-by-image", "--collection-id", "family", "--image-bytes", "fileb://"+filepath.Join(dir, "bar55-2.jpg"))
	if len(found.FaceMatches) != 1 || found.FaceMatches[0].Face.ExternalImageID != "bar55" || found.FaceMatches[0].Similarity < 80 {
		t.Errorf("search-faces-by-image: %+v", found)
	}
	var list struct{ CollectionIds []string }
	awsJSON(&list, "rekognition", "list-collections")
	if len(list.CollectionIds) != 1 || list.CollectionIds[0] != "family" {
		t.Errorf("list-collections: %+v", list)
	}
	var faces struct {
		Faces []struct {
			FaceID string `json:"FaceId"`
		}
	}
	awsJSON(&faces, "rekognition", "list-faces", "--collection-id", "family")
	if len(faces.Faces) != 2 {
		t.Errorf("list-faces: %+v", faces)
	}
	var cmp struct{ FaceMatches []any }
	awsJSON(&cmp, "rekognition", "compare-faces", "--source-image-bytes", "fileb://"+filepath.Join(dir, "bar55-2.jpg"),
		"--target-image-bytes", "fileb://"+filepath.Join(dir, "bar55.jpg"))
	if len(cmp.FaceMatches) != 1 {
		t.Errorf("compare-faces: %+v", cmp)
	}
	awsJSON(nil, "rekognition", "delete-faces", "--collection-id", "family", "--face-ids", faces.Faces[0].FaceID)
	awsJSON(nil, "rekognition", "delete-collection", "--collection-id", "family")
	out, err := run("rekognition", "describe-collection", "--collection-id", "family")
	if err == nil || !strings.Contains(out, "ResourceNotFoundException") {
		t.Errorf("describe-collection of a deleted collection: %v\n%s", err, out)
	}
}
