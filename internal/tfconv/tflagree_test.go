package tfconv

import (
	"context"
	"encoding/binary"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/tfconv/tflitetest"
)

// agreementPhotos are the licensed photos of the repository (see the
// READMEs beside them); each gives two inputs, the whole frame squashed
// to the model's size and its centre square.
var agreementPhotos = []string{
	"testdata/images/dog.jpg", "testdata/images/person.jpg", "testdata/images/rocket.jpg",
	"testdata/images/chelsea.jpg", "testdata/images/coffee.jpg", "testdata/images/astronaut.jpg",
	"testdata/images/text.png", "internal/vision/onnx/testdata/eagle.jpg",
	"internal/vision/onnx/testdata/horses.jpg", "internal/vision/onnx/testdata/scream.jpg",
	"internal/vision/onnx/testdata/faces/camera.png", "internal/vision/onnx/testdata/ocr/page.png",
}

// photoTensors decodes the agreement photos into uint8 [1,size,size,3]
// inputs, two per photo.
func photoTensors(tb testing.TB, size int) (names []string, tensors [][]byte) {
	tb.Helper()
	root := repoRoot(tb)
	for _, p := range agreementPhotos {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			tb.Fatal(err)
		}
		im, err := imageio.Decode(context.Background(), b, imageio.Options{})
		if err != nil {
			tb.Fatalf("decode %s: %v", p, err)
		}
		side := min(im.Width, im.Height)
		x0, y0 := (im.Width-side)/2, (im.Height-side)/2
		crop := im.Crop(image.Rect(x0, y0, x0+side, y0+side))
		names = append(names, filepath.Base(p), filepath.Base(p)+" centre")
		tensors = append(tensors, im.Resize(size, size).Pix, crop.Resize(size, size).Pix)
	}
	return names, tensors
}

// refInts reads an integer reference output (uint8, or the int64/int32 of
// ARG_MAX).
func refInts(tb testing.TB, t tflitetest.Tensor) []int64 {
	tb.Helper()
	size := tflitetest.DTypeSize(t.DType)
	out := make([]int64, 0, len(t.Data)/max(size, 1))
	for i := 0; i+size <= len(t.Data); i += size {
		switch t.DType {
		case "uint8":
			out = append(out, int64(t.Data[i]))
		case "int32":
			out = append(out, int64(int32(binary.LittleEndian.Uint32(t.Data[i:]))))
		case "int64":
			out = append(out, int64(binary.LittleEndian.Uint64(t.Data[i:])))
		default:
			tb.Fatalf("reference output of type %s", t.DType)
		}
	}
	return out
}

// TestTFLiteCoralAgreement converts each Coral model and compares ONNX
// Runtime's outputs with TensorFlow Lite's own interpreter on the same
// input tensors from real photos: classifier probabilities in
// quantisation steps (1/256) with identical top-1, segmentation class maps
// pixel by pixel.
func TestTFLiteCoralAgreement(t *testing.T) {
	h := tflitetest.Require(t)
	for _, cm := range coralModels {
		t.Run(cm.name, func(t *testing.T) {
			data := coralFile(t, cm.name+".tflite")
			names, inputs := photoTensors(t, cm.size)
			var runs [][]tflitetest.Tensor
			for _, in := range inputs {
				runs = append(runs, []tflitetest.Tensor{{DType: "uint8", Shape: []int{1, cm.size, cm.size, 3}, Data: in}})
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
			defer cancel()
			ref, err := h.RunAll(ctx, filepath.Join(repoRoot(t), "..", "shared", "models", "coral", cm.name+".tflite"), runs)
			if err != nil {
				t.Fatalf("TFLite reference: %v", err)
			}
			info, err := InspectTFLite(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tfliteVariants {
				if v.opts.Form == TFLiteFloat && cm.name != "mobilenet_v2_1.0_224_quant" && cm.kind != "segmenter" {
					continue // measured once per kind: see the package doc
				}
				t.Run(v.name, func(t *testing.T) {
					onnx, err := ConvertTFLite(data, v.opts)
					if err != nil {
						t.Fatal(err)
					}
					got := runPhotos(t, onnx, info.Inputs[0].Name, info.Outputs[0].Name, cm.size, inputs)
					if cm.kind == "segmenter" {
						checkClassMaps(t, v.opts.Form, names, got, ref)
						return
					}
					checkClassifier(t, v.opts.Form, names, got, ref, info.Outputs[0])
				})
			}
		})
	}
}

func runPhotos(t *testing.T, model []byte, input, output string, size int, inputs [][]byte) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, in := range inputs {
		x := qtensor{shape: []int{1, size, size, 3}, q: make([]int32, len(in))}
		for i, v := range in {
			x.q[i] = int32(v)
		}
		out = append(out, runTFLiteONNX(t, model, input, x, []string{output})[0])
	}
	return out
}

func checkClassifier(t *testing.T, form TFLiteForm, names []string, got [][]float32, ref *tflitetest.Result, out TFLiteTensor) {
	var maxSteps, off, n, top1 int
	var sum float64
	for r := range got {
		want := refInts(t, ref.Outputs[r][0])
		if len(want) != len(got[r]) {
			t.Fatalf("%s: %d values, reference %d", names[r], len(got[r]), len(want))
		}
		best, bestRef := 0, 0
		for i, v := range got[r] {
			q := int64(math.Round(float64(v)/float64(out.Scale[0]))) + out.ZeroPoint[0]
			d := q - want[i]
			if d < 0 {
				d = -d
			}
			maxSteps = max(maxSteps, int(d))
			if d > 0 {
				off++
			}
			sum += float64(d)
			n++
			if v > got[r][best] {
				best = i
			}
			if want[i] > want[bestRef] {
				bestRef = i
			}
		}
		// A reference tie at the top accepts either class.
		if best == bestRef || want[best] == want[bestRef] {
			top1++
		} else if form == TFLiteQuantized {
			t.Errorf("%s: top-1 %d, reference %d", names[r], best, bestRef)
		}
	}
	t.Logf("%d inputs: top-1 identical on %d; max %d steps, mean %.4f steps, %d of %d values off",
		len(got), top1, maxSteps, sum/float64(n), off, n)
	switch {
	case form == TFLiteQuantized && (maxSteps > 1 || off*1000 > n):
		t.Errorf("outputs: max %d steps, %d of %d values off (want at most one step, on at most 0.1%%)", maxSteps, off, n)
	case form == TFLiteFloat && top1*10 < len(got)*8:
		t.Errorf("float form: top-1 identical on only %d of %d inputs", top1, len(got))
	}
}

func checkClassMaps(t *testing.T, form TFLiteForm, names []string, got [][]float32, ref *tflitetest.Result) {
	var same, n int
	worst := 1.0
	for r := range got {
		want := refInts(t, ref.Outputs[r][0])
		if len(want) != len(got[r]) {
			t.Fatalf("%s: %d pixels, reference %d", names[r], len(got[r]), len(want))
		}
		s := 0
		for i, v := range got[r] {
			if int64(v) == want[i] {
				s++
			}
		}
		same += s
		n += len(want)
		worst = math.Min(worst, float64(s)/float64(len(want)))
	}
	t.Logf("%d inputs: %.3f%% of pixels in the reference's class (worst input %.3f%%)", len(got), 100*float64(same)/float64(n), 100*worst)
	want := 0.999
	if form == TFLiteFloat {
		want = 0.85
	}
	if float64(same) < want*float64(n) {
		t.Errorf("class maps: %.3f%% of pixels agree, want %.1f%%", 100*float64(same)/float64(n), 100*want)
	}
}
