package rekapi_test

// End to end: the real local engine (ONNX models on real photos) behind the
// Rekognition API, called by aws-sdk-go-v2 and by the aws CLI. Without the
// ONNX runtime and models the test skips, except under CI where it fails.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/rekapi"
	"github.com/imagerec/imagerec/internal/vision/onnx"
)

var (
	engineOnce sync.Once
	engine     *onnx.Engine
	engineErr  error
)

func localEngine(t *testing.T) *onnx.Engine {
	t.Helper()
	engineOnce.Do(func() {
		engine, engineErr = onnx.New(context.Background(), onnx.Config{})
	})
	if engineErr != nil {
		if errors.Is(engineErr, onnx.ErrModelsMissing) {
			citest.Skipf(t, "end-to-end test needs the installed models: %v", engineErr)
		}
		t.Fatalf("onnx engine: %v", engineErr)
	}
	return engine
}

func photoPath(name string) string {
	return filepath.Join("..", "..", "testdata", "images", name)
}

func TestLocalEngineEndToEnd(t *testing.T) {
	eng := localEngine(t)
	store := memstore.New()
	ctx := t.Context()
	dog, err := os.ReadFile(photoPath("dog.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateBucket(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutObject(ctx, "photos", "pets/dog.jpg", bytes.NewReader(dog), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := &recorder{next: rekapi.New(eng, store, rekapi.Options{}), bodies: map[string][]byte{}, status: map[string]int{}}
	srv := httptest.NewServer(raw)
	t.Cleanup(srv.Close)
	shapes := loadShapes(t)
	check := func(t *testing.T, op string) {
		t.Helper()
		raw.mu.Lock()
		body := raw.bodies[op]
		raw.mu.Unlock()
		if probs := shapes.Check(shapes.Operations[op].Output, body); len(probs) > 0 {
			t.Errorf("%s response does not match Rekognition's shape:\n%s", op, strings.Join(probs, "\n"))
		}
	}

	t.Run("sdk", func(t *testing.T) {
		client := newClient(srv.URL, "AKIDEXAMPLE")
		labels, err := client.DetectLabels(ctx, &awsrek.DetectLabelsInput{
			Image:     &types.Image{S3Object: &types.S3Object{Bucket: aws.String("photos"), Name: aws.String("pets/dog.jpg")}},
			MaxLabels: aws.Int32(10),
			Features:  []types.DetectLabelsFeatureName{types.DetectLabelsFeatureNameGeneralLabels, types.DetectLabelsFeatureNameImageProperties},
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "DetectLabels")
		found := false
		for _, l := range labels.Labels {
			if aws.ToString(l.Name) == "Dog" && aws.ToFloat32(l.Confidence) >= 55 {
				found = true
			}
		}
		if !found || len(labels.Labels) > 10 || labels.ImageProperties == nil {
			t.Errorf("dog.jpg: labels %v (want Dog among at most 10), ImageProperties %v", labelNames(labels.Labels), labels.ImageProperties)
		}

		astronaut, err := os.ReadFile(photoPath("astronaut.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		faces, err := client.DetectFaces(ctx, &awsrek.DetectFacesInput{Image: &types.Image{Bytes: astronaut}, Attributes: []types.Attribute{types.AttributeAll}})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "DetectFaces")
		if len(faces.FaceDetails) == 0 {
			t.Error("astronaut.jpg: no face")
		}
		if _, err := client.DetectText(ctx, &awsrek.DetectTextInput{Image: &types.Image{Bytes: astronaut}}); err != nil {
			t.Fatal(err)
		}
		check(t, "DetectText")
		if _, err := client.DetectModerationLabels(ctx, &awsrek.DetectModerationLabelsInput{Image: &types.Image{Bytes: dog}}); err != nil {
			t.Fatal(err)
		}
		check(t, "DetectModerationLabels")
		_, err = client.DetectLabels(ctx, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: []byte("this is not an image at all")}})
		var bad *types.InvalidImageFormatException
		if !errors.As(err, &bad) {
			t.Errorf("garbage image: err = %v, want InvalidImageFormatException", err)
		}
		// Rekognition's minimum side is 80 px: smaller images are an
		// InvalidParameterException in every operation.
		for _, size := range [][2]int{{1, 1}, {79, 200}, {200, 79}} {
			small := pngOf(t, size[0], size[1])
			_, err = client.DetectLabels(ctx, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: small}})
			var ip *types.InvalidParameterException
			if !errors.As(err, &ip) || !strings.Contains(aws.ToString(ip.Message), "at least 80") {
				t.Errorf("%dx%d image: DetectLabels err = %v, want InvalidParameterException naming the 80 px minimum", size[0], size[1], err)
			}
			_, err = client.DetectFaces(ctx, &awsrek.DetectFacesInput{Image: &types.Image{Bytes: small}})
			if !errors.As(err, &ip) {
				t.Errorf("%dx%d image: DetectFaces err = %v, want InvalidParameterException", size[0], size[1], err)
			}
		}
		if _, err := client.DetectLabels(ctx, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: pngOf(t, 80, 80)}}); err != nil {
			t.Errorf("80x80 image: %v", err)
		}
	})

	t.Run("aws cli", func(t *testing.T) {
		cli := awsCLI(t)
		run := func(args ...string) []byte {
			t.Helper()
			home := t.TempDir()
			cmd := exec.CommandContext(ctx, cli, append([]string{"rekognition"}, append(args, "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json")...)...)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=", "HOME="+home,
				"AWS_CONFIG_FILE="+filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"), "AWS_EC2_METADATA_DISABLED=true")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("aws rekognition %s: %v\n%s", args[0], err, stderr.String())
			}
			return out
		}
		var labels struct {
			Labels []struct {
				Name       string
				Confidence float64
			}
			LabelModelVersion string
		}
		if err := json.Unmarshal(run("detect-labels", "--image-bytes", "fileb://"+photoPath("dog.jpg"), "--max-labels", "10"), &labels); err != nil {
			t.Fatal(err)
		}
		check(t, "DetectLabels")
		if len(labels.Labels) == 0 || len(labels.Labels) > 10 || !hasLabel(labels.Labels, "Dog") {
			t.Errorf("aws rekognition detect-labels dog.jpg = %+v", labels)
		}
		var s3labels struct{ Labels []struct{ Name string } }
		if err := json.Unmarshal(run("detect-labels", "--image", `{"S3Object":{"Bucket":"photos","Name":"pets/dog.jpg"}}`), &s3labels); err != nil {
			t.Fatal(err)
		}
		if len(s3labels.Labels) == 0 {
			t.Error("detect-labels with S3Object found nothing")
		}
		var faces struct{ FaceDetails []json.RawMessage }
		if err := json.Unmarshal(run("detect-faces", "--image-bytes", "fileb://"+photoPath("astronaut.jpg"), "--attributes", "ALL"), &faces); err != nil {
			t.Fatal(err)
		}
		check(t, "DetectFaces")
		if len(faces.FaceDetails) == 0 {
			t.Error("aws rekognition detect-faces astronaut.jpg found no face")
		}
		run("detect-text", "--image-bytes", "fileb://"+photoPath("astronaut.jpg"))
		check(t, "DetectText")
		run("detect-moderation-labels", "--image-bytes", "fileb://"+photoPath("dog.jpg"))
		check(t, "DetectModerationLabels")
	})
}

// pngOf returns a w x h grey PNG.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func hasLabel(ls []struct {
	Name       string
	Confidence float64
}, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

func labelNames(ls []types.Label) []string {
	var out []string
	for _, l := range ls {
		out = append(out, aws.ToString(l.Name))
	}
	return out
}

// awsCLI finds the aws command line (Debian's awscli package installs
// /usr/bin/aws); missing, the test skips unless CI is set.
func awsCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/aws"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("aws"); err == nil {
		return p
	}
	citest.Skip(t, "aws CLI not installed (apt-get install -y awscli)")
	return ""
}
