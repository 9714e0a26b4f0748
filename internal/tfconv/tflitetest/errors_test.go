package tflitetest_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/tfconv/tflitetest"
)

// TestInputDTypes: an int32 tensor holding 0..255 feeds the uint8 model
// and gives byte-identical outputs to the uint8 tensor (both are written
// into TFLite's uint8 input buffer unchanged); the same run twice gives
// the same bytes (numThreads 1).
func TestInputDTypes(t *testing.T) {
	h := tflitetest.Require(t)
	coral := tflitetest.CoralDir(t)
	u8 := photoInput(t, "coffee.jpg", 224)
	i32 := tflitetest.Tensor{DType: "int32", Shape: u8.Shape, Data: make([]byte, 4*len(u8.Data))}
	for i, v := range u8.Data {
		binary.LittleEndian.PutUint32(i32.Data[4*i:], uint32(v))
	}
	res, err := h.RunAll(ctxFor(t), filepath.Join(coral, "mobilenet_v2_1.0_224_quant.tflite"),
		[][]tflitetest.Tensor{{u8}, {i32}, {u8}})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := res.Outputs[0][0].Data, res.Outputs[1][0].Data, res.Outputs[2][0].Data
	if string(a) != string(b) {
		t.Error("int32 input gave other outputs than the same values as uint8")
	}
	if string(a) != string(c) {
		t.Error("the same input twice gave different outputs")
	}
}

// TestBadInput: every bad job fails with an error that says what is wrong.
func TestBadInput(t *testing.T) {
	h := tflitetest.Require(t)
	coral := tflitetest.CoralDir(t)
	mobilenet := filepath.Join(coral, "mobilenet_v2_1.0_224_quant.tflite")
	dir := t.TempDir()
	notModel := filepath.Join(dir, "photo.tflite")
	jpeg, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "images", "dog.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notModel, jpeg, 0o600); err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile(mobilenet)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.tflite")
	if err := os.WriteFile(truncated, model[:len(model)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	good := gradient(224)
	int32Of := func(v uint32) tflitetest.Tensor {
		in := tflitetest.Tensor{DType: "int32", Shape: good.Shape, Data: make([]byte, 4*good.Len())}
		binary.LittleEndian.PutUint32(in.Data[4*7:], v)
		return in
	}
	tests := []struct {
		name  string
		model string
		runs  [][]tflitetest.Tensor
		want  string
	}{
		{"no runs", mobilenet, nil, "no runs"},
		{"missing model", filepath.Join(dir, "none.tflite"), [][]tflitetest.Tensor{{good}}, "no such file"},
		{"data size", mobilenet, [][]tflitetest.Tensor{{{DType: "uint8", Shape: []int{1, 224, 224, 3}, Data: good.Data[:100]}}}, "100 bytes of data"},
		{"unknown dtype", mobilenet, [][]tflitetest.Tensor{{{DType: "complex64", Shape: []int{1}, Data: make([]byte, 8)}}}, `dtype "complex64"`},
		{"not a model", notModel, [][]tflitetest.Tensor{{good}}, "load model"},
		{"truncated model", truncated, [][]tflitetest.Tensor{{good}}, "load model"},
		{"wrong shape", mobilenet, [][]tflitetest.Tensor{{gradient(100)}}, "shape [1,100,100,3] given, the model wants [1,224,224,3]"},
		{"wrong dtype", mobilenet, [][]tflitetest.Tensor{{{DType: "float32", Shape: good.Shape, Data: make([]byte, 4*good.Len())}}}, "dtype float32 given, the model wants uint8"},
		{"int32 out of range", mobilenet, [][]tflitetest.Tensor{{int32Of(256)}}, "value 256 at 7 does not fit the model's uint8"},
		{"too many inputs", mobilenet, [][]tflitetest.Tensor{{good, good}}, "2 inputs given, the model has 1"},
		{"bad second run", mobilenet, [][]tflitetest.Tensor{{good}, {gradient(100)}}, "run 1 input 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.RunAll(ctxFor(t), tt.model, tt.runs)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want one containing %q", err, tt.want)
			}
			t.Logf("%v", err)
		})
	}
}

// TestTimeout: a job that outlasts ctx ends with a time-out error, and
// soon (Chromium is ended with it).
func TestTimeout(t *testing.T) {
	h := tflitetest.Require(t)
	coral := tflitetest.CoralDir(t)
	in := gradient(513)
	runs := make([][]tflitetest.Tensor, 50) // ~50 s of DeepLab
	for i := range runs {
		runs[i] = []tflitetest.Tensor{in}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	start := time.Now()
	_, err := h.RunAll(ctx, filepath.Join(coral, "deeplabv3_mnv2_pascal_quant.tflite"), runs)
	took := time.Since(start)
	if err == nil {
		t.Fatal("no error, want a time-out")
	}
	t.Logf("after %v: %v", took, err)
	if !strings.Contains(err.Error(), "timed out") && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q, want a time-out", err)
	}
	if took > 20*time.Second {
		t.Errorf("took %v to give up, want about 12 s", took)
	}
}

// TestFindNotInstalled: an empty cache gives ErrNotInstalled, naming what
// to run.
func TestFindNotInstalled(t *testing.T) {
	empty := t.TempDir()
	getenv := func(k string) string {
		if k == "IMAGEREC_CACHE" {
			return empty
		}
		return ""
	}
	_, err := tflitetest.Find(getenv, ".")
	if !errors.Is(err, tflitetest.ErrNotInstalled) {
		t.Fatalf("Find with an empty cache: %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "install.sh") {
		t.Errorf("error %q does not say how to install", err)
	}
}
