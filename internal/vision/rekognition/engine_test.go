package rekognition_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
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
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/goldentest"
	"github.com/imagerec/imagerec/internal/shapetest"
	"github.com/imagerec/imagerec/internal/vision"
	"github.com/imagerec/imagerec/internal/vision/rekognition"
)

var recorded = filepath.Join("..", "..", "..", "testdata", "rekognition")

// reply is one scripted HTTP response.
type reply struct {
	status int
	file   string // in testdata/rekognition
}

// playback is a Rekognition endpoint that answers each X-Amz-Target with its
// scripted replies in order (the last one repeats), checks every request
// against the API's request shape, and keeps the requests.
type playback struct {
	t      *testing.T
	model  *shapetest.Model
	mu     sync.Mutex
	script map[string][]reply
	calls  map[string]int
	bodies map[string][]byte // last request body per operation
}

func newPlayback(t *testing.T, script map[string][]reply) (*playback, *awsrek.Client) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recorded, "shapes.json"))
	if err != nil {
		t.Fatal(err)
	}
	model, err := shapetest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p := &playback{t: t, model: model, script: script, calls: map[string]int{}, bodies: map[string][]byte{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	client := awsrek.New(awsrek.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	return p, client
}

func (p *playback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "RekognitionService.")
	body, _ := io.ReadAll(r.Body)
	if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
		p.t.Errorf("unexpected request %s %s target=%q content-type=%q", r.Method, r.URL, r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if probs := p.model.Check(p.model.Operations[op].Input, body); len(probs) > 0 {
		p.t.Errorf("%s request does not match the API shape:\n%s", op, strings.Join(probs, "\n"))
	}
	p.mu.Lock()
	n := p.calls[op]
	p.calls[op]++
	p.bodies[op] = body
	replies := p.script[op]
	p.mu.Unlock()
	rep := reply{http.StatusOK, op + ".json"}
	if len(replies) > 0 {
		rep = replies[min(n, len(replies)-1)]
	}
	data, err := os.ReadFile(filepath.Join(recorded, rep.file))
	if err != nil {
		p.t.Error(err)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%s-%d", op, n))
	w.WriteHeader(rep.status)
	w.Write(data)
}

func (p *playback) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// sentImage decodes the Image.Bytes of the last request for op.
func (p *playback) sentImage(t *testing.T, op string) ([]byte, image.Config, string) {
	t.Helper()
	p.mu.Lock()
	body := p.bodies[op]
	p.mu.Unlock()
	var req struct{ Image struct{ Bytes string } }
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(req.Image.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("sent image does not decode: %v", err)
	}
	return raw, cfg, format
}

func fastRetries() rekognition.Options {
	return rekognition.Options{BaseDelay: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// testJPEG returns a w x h JPEG with some structure in it.
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, pattern(w, h), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	return img
}

// noise is an image that compresses badly.
func noise(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return img
}

// withOrientation inserts an EXIF APP1 segment carrying orientation o right
// after the SOI marker of a JPEG.
func withOrientation(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8)) // IFD0 offset
	binary.Write(&tiff, binary.BigEndian, uint16(1)) // one entry
	binary.Write(&tiff, binary.BigEndian, [4]uint16{0x0112, 3, 0, 1})
	binary.Write(&tiff, binary.BigEndian, [2]uint16{o, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func TestRecognizeAllFeatures(t *testing.T) {
	t.Parallel()
	pb, client := newPlayback(t, map[string][]reply{
		// Throttled twice, then the recorded answer: the retryer must wait
		// and try again rather than fail the image.
		"DetectLabels": {{500, "ThrottlingException.json"}, {500, "ThrottlingException.json"}, {200, "DetectLabels.json"}},
		"DetectFaces":  {{400, "ProvisionedThroughputExceededException.json"}, {200, "DetectFaces.json"}},
	})
	eng := rekognition.New(client, fastRetries())
	img := testJPEG(t, 640, 480)
	res, err := eng.Recognize(t.Context(), vision.Input{Bytes: img, Name: "car.jpg"}, vision.Options{MaxLabels: 10, MinConfidence: 70})
	if err != nil {
		t.Fatalf("Recognize: %v", err)
	}
	for op, want := range map[string]int{"DetectLabels": 3, "DetectFaces": 2, "DetectText": 1, "DetectModerationLabels": 1} {
		if got := pb.count(op); got != want {
			t.Errorf("%s called %d times, want %d", op, got, want)
		}
	}
	sent, _, _ := pb.sentImage(t, "DetectLabels")
	if !bytes.Equal(sent, img) {
		t.Error("a JPEG within the limits was not sent unchanged")
	}
	var labelsReq map[string]any
	if err := json.Unmarshal(pb.bodies["DetectLabels"], &labelsReq); err != nil {
		t.Fatal(err)
	}
	delete(labelsReq, "Image")
	wantReq := map[string]any{
		"Features":      []any{"GENERAL_LABELS", "IMAGE_PROPERTIES"},
		"MaxLabels":     float64(10),
		"MinConfidence": float64(70),
		"Settings":      map[string]any{"ImageProperties": map[string]any{"MaxDominantColors": float64(10)}},
	}
	if diff := cmp.Diff(wantReq, labelsReq); diff != "" {
		t.Errorf("DetectLabels request (-want +got):\n%s", diff)
	}
	var facesReq map[string]any
	if err := json.Unmarshal(pb.bodies["DetectFaces"], &facesReq); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"ALL"}, facesReq["Attributes"]); diff != "" {
		t.Errorf("DetectFaces Attributes (-want +got):\n%s", diff)
	}

	for k := range res.Timings {
		res.Timings[k] = 0 // wall-clock: not part of the contract
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "result.golden.json"), got)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldentest.Compare(t, path, append(got, '\n'))
}

func TestRecognizeSelectedFeatures(t *testing.T) {
	t.Parallel()
	pb, client := newPlayback(t, nil)
	eng := rekognition.New(client, fastRetries())
	res, err := eng.Recognize(t.Context(), vision.Input{Bytes: testJPEG(t, 200, 200)}, vision.Options{Features: []vision.Feature{vision.FeatureText}, TextMinConfidence: 80})
	if err != nil {
		t.Fatal(err)
	}
	if pb.count("DetectLabels")+pb.count("DetectFaces")+pb.count("DetectModerationLabels") != 0 || pb.count("DetectText") != 1 {
		t.Errorf("calls = %v, want DetectText only", pb.calls)
	}
	if res.Labels != nil || res.FaceDetails != nil || res.ModerationLabels != nil || len(res.TextDetections) != 2 {
		t.Errorf("result has sections that were not asked for, or misses text: %+v", res)
	}
	if p := res.TextDetections[1].ParentID; p == nil || *p != 0 {
		t.Errorf("WORD ParentId = %v, want 0", p)
	}
	var req map[string]any
	if err := json.Unmarshal(pb.bodies["DetectText"], &req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"WordFilter": map[string]any{"MinConfidence": float64(80)}}, req["Filters"]); diff != "" {
		t.Errorf("DetectText Filters (-want +got):\n%s", diff)
	}
}

func TestRecognizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    map[string][]reply
		wantCode  string // vision.Error code, "" for a transient error
		wantAPI   string // smithy error code in the chain
		wantCalls int    // DetectLabels calls
	}{
		{
			name:      "rejected image is an image error",
			script:    map[string][]reply{"DetectLabels": {{400, "InvalidImageFormatException.json"}}},
			wantCode:  vision.CodeInvalidImageFormat,
			wantAPI:   "InvalidImageFormatException",
			wantCalls: 1,
		},
		{
			name:      "throttled until attempts run out is transient",
			script:    map[string][]reply{"DetectLabels": {{500, "ThrottlingException.json"}}},
			wantAPI:   "ThrottlingException",
			wantCalls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pb, client := newPlayback(t, tt.script)
			opts := fastRetries()
			opts.MaxAttempts = 3
			eng := rekognition.New(client, opts)
			_, err := eng.Recognize(t.Context(), vision.Input{Bytes: testJPEG(t, 100, 100), Name: "x.jpg"}, vision.Options{Features: []vision.Feature{vision.FeatureLabels}})
			if err == nil {
				t.Fatal("Recognize succeeded, want an error")
			}
			if got := vision.CodeOf(err); got != tt.wantCode {
				t.Errorf("vision code = %q, want %q (err %v)", got, tt.wantCode, err)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantAPI {
				t.Errorf("error %v does not carry API code %s", err, tt.wantAPI)
			}
			if got := pb.count("DetectLabels"); got != tt.wantCalls {
				t.Errorf("DetectLabels called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func encodePNG(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		data       func(t *testing.T) []byte
		limits     rekognition.Limits
		wantSame   bool // sent unchanged
		wantW      int  // of the sent image
		wantH      int
		wantFormat string // of the sent image
		wantInfo   vision.ImageInfo
	}{
		{
			name:     "small PNG goes as it is",
			data:     func(t *testing.T) []byte { return encodePNG(t, pattern(120, 90)) },
			wantSame: true,
			wantW:    120, wantH: 90, wantFormat: "png",
			wantInfo: vision.ImageInfo{Width: 120, Height: 90, Format: "png", OrientationCorrection: "ROTATE_0"},
		},
		{
			name:  "GIF is re-encoded as JPEG",
			data:  func(t *testing.T) []byte { return encodeGIF(t, pattern(160, 100)) },
			wantW: 160, wantH: 100, wantFormat: "jpeg",
			wantInfo: vision.ImageInfo{Width: 160, Height: 100, Format: "gif", OrientationCorrection: "ROTATE_0"},
		},
		{
			name:  "EXIF-rotated JPEG is sent upright",
			data:  func(t *testing.T) []byte { return withOrientation(testJPEG(t, 200, 100), 6) },
			wantW: 100, wantH: 200, wantFormat: "jpeg",
			wantInfo: vision.ImageInfo{Width: 100, Height: 200, Format: "jpeg", OrientationCorrection: "ROTATE_90"},
		},
		{
			name:   "too many pixels a side is scaled down",
			data:   func(t *testing.T) []byte { return testJPEG(t, 400, 100) },
			limits: rekognition.Limits{MaxSide: 300},
			wantW:  300, wantH: 75, wantFormat: "jpeg",
			wantInfo: vision.ImageInfo{Width: 400, Height: 100, Format: "jpeg", OrientationCorrection: "ROTATE_0"},
		},
		{
			name:       "too many bytes is re-encoded smaller",
			data:       func(t *testing.T) []byte { return encodePNG(t, noise(300, 300)) },
			limits:     rekognition.Limits{MaxBytes: 40_000, NormalizeSide: 300},
			wantFormat: "jpeg",
			wantInfo:   vision.ImageInfo{Width: 300, Height: 300, Format: "png", OrientationCorrection: "ROTATE_0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pb, client := newPlayback(t, nil)
			opts := fastRetries()
			opts.Limits = tt.limits
			eng := rekognition.New(client, opts)
			data := tt.data(t)
			res, err := eng.Recognize(t.Context(), vision.Input{Bytes: data}, vision.Options{Features: []vision.Feature{vision.FeatureLabels}})
			if err != nil {
				t.Fatal(err)
			}
			sent, cfg, format := pb.sentImage(t, "DetectLabels")
			if same := bytes.Equal(sent, data); same != tt.wantSame {
				t.Errorf("sent unchanged = %v, want %v", same, tt.wantSame)
			}
			if format != tt.wantFormat || (tt.wantW != 0 && (cfg.Width != tt.wantW || cfg.Height != tt.wantH)) {
				t.Errorf("sent %s %dx%d, want %s %dx%d", format, cfg.Width, cfg.Height, tt.wantFormat, tt.wantW, tt.wantH)
			}
			if max := tt.limits.MaxBytes; max > 0 && len(sent) > max {
				t.Errorf("sent %d bytes, limit %d", len(sent), max)
			}
			if diff := cmp.Diff(&tt.wantInfo, res.Image); diff != "" {
				t.Errorf("Image (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUndecodableImageCostsNoCall(t *testing.T) {
	t.Parallel()
	pb, client := newPlayback(t, nil)
	eng := rekognition.New(client, fastRetries())
	jpg := testJPEG(t, 100, 100)
	_, err := eng.Recognize(t.Context(), vision.Input{Bytes: jpg[:len(jpg)/2]}, vision.Options{})
	if vision.CodeOf(err) != vision.CodeInvalidImageFormat {
		t.Errorf("truncated JPEG: err = %v, want InvalidImageFormatException", err)
	}
	_, err = eng.Recognize(t.Context(), vision.Input{Bytes: []byte("%PDF-1.7 not an image")}, vision.Options{})
	if vision.CodeOf(err) != vision.CodeInvalidImageFormat {
		t.Errorf("PDF: err = %v, want InvalidImageFormatException", err)
	}
	if n := len(pb.calls); n != 0 {
		t.Errorf("the API was called for undecodable images: %v", pb.calls)
	}
}
