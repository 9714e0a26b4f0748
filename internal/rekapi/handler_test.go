package rekapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/rekapi"
	"github.com/imagerec/imagerec/internal/shapetest"
	"github.com/imagerec/imagerec/internal/sigv4"
	"github.com/imagerec/imagerec/internal/vision"
)

// fakeRecognizer returns a fixed result and records what it was asked.
type fakeRecognizer struct {
	mu     sync.Mutex
	inputs []vision.Input
	opts   []vision.Options
	result *vision.Result
	err    error
}

func (f *fakeRecognizer) Recognize(_ context.Context, in vision.Input, opts vision.Options) (*vision.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	f.opts = append(f.opts, opts)
	if f.err != nil {
		return nil, f.err
	}
	r := *f.result
	return &r, nil
}

func (f *fakeRecognizer) last() (vision.Input, vision.Options) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[len(f.inputs)-1], f.opts[len(f.opts)-1]
}

func ptr[T any](v T) *T { return &v }

// sample is a result with every section filled in.
func sample() *vision.Result {
	red := vision.DominantColor{Red: 200, Green: 20, Blue: 30, HexCode: "C8141E", CSSColor: "crimson", SimplifiedColor: "red", PixelPercent: 40}
	grey := vision.DominantColor{Red: 120, Green: 120, Blue: 120, HexCode: "787878", CSSColor: "grey", SimplifiedColor: "grey", PixelPercent: 60}
	return &vision.Result{
		Labels: []vision.Label{
			{Name: "Car", Confidence: 98.5, Instances: []vision.Instance{{BoundingBox: vision.BoundingBox{Width: 0.3, Height: 0.2, Left: 0.1, Top: 0.5}, Confidence: 97, DominantColors: []vision.DominantColor{red, grey}}}, Parents: []vision.NameOnly{{Name: "Vehicle"}}, Categories: []vision.NameOnly{{Name: "Vehicles and Automotive"}}},
			{Name: "Vehicle", Confidence: 98.5, Categories: []vision.NameOnly{{Name: "Vehicles and Automotive"}}},
			{Name: "Person", Confidence: 80, Instances: []vision.Instance{{BoundingBox: vision.BoundingBox{Width: 0.1, Height: 0.4, Left: 0.6, Top: 0.3}, Confidence: 80}}, Categories: []vision.NameOnly{{Name: "Person Description"}}},
			{Name: "Road", Confidence: 60},
		},
		LabelModelVersion: "imagerec-1",
		ImageProperties: &vision.ImageProperties{
			Quality:        vision.ImageQuality{Brightness: 60, Sharpness: 80, Contrast: 50},
			DominantColors: []vision.DominantColor{grey, red},
			Foreground:     &vision.ImageRegion{Quality: vision.ImageQuality{Brightness: 55, Sharpness: 85}, DominantColors: []vision.DominantColor{red}},
			Background:     &vision.ImageRegion{Quality: vision.ImageQuality{Brightness: 62, Sharpness: 70}, DominantColors: []vision.DominantColor{grey}},
		},
		FaceDetails: []vision.FaceDetail{{
			BoundingBox:  vision.BoundingBox{Width: 0.2, Height: 0.25, Left: 0.4, Top: 0.1},
			AgeRange:     &vision.AgeRange{Low: 25, High: 35},
			Smile:        &vision.BoolAttr{Value: true, Confidence: 90},
			Gender:       &vision.GenderAttr{Value: "Female", Confidence: 95},
			EyesOpen:     &vision.BoolAttr{Value: true, Confidence: 97},
			MouthOpen:    &vision.BoolAttr{Value: false, Confidence: 88},
			EyeDirection: &vision.EyeDirection{Yaw: 4, Pitch: -2, Confidence: 90},
			Emotions:     []vision.Emotion{{Type: vision.EmotionHappy, Confidence: 92}},
			Landmarks:    []vision.Landmark{{Type: "eyeLeft", X: 0.45, Y: 0.2}, {Type: "eyeRight", X: 0.55, Y: 0.2}},
			Pose:         vision.Pose{Roll: 1, Yaw: -3, Pitch: 2},
			Quality:      vision.ImageQuality{Brightness: 70, Sharpness: 60},
			Confidence:   99.9,
		}},
		TextDetections: []vision.TextDetection{
			{DetectedText: "STOP HERE", Type: vision.TextLine, ID: 0, Confidence: 95, Geometry: vision.Geometry{BoundingBox: vision.BoundingBox{Width: 0.4, Height: 0.1, Left: 0.1, Top: 0.1}, Polygon: []vision.Point{{X: 0.1, Y: 0.1}, {X: 0.5, Y: 0.1}, {X: 0.5, Y: 0.2}, {X: 0.1, Y: 0.2}}}},
			{DetectedText: "STOP", Type: vision.TextWord, ID: 1, ParentID: ptr(0), Confidence: 97, Geometry: vision.Geometry{BoundingBox: vision.BoundingBox{Width: 0.2, Height: 0.1, Left: 0.1, Top: 0.1}, Polygon: []vision.Point{{X: 0.1, Y: 0.1}, {X: 0.3, Y: 0.1}, {X: 0.3, Y: 0.2}, {X: 0.1, Y: 0.2}}}},
			{DetectedText: "HERE", Type: vision.TextWord, ID: 2, ParentID: ptr(0), Confidence: 60, Geometry: vision.Geometry{BoundingBox: vision.BoundingBox{Width: 0.2, Height: 0.1, Left: 0.3, Top: 0.1}, Polygon: []vision.Point{{X: 0.3, Y: 0.1}, {X: 0.5, Y: 0.1}, {X: 0.5, Y: 0.2}, {X: 0.3, Y: 0.2}}}},
		},
		TextModelVersion: "imagerec-ocr-1",
		ModerationLabels: []vision.ModerationLabel{
			{Name: "Alcohol", ParentName: "", Confidence: 70, TaxonomyLevel: 1},
			{Name: "Drinking", ParentName: "Alcohol", Confidence: 40, TaxonomyLevel: 2},
		},
		ModerationModelVersion: "imagerec-nsfw-1",
		ContentTypes:           []vision.ContentType{{Name: "Illustrated", Confidence: 35}, {Name: "Animated", Confidence: 20}},
		Image:                  &vision.ImageInfo{Width: 640, Height: 480, Format: "jpeg", OrientationCorrection: "ROTATE_0"},
	}
}

