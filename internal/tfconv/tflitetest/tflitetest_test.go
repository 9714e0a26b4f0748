package tflitetest_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/tfconv/tflitetest"
)

// These tests run the real Coral models in TFLite's own interpreter on
// real photos (testdata/images at the repository root). Without the
// harness (tools/tfliteref/install.sh) or the models (../shared/models/coral)
// they skip, unless CI is set: then they fail.

// jobTimeout bounds one job; the slowest here (DeepLab, 3 runs) takes ~10 s.
const jobTimeout = 3 * time.Minute

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	t.Cleanup(cancel)
	return ctx
}

// photoInput decodes a shared test photo, resizes it to size x size and
// returns it as a uint8 [1,size,size,3] tensor.
func photoInput(t testing.TB, name string, size int) tflitetest.Tensor {
	t.Helper()
	root, err := tflitetest.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	im, err := imageio.Decode(context.Background(), b, imageio.Options{})
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return tflitetest.Tensor{DType: "uint8", Shape: []int{1, size, size, 3}, Data: im.Resize(size, size).Pix}
}

// gradient is a synthetic uint8 [1,size,size,3] image.
func gradient(size int) tflitetest.Tensor {
	b := make([]byte, size*size*3)
	for y := range size {
		for x := range size {
			p := 3 * (y*size + x)
			b[p], b[p+1], b[p+2] = byte(255*x/size), byte(255*y/size), byte((x*y)&255)
		}
	}
	return tflitetest.Tensor{DType: "uint8", Shape: []int{1, size, size, 3}, Data: b}
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func argmax(b []byte) int {
	best := 0
	for i, v := range b {
		if v > b[best] {
			best = i
		}
	}
	return best
}

func logTimings(t testing.TB, res *tflitetest.Result) {
	t.Helper()
	t.Logf("chromium %s: launch %v, model load %v, %d runs %v (Invoke %v), node process %v",
		res.Chromium, res.Timings.Launch, res.Timings.Load, len(res.Outputs), res.Timings.Runs, res.Infer, res.Timings.Total)
}

// TestMobileNetPhotos: the ImageNet classifier names a dog breed for the
// dog photo and a domestic cat for the cat photo, both in one job.
func TestMobileNetPhotos(t *testing.T) {
	h := tflitetest.Require(t)
	coral := tflitetest.CoralDir(t)
	labels := readLines(t, filepath.Join(coral, "imagenet_labels.txt"))
	if len(labels) != 1001 {
		t.Fatalf("imagenet_labels.txt has %d lines, want 1001", len(labels))
	}
	cases := []struct {
		photo  string
		lo, hi int // top-1 class range in the 1001 labels (0 = background)
		what   string
	}{
		{"dog.jpg", 152, 269, "a dog breed (Chihuahua .. Mexican hairless)"},
		{"chelsea.jpg", 282, 286, "a domestic cat (tabby .. Egyptian cat)"},
	}
	var runs [][]tflitetest.Tensor
	for _, c := range cases {
		runs = append(runs, []tflitetest.Tensor{photoInput(t, c.photo, 224)})
	}
	res, err := h.RunAll(ctxFor(t), filepath.Join(coral, "mobilenet_v2_1.0_224_quant.tflite"), runs)
	if err != nil {
		t.Fatal(err)
	}
	logTimings(t, res)
	for i, c := range cases {
		out := res.Outputs[i][0]
		if out.DType != "uint8" || len(out.Data) != 1001 {
			t.Fatalf("%s: output %s %v, want uint8 [1,1001]", c.photo, out.DType, out.Shape)
		}
		top := argmax(out.Data)
		t.Logf("%s: top-1 %d %q, p=%.2f", c.photo, top, labels[top], float64(out.Data[top])/256)
		if top < c.lo || top > c.hi {
			t.Errorf("%s: top-1 is %d %q, want %s", c.photo, top, labels[top], c.what)
		}
	}
}

// TestCoralModels: all six models load, report the inputs and outputs the
// Coral README states, and give outputs of that dtype and shape on a real
// photo and a synthetic image.
func TestCoralModels(t *testing.T) {
	h := tflitetest.Require(t)
	coral := tflitetest.CoralDir(t)
	tests := []struct {
		file     string
		size     int    // input side
		outDType string // as the model declares it
		outShape []int
		classes  int    // segmenters: class ids are below this
		photo    string // segmenters: a photo whose class mix is checked
		present  []int  // segmenters: class ids that must each cover >= 2% of the photo
	}{
		{file: "mobilenet_v2_1.0_224_quant.tflite", size: 224, outDType: "uint8", outShape: []int{1, 1001}},
		{file: "tf2_mobilenet_v2_1.0_224_ptq.tflite", size: 224, outDType: "uint8", outShape: []int{1, 1001}},
		{file: "mobilenet_v2_1.0_224_inat_bird_quant.tflite", size: 224, outDType: "uint8", outShape: []int{1, 965}},
		{file: "mobilenet_v2_1.0_224_inat_insect_quant.tflite", size: 224, outDType: "uint8", outShape: []int{1, 1022}},
		// Cityscapes (19 train ids): dog.jpg is no street scene; only
		// checked to hold more than one class.
		{file: "deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite", size: 513, outDType: "int64", outShape: []int{1, 513, 513}, classes: 19, photo: "dog.jpg"},
		// PASCAL VOC: person.jpg shows a person (15) on a horse (13).
		{file: "deeplabv3_mnv2_pascal_quant.tflite", size: 513, outDType: "int64", outShape: []int{1, 513, 513}, classes: 21, photo: "person.jpg", present: []int{13, 15}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".tflite"), func(t *testing.T) {
			photo := tt.photo
			if photo == "" {
				photo = "dog.jpg"
			}
			res, err := h.RunAll(ctxFor(t), filepath.Join(coral, tt.file), [][]tflitetest.Tensor{
				{photoInput(t, photo, tt.size)}, {gradient(tt.size)},
			})
			if err != nil {
				t.Fatal(err)
			}
			logTimings(t, res)
			m := res.Model
			t.Logf("inputs %+v outputs %+v; tfjs says inputs %+v outputs %+v", m.Inputs, m.Outputs, m.TFJSInputs, m.TFJSOutputs)
			inShape := []int{1, tt.size, tt.size, 3}
			if len(m.Inputs) != 1 || m.Inputs[0].DType != "uint8" || !equal(m.Inputs[0].Shape, inShape) {
				t.Errorf("inputs %+v, want one uint8 %v", m.Inputs, inShape)
			}
			if len(m.Outputs) != 1 || m.Outputs[0].DType != tt.outDType || !equal(m.Outputs[0].Shape, tt.outShape) {
				t.Errorf("outputs %+v, want one %s %v", m.Outputs, tt.outDType, tt.outShape)
			}
			for r, outs := range res.Outputs {
				if len(outs) != 1 {
					t.Fatalf("run %d: %d outputs, want 1", r, len(outs))
				}
				o := outs[0]
				if o.DType != tt.outDType || !equal(o.Shape, tt.outShape) {
					t.Fatalf("run %d: output %s %v, want %s %v", r, o.DType, o.Shape, tt.outDType, tt.outShape)
				}
				if tt.classes == 0 {
					checkSoftmax(t, r, o)
					continue
				}
				share := classShares(t, r, o, tt.classes)
				t.Logf("run %d: class shares %v", r, share)
				for _, c := range tt.present {
					if r == 0 && share[c] < 0.02 {
						t.Errorf("%s: class %d covers %.3f of the image, want >= 0.02", photo, c, share[c])
					}
				}
				if r == 0 && len(share) < 2 {
					t.Errorf("%s: one class everywhere (%v)", photo, share)
				}
			}
		})
	}
}

