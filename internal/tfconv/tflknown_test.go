package tfconv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/imageio"
)

// labelLines reads a Coral label file, one label a line.
func labelLines(tb testing.TB, name string) []string {
	tb.Helper()
	return strings.Split(strings.TrimRight(string(coralFile(tb, name)), "\n"), "\n")
}

// photo decodes a repository photo resized to size x size.
func photo(tb testing.TB, path string, size int) qtensor {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(tb), path))
	if err != nil {
		tb.Fatal(err)
	}
	im, err := imageio.Decode(context.Background(), b, imageio.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	x := qtensor{shape: []int{1, size, size, 3}}
	for _, v := range im.Resize(size, size).Pix {
		x.q = append(x.q, int32(v))
	}
	return x
}

// classShares counts the share of pixels of each class id in a map.
func classShares(m []float32) map[int]float64 {
	s := map[int]float64{}
	for _, v := range m {
		s[int(v)] += 1 / float64(len(m))
	}
	return s
}

func convertCoral(t *testing.T, name string, opts TFLiteOptions) ([]byte, TFLiteInfo) {
	t.Helper()
	data := coralFile(t, name+".tflite")
	info, err := InspectTFLite(data)
	if err != nil {
		t.Fatal(err)
	}
	onnx, err := ConvertTFLite(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	return onnx, info
}

// TestTFLiteKnownAnswers runs the converted models on licensed photos and
// checks what a person sees in them.
func TestTFLiteKnownAnswers(t *testing.T) {
	initORT(t)
	classifiers := []struct {
		model, labels, photo string
		want                 []string // the top-1 label contains one of these
	}{
		{"mobilenet_v2_1.0_224_quant", "imagenet_labels.txt", "testdata/images/chelsea.jpg", []string{"tabby", "tiger cat", "Egyptian cat"}},
		{"mobilenet_v2_1.0_224_quant", "imagenet_labels.txt", "testdata/images/coffee.jpg", []string{"espresso", "cup", "coffee mug"}},
		{"mobilenet_v2_1.0_224_quant", "imagenet_labels.txt", "testdata/images/dog.jpg", dogBreeds},
		{"tf2_mobilenet_v2_1.0_224_ptq", "imagenet_labels.txt", "testdata/images/chelsea.jpg", []string{"tabby", "tiger cat", "Egyptian cat"}},
		{"tf2_mobilenet_v2_1.0_224_ptq", "imagenet_labels.txt", "testdata/images/coffee.jpg", []string{"espresso", "cup", "coffee mug"}},
		{"tf2_mobilenet_v2_1.0_224_ptq", "imagenet_labels.txt", "testdata/images/dog.jpg", dogBreeds},
		{"mobilenet_v2_1.0_224_inat_bird_quant", "inat_bird_labels.txt", "internal/vision/onnx/testdata/eagle.jpg", []string{"Eagle"}},
	}
	for _, tc := range classifiers {
		t.Run(tc.model+"/"+filepath.Base(tc.photo), func(t *testing.T) {
			onnx, info := convertCoral(t, tc.model, TFLiteOptions{})
			labels := labelLines(t, tc.labels)
			p := runTFLiteONNX(t, onnx, info.Inputs[0].Name, photo(t, tc.photo, 224), []string{info.Outputs[0].Name})[0]
			if len(p) != len(labels) {
				t.Fatalf("%d scores for %d labels", len(p), len(labels))
			}
			best := 0
			for i, v := range p {
				if v > p[best] {
					best = i
				}
			}
			t.Logf("top-1 %d %q %.3f", best, labels[best], p[best])
			if !slices.ContainsFunc(tc.want, func(w string) bool { return strings.Contains(labels[best], w) }) {
				t.Errorf("top-1 %q (%.3f), want one of %q", labels[best], p[best], tc.want)
			}
		})
	}
	segmenters := []struct {
		model, photo string
		size         int
		min          map[string]float64 // class ids ("a|b": either) -> least share of pixels
	}{
		// Cityscapes ids: 0 road, 2 building, 8 vegetation, 9 terrain,
		// 10 sky, 11 person, 13 car, 14 truck.
		{"deeplab_mobilenet_edgetpu_slim_cityscapes_quant", "testdata/images/person.jpg", 513, map[string]float64{"10": 0.2, "11": 0.01}},
		{"deeplab_mobilenet_edgetpu_slim_cityscapes_quant", "testdata/images/dog.jpg", 513, map[string]float64{"8": 0.1, "0": 0.1}},
		{"deeplab_mobilenet_edgetpu_slim_cityscapes_quant", "testdata/images/person.jpg", 257, map[string]float64{"10": 0.2, "11": 0.01}},
		// PASCAL VOC ids: 2 bicycle, 8 cat, 10 cow, 12 dog, 13 horse,
		// 15 person. The white horse of person.jpg comes out as a cow
		// (as in TFLite itself: TestTFLiteCoralAgreement).
		{"deeplabv3_mnv2_pascal_quant", "testdata/images/chelsea.jpg", 513, map[string]float64{"8": 0.5}},
		{"deeplabv3_mnv2_pascal_quant", "testdata/images/dog.jpg", 513, map[string]float64{"12": 0.05, "2": 0.02}},
		{"deeplabv3_mnv2_pascal_quant", "testdata/images/person.jpg", 257, map[string]float64{"10|13": 0.03, "15": 0.02}},
	}
	for _, tc := range segmenters {
		t.Run(fmt.Sprintf("%s/%s/%d", tc.model, filepath.Base(tc.photo), tc.size), func(t *testing.T) {
			opts := TFLiteOptions{}
			if tc.size != 513 {
				opts.InputHeight, opts.InputWidth = tc.size, tc.size
			}
			onnx, info := convertCoral(t, tc.model, opts)
			m := runTFLiteONNX(t, onnx, info.Inputs[0].Name, photo(t, tc.photo, tc.size), []string{info.Outputs[0].Name})[0]
			if len(m) != tc.size*tc.size {
				t.Fatalf("%d pixels, want %d", len(m), tc.size*tc.size)
			}
			shares := classShares(m)
			t.Logf("class shares %v", fmtShares(shares))
			for ids, least := range tc.min {
				var share float64
				for _, id := range strings.Split(ids, "|") {
					n, err := strconv.Atoi(id)
					if err != nil {
						t.Fatal(err)
					}
					share += shares[n]
				}
				if share < least {
					t.Errorf("class %s covers %.3f of the pixels, want at least %.2f", ids, share, least)
				}
			}
		})
	}
}

// dogBreeds are words of the ImageNet dog classes seen on dog.jpg.
var dogBreeds = []string{"elkhound", "shepherd", "malamute", "husky", "collie", "retriever", "Leonberg", "Tibetan mastiff", "Eskimo dog", "Border collie", "Bernese", "keeshond", "Newfoundland", "Appenzeller", "EntleBucher", "kelpie"}

func fmtShares(s map[int]float64) string {
	var ids []int
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "%d:%.3f ", id, s[id])
	}
	return b.String()
}