// The fixture's key: clients signing with another are refused.
const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "secret"
)

// signRequest signs req, whose body is body, as the SDK does with the
// fixture's key.
func signRequest(t *testing.T, req *http.Request, body string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, req, hex.EncodeToString(sum[:]), "rekognition", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// recorder keeps the raw bodies the handler sent, to check them against
// Rekognition's shapes.
type recorder struct {
	next   http.Handler
	mu     sync.Mutex
	bodies map[string][]byte // by X-Amz-Target operation
	status map[string]int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := httptest.NewRecorder()
	rc.next.ServeHTTP(rw, r)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), rekapi.TargetPrefix)
	rc.mu.Lock()
	rc.bodies[op] = rw.Body.Bytes()
	rc.status[op] = rw.Code
	rc.mu.Unlock()
	for k, v := range rw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.Code)
	w.Write(rw.Body.Bytes())
}

type fixture struct {
	rec    *fakeRecognizer
	store  *memstore.Store
	srv    *httptest.Server
	raw    *recorder
	client *awsrek.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{rec: &fakeRecognizer{result: sample()}, store: memstore.New()}
	verifier := sigv4.New([]sigv4.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}}, nil)
	f.raw = &recorder{next: rekapi.New(f.rec, f.store, rekapi.Options{Verifier: verifier}), bodies: map[string][]byte{}, status: map[string]int{}}
	f.srv = httptest.NewServer(f.raw)
	t.Cleanup(f.srv.Close)
	f.client = newClient(f.srv.URL, testKeyID)
	return f
}