// checkSoftmax: a uint8 softmax (scale 1/256) has a non-zero top class
// and sums to at most about 256 (small probabilities round to 0, so a flat
// distribution sums to less).
func checkSoftmax(t *testing.T, r int, o tflitetest.Tensor) {
	t.Helper()
	sum := 0
	for _, v := range o.Data {
		sum += int(v)
	}
	top := o.Data[argmax(o.Data)]
	t.Logf("run %d: softmax bytes sum to %d, top %d/256", r, sum, top)
	if top == 0 || sum > 300 {
		t.Errorf("run %d: softmax bytes sum to %d with top %d, want a top above 0 and a sum of at most about 256", r, sum, top)
	}
}

// classShares returns the share of pixels of each class id in an int64
// class map, failing on an id outside [0, classes).
func classShares(t *testing.T, r int, o tflitetest.Tensor, classes int) map[int]float64 {
	t.Helper()
	n := o.Len()
	counts := map[int]int{}
	for i := range n {
		v := int64(binary.LittleEndian.Uint64(o.Data[8*i:]))
		if v < 0 || v >= int64(classes) {
			t.Fatalf("run %d: class id %d at %d, want 0..%d", r, v, i, classes-1)
		}
		counts[int(v)]++
	}
	share := map[int]float64{}
	for k, c := range counts {
		share[k] = float64(c) / float64(n)
	}
	return share
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