func newClient(url, key string) *awsrek.Client {
	return awsrek.New(awsrek.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(key, testSecret, ""),
		RetryMaxAttempts: 1,
	})
}

func loadShapes(t testing.TB) *shapetest.Model {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rekognition", "shapes.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := shapetest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkShape checks the last raw response of op against Rekognition's
// output shape.
func (f *fixture) checkShape(t *testing.T, m *shapetest.Model, op string) {
	t.Helper()
	f.raw.mu.Lock()
	body := f.raw.bodies[op]
	f.raw.mu.Unlock()
	if probs := m.Check(m.Operations[op].Output, body); len(probs) > 0 {
		t.Errorf("%s response does not match Rekognition's shape:\n%s\nbody: %s", op, strings.Join(probs, "\n"), body)
	}
}

var jpegBytes = []byte("\xff\xd8\xff\xe0 a JPEG as far as the fake engine cares")

func TestDetectLabels(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	shapes := loadShapes(t)
	ctx := t.Context()

	out, err := f.client.DetectLabels(ctx, &awsrek.DetectLabelsInput{
		Image:         &types.Image{Bytes: jpegBytes},
		MaxLabels:     aws.Int32(2),
		MinConfidence: aws.Float32(75),
		Features:      []types.DetectLabelsFeatureName{types.DetectLabelsFeatureNameGeneralLabels, types.DetectLabelsFeatureNameImageProperties},
		Settings:      &types.DetectLabelsSettings{ImageProperties: &types.DetectLabelsImagePropertiesSettings{MaxDominantColors: 1}},
	})
	if err != nil {
		t.Fatalf("DetectLabels: %v", err)
	}
	f.checkShape(t, shapes, "DetectLabels")
	in, opts := f.rec.last()
	if !bytes.Equal(in.Bytes, jpegBytes) {
		t.Error("engine did not get Image.Bytes")
	}
	if diff := cmp.Diff(vision.Options{Features: []vision.Feature{vision.FeatureLabels}, MaxLabels: 2, MinConfidence: 75, ModerationMinConfidence: 50, MaxDominantColors: 1}, opts); diff != "" {
		t.Errorf("engine options (-want +got):\n%s", diff)
	}
	var names []string
	for _, l := range out.Labels {
		names = append(names, aws.ToString(l.Name))
	}
	if diff := cmp.Diff([]string{"Car", "Vehicle"}, names); diff != "" {
		t.Errorf("labels (MaxLabels 2, MinConfidence 75) (-want +got):\n%s", diff)
	}
	if got := len(out.Labels[0].Instances[0].DominantColors); got != 1 {
		t.Errorf("instance colours = %d, want MaxDominantColors 1", got)
	}
	if out.ImageProperties == nil || len(out.ImageProperties.DominantColors) != 1 || aws.ToFloat32(out.ImageProperties.Quality.Contrast) != 50 {
		t.Errorf("ImageProperties = %+v", out.ImageProperties)
	}
	if aws.ToString(out.LabelModelVersion) != "imagerec-1" {
		t.Errorf("LabelModelVersion = %q", aws.ToString(out.LabelModelVersion))
	}

	// Default features: GENERAL_LABELS only, no ImageProperties, no colours.
	out, err = f.client.DetectLabels(ctx, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: jpegBytes}})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, shapes, "DetectLabels")
	if out.ImageProperties != nil || len(out.Labels) != 4 || out.Labels[0].Instances[0].DominantColors != nil {
		t.Errorf("default DetectLabels = %d labels, ImageProperties %v, colours %v", len(out.Labels), out.ImageProperties, out.Labels[0].Instances[0].DominantColors)
	}
	if _, opts := f.rec.last(); !opts.OmitImageProperties {
		t.Error("DetectLabels without IMAGE_PROPERTIES: the engine was not told to omit them")
	}

	// Category filters.
	out, err = f.client.DetectLabels(ctx, &awsrek.DetectLabelsInput{
		Image:    &types.Image{Bytes: jpegBytes},
		Settings: &types.DetectLabelsSettings{GeneralLabels: &types.GeneralLabelsSettings{LabelCategoryInclusionFilters: []string{"Person Description"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Labels) != 1 || aws.ToString(out.Labels[0].Name) != "Person" {
		t.Errorf("category filter kept %d labels", len(out.Labels))
	}
}

func TestDetectFaces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	shapes := loadShapes(t)
	tests := []struct {
		name       string
		attributes []types.Attribute
		wantAge    bool
		wantSmile  bool
	}{
		{"default", nil, false, false},
		{"all", []types.Attribute{types.AttributeAll}, true, true},
		{"smile only", []types.Attribute{types.Attribute("SMILE")}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.client.DetectFaces(t.Context(), &awsrek.DetectFacesInput{Image: &types.Image{Bytes: jpegBytes}, Attributes: tt.attributes})
			if err != nil {
				t.Fatal(err)
			}
			f.checkShape(t, shapes, "DetectFaces")
			if len(out.FaceDetails) != 1 {
				t.Fatalf("%d faces", len(out.FaceDetails))
			}
			fd := out.FaceDetails[0]
			if (fd.AgeRange != nil) != tt.wantAge || (fd.Smile != nil) != tt.wantSmile {
				t.Errorf("AgeRange %v Smile %v, want %v %v", fd.AgeRange, fd.Smile, tt.wantAge, tt.wantSmile)
			}
			// The engine is told which attributes are cleared, so that it
			// need not compute them (and no others).
			_, opts := f.rec.last()
			if opts.OmitsFaceAttributes(vision.FaceAttrAgeRange) == tt.wantAge || opts.OmitsFaceAttributes(vision.FaceAttrSmile) == tt.wantSmile {
				t.Errorf("OmitFaceAttributes %v with AgeRange %v, Smile %v returned", opts.OmitFaceAttributes, tt.wantAge, tt.wantSmile)
			}
			if fd.BoundingBox == nil || len(fd.Landmarks) != 2 || fd.Pose == nil || fd.Quality == nil || aws.ToFloat32(fd.Confidence) < 99 {
				t.Errorf("DEFAULT members missing: %+v", fd)
			}
			if out.OrientationCorrection != types.OrientationCorrectionRotate0 {
				t.Errorf("OrientationCorrection = %q", out.OrientationCorrection)
			}
		})
	}
}

func TestDetectTextAndModeration(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	shapes := loadShapes(t)
	ctx := t.Context()
	text, err := f.client.DetectText(ctx, &awsrek.DetectTextInput{
		Image:   &types.Image{Bytes: jpegBytes},
		Filters: &types.DetectTextFilters{WordFilter: &types.DetectionFilter{MinConfidence: aws.Float32(90)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, shapes, "DetectText")
	var got []string
	for _, d := range text.TextDetections {
		got = append(got, string(d.Type)+":"+aws.ToString(d.DetectedText))
	}
	if diff := cmp.Diff([]string{"LINE:STOP HERE", "WORD:STOP"}, got); diff != "" {
		t.Errorf("WordFilter.MinConfidence 90 (-want +got):\n%s", diff)
	}
	if _, opts := f.rec.last(); opts.TextMinConfidence != 90 {
		t.Errorf("engine TextMinConfidence = %v", opts.TextMinConfidence)
	}
	if p := text.TextDetections[1].ParentId; p == nil || *p != 0 {
		t.Errorf("ParentId = %v", p)
	}
	// A region of interest around the second word only.
	text, err = f.client.DetectText(ctx, &awsrek.DetectTextInput{
		Image: &types.Image{Bytes: jpegBytes},
		Filters: &types.DetectTextFilters{RegionsOfInterest: []types.RegionOfInterest{{
			BoundingBox: &types.BoundingBox{Left: aws.Float32(0.32), Top: aws.Float32(0.05), Width: aws.Float32(0.2), Height: aws.Float32(0.2)},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(text.TextDetections) != 1 || aws.ToString(text.TextDetections[0].DetectedText) != "HERE" {
		t.Errorf("region filter kept %d detections", len(text.TextDetections))
	}

	mod, err := f.client.DetectModerationLabels(ctx, &awsrek.DetectModerationLabelsInput{Image: &types.Image{Bytes: jpegBytes}})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, shapes, "DetectModerationLabels")
	if len(mod.ModerationLabels) != 1 || aws.ToString(mod.ModerationModelVersion) != "imagerec-nsfw-1" {
		t.Errorf("default MinConfidence 50: %d labels", len(mod.ModerationLabels))
	}
	mod, err = f.client.DetectModerationLabels(ctx, &awsrek.DetectModerationLabelsInput{Image: &types.Image{Bytes: jpegBytes}, MinConfidence: aws.Float32(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(mod.ModerationLabels) != 2 {
		t.Errorf("MinConfidence 0: %d labels, want 2", len(mod.ModerationLabels))
	}
}

func TestS3Object(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if err := f.store.CreateBucket(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutObject(ctx, "photos", "holiday/beach 1.jpg", bytes.NewReader(jpegBytes), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.DetectLabels(ctx, &awsrek.DetectLabelsInput{Image: &types.Image{S3Object: &types.S3Object{Bucket: aws.String("photos"), Name: aws.String("holiday/beach 1.jpg")}}})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := f.rec.last(); !bytes.Equal(in.Bytes, jpegBytes) || in.Name != "s3://photos/holiday/beach 1.jpg" {
		t.Errorf("engine got %q (%d bytes)", in.Name, len(in.Bytes))
	}
	_, err = f.client.DetectLabels(ctx, &awsrek.DetectLabelsInput{Image: &types.Image{S3Object: &types.S3Object{Bucket: aws.String("photos"), Name: aws.String("missing.jpg")}}})
	var ise *types.InvalidS3ObjectException
	if !errors.As(err, &ise) {
		t.Errorf("missing object: err = %v, want InvalidS3ObjectException", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()

	tests := []struct {
		name     string
		engine   error
		input    *awsrek.DetectLabelsInput
		key      string
		wantCode string
	}{
		{"image error from the engine", vision.Errorf(vision.CodeInvalidImageFormat, "not an image"), &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: []byte("hello")}}, "", "InvalidImageFormatException"},
		{"engine failure is a 500", errors.New("onnx session exploded"), &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: jpegBytes}}, "", "InternalServerError"},
		{"bad MinConfidence", nil, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: jpegBytes}, MinConfidence: aws.Float32(101)}, "", "InvalidParameterException"},
		{"bytes over 5 MiB", nil, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: make([]byte, 5<<20+1)}}, "", "ImageTooLargeException"},
		{"rejected signature", nil, &awsrek.DetectLabelsInput{Image: &types.Image{Bytes: jpegBytes}}, "AKIDREVOKED", "UnrecognizedClientException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := f
			if tt.engine != nil {
				fx = newFixture(t)
				fx.rec.err = tt.engine
			}
			client := fx.client
			if tt.key != "" {
				client = newClient(fx.srv.URL, tt.key)
			}
			_, err := client.DetectLabels(ctx, tt.input)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
			fx.raw.mu.Lock()
			status, body := fx.raw.status["DetectLabels"], fx.raw.bodies["DetectLabels"]
			fx.raw.mu.Unlock()
			wantStatus := 400
			if tt.wantCode == "InternalServerError" {
				wantStatus = 500
			}
			if status != wantStatus {
				t.Errorf("status = %d, want %d", status, wantStatus)
			}
			var doc map[string]string
			if err := json.Unmarshal(body, &doc); err != nil || doc["__type"] != tt.wantCode || doc["Message"] == "" || len(doc) != 2 {
				t.Errorf("error body = %s", body)
			}
			if strings.Contains(string(body), "exploded") {
				t.Error("internal error details leaked to the client")
			}
		})
	}
}

// TestProtocol checks what the SDK never sends: wrong target, method,
// content type and malformed JSON.
func TestProtocol(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, method, target, ctype, body, wantCode string
	}{
		{"unknown operation", "POST", "RekognitionService.RecognizeCelebrities", rekapi.ContentType, `{}`, "UnknownOperationException"},
		{"no target", "POST", "", rekapi.ContentType, `{}`, "UnknownOperationException"},
		{"GET", "GET", "RekognitionService.DetectLabels", rekapi.ContentType, ``, "UnknownOperationException"},
		{"wrong content type", "POST", "RekognitionService.DetectLabels", "application/json", `{}`, "SerializationException"},
		{"malformed JSON", "POST", "RekognitionService.DetectLabels", rekapi.ContentType, `{"Image":`, "SerializationException"},
		{"wrong type", "POST", "RekognitionService.DetectLabels", rekapi.ContentType, `{"Image":{"Bytes":"/9j/"},"MaxLabels":"ten"}`, "SerializationException"},
		{"no image", "POST", "RekognitionService.DetectText", rekapi.ContentType, `{}`, "InvalidParameterException"},
		{"both image sources", "POST", "RekognitionService.DetectFaces", rekapi.ContentType, `{"Image":{"Bytes":"/9j/","S3Object":{"Bucket":"b","Name":"k"}}}`, "InvalidParameterException"},
		{"bad feature", "POST", "RekognitionService.DetectLabels", rekapi.ContentType, `{"Image":{"Bytes":"/9j/"},"Features":["CELEBRITIES"]}`, "InvalidParameterException"},
		{"bad attribute", "POST", "RekognitionService.DetectFaces", rekapi.ContentType, `{"Image":{"Bytes":"/9j/"},"Attributes":["HAIR"]}`, "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, f.srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", tt.ctype)
			signRequest(t, req, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var doc struct {
				Type    string `json:"__type"`
				Message string
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || doc.Type != tt.wantCode || resp.Header.Get("X-Amzn-Errortype") != tt.wantCode || resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("status %d type %q header %q body %s, want 400 %s", resp.StatusCode, doc.Type, resp.Header.Get("X-Amzn-Errortype"), body, tt.wantCode)
			}
		})
	}
}

func TestIsRekognitionRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/", nil)
	if rekapi.IsRekognitionRequest(r) {
		t.Error("plain POST taken for Rekognition")
	}
	r.Header.Set("X-Amz-Target", "RekognitionService.DetectText")
	if !rekapi.IsRekognitionRequest(r) {
		t.Error("DetectText not recognised")
	}
}

// TestSerializationMessages checks that a wrong JSON type is worded as
// AWS words it, with no trace of the server's language.
func TestSerializationMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct{ name, op, body, want string }{
		{"string for integer", "DetectLabels", `{"Image":{"Bytes":"/9j/"},"MaxLabels":"ten"}`, "STRING_VALUE can not be converted to an Integer (member MaxLabels)"},
		{"number for string", "DetectFaces", `{"Image":{"Bytes":"/9j/"},"Attributes":[1]}`, "NUMBER_VALUE can not be converted to a String (member Attributes)"},
		{"object for float", "DetectLabels", `{"Image":{"Bytes":"/9j/"},"MinConfidence":{}}`, "Start of structure or map found where not expected."},
		{"list for structure", "DetectText", `{"Image":[]}`, "Start of list found where not expected"},
		{"bad base64", "DetectText", `{"Image":{"Bytes":"!!"}}`, "Base64 encoded value is not valid"},
		{"truncated", "DetectText", `{"Image":`, "Unable to parse the request body as JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), "POST", f.srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", rekapi.TargetPrefix+tt.op)
			req.Header.Set("Content-Type", rekapi.ContentType)
			signRequest(t, req, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc struct {
				Type    string `json:"__type"`
				Message string
			}
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if doc.Type != "SerializationException" || doc.Message != tt.want {
				t.Errorf("got %s %q, want SerializationException %q", doc.Type, doc.Message, tt.want)
			}
			for _, leak := range []string{"Go ", "struct field", "unmarshal", "rekapi"} {
				if strings.Contains(doc.Message, leak) {
					t.Errorf("message %q shows %q", doc.Message, leak)
				}
			}
		})
	}
}
