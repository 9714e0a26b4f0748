package tfconv

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

const (
	faceAPITarball  = "vladmandic-face-api-1.7.15.tgz"
	faceAPIManifest = "package/model/face_recognition_model-weights_manifest.json"
)

// faceAPIFiles returns the manifest and a shard reader from the cached
// @vladmandic/face-api tarball.
func faceAPIFiles(t *testing.T) ([]byte, func(string) ([]byte, error)) {
	t.Helper()
	tgz := filepath.Join(cacheDir(t), "packages", faceAPITarball)
	if _, err := os.Stat(tgz); err != nil {
		missing(t, "model package %s not cached: %v", faceAPITarball, err)
	}
	files, err := tarFiles(tgz, func(name string) bool { return strings.HasPrefix(name, "package/model/face_recognition_model") })
	if err != nil {
		t.Fatalf("read %s: %v", tgz, err)
	}
	read := func(name string) ([]byte, error) {
		b, ok := files[path.Join(path.Dir(faceAPIManifest), name)]
		if !ok {
			return nil, os.ErrNotExist
		}
		return b, nil
	}
	return files[faceAPIManifest], read
}

// TestFaceRecognitionNetMatchesFaceAPI converts face-api.js's
// FaceRecognitionNet and compares it with face-api's own JavaScript on
// TFJS (tools/faceapiref) on a synthetic image and a photo.
func TestFaceRecognitionNetMatchesFaceAPI(t *testing.T) {
	manifest, read := faceAPIFiles(t)
	initORT(t)
	onnx, err := ConvertFaceRecognitionNet(manifest, read)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	again, err := ConvertFaceRecognitionNet(manifest, read)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(onnx)
	if sum != sha256.Sum256(again) {
		t.Error("conversion is not deterministic")
	}
	if dir := os.Getenv("TFCONV_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "face_recognition.onnx"), onnx, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d bytes, sha256 %s", len(onnx), hex.EncodeToString(sum[:]))
	checkPinnedSHA256(t, "face_recognition.onnx", hex.EncodeToString(sum[:]))
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(onnx)
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the model: %v", err)
	}
	if len(ins) != 1 || ins[0].Name != FaceRecInput || len(outs) != 1 || outs[0].Name != FaceRecOutput {
		t.Fatalf("inputs %v, outputs %v", ins, outs)
	}
	for _, ref := range []string{"face_recognition", "face_recognition.astronaut"} {
		t.Run(ref, func(t *testing.T) { checkReference(t, onnx, FaceRecInput, readReference(t, ref)) })
	}
}

// faceRecManifest builds a manifest of FaceRecognitionNet's weights (all
// float32, shapes as face-api's), edited by edit, and its zero shard.
func faceRecManifest(t *testing.T, edit func([]weightSpec) []weightSpec) ([]byte, []byte) {
	t.Helper()
	var ws []weightSpec
	add := func(prefix string, k, ci, co int64) {
		ws = append(ws,
			weightSpec{Name: prefix + "/conv/filters", Shape: []int64{k, k, ci, co}, Dtype: "float32"},
			weightSpec{Name: prefix + "/conv/bias", Shape: []int64{co}, Dtype: "float32"},
			weightSpec{Name: prefix + "/scale/weights", Shape: []int64{co}, Dtype: "float32"},
			weightSpec{Name: prefix + "/scale/biases", Shape: []int64{co}, Dtype: "float32"})
	}
	add("conv32_down", 7, 3, 32)
	ch := int64(32)
	for _, b := range faceRecBlocks {
		co := ch
		if b.down && b.name != "conv256_down_out" {
			co = 2 * ch
		}
		add(b.name+"/conv1", 3, ch, co)
		add(b.name+"/conv2", 3, co, co)
		ch = co
	}
	ws = append(ws, weightSpec{Name: "fc", Shape: []int64{256, 128}, Dtype: "float32"})
	if edit != nil {
		ws = edit(ws)
	}
	n := int64(0)
	for _, w := range ws {
		k := int64(1)
		for _, d := range w.Shape {
			k *= d
		}
		n += 4 * k
	}
	m, err := json.Marshal([]weightGroup{{Paths: []string{"w.bin"}, Weights: ws}})
	if err != nil {
		t.Fatal(err)
	}
	return m, make([]byte, n)
}

func TestConvertFaceRecognitionNetRejects(t *testing.T) {
	rename := func(from, to string) func([]weightSpec) []weightSpec {
		return func(ws []weightSpec) []weightSpec {
			for i := range ws {
				if ws[i].Name == from {
					ws[i].Name = to
				}
			}
			return ws
		}
	}
	tests := []struct {
		name string
		edit func([]weightSpec) []weightSpec
		json string
		want string
	}{
		{name: "the synthetic net converts"},
		{name: "not JSON", json: "{", want: "parse weights manifest"},
		{name: "a graph model's model.json", json: `{"format":"graph-model"}`, want: "parse weights manifest"},
		{name: "missing weight", edit: rename("conv64_2/conv1/scale/weights", "x"), want: `"conv64_2/conv1/scale/weights": missing`},
		{name: "extra weight", edit: func(ws []weightSpec) []weightSpec {
			return append(ws, weightSpec{Name: "extra", Shape: []int64{1}, Dtype: "float32"})
		}, want: `"extra": not part of FaceRecognitionNet`},
		{name: "wrong channels", edit: func(ws []weightSpec) []weightSpec {
			ws[4].Shape = []int64{3, 3, 16, 32}
			return ws
		}, want: "shape [3 3 16 32], want float32 [3 3 32 32]"},
		{name: "wrong fc", edit: func(ws []weightSpec) []weightSpec {
			ws[len(ws)-1].Shape = []int64{128, 256}
			return ws
		}, want: `"fc": shape [128 256]`},
		{name: "block not doubling channels", edit: func(ws []weightSpec) []weightSpec {
			for i := range ws {
				if strings.HasPrefix(ws[i].Name, "conv256_down_out/") && strings.HasSuffix(ws[i].Name, "filters") {
					ws[i].Shape[3] = 128
					if strings.Contains(ws[i].Name, "/conv2/") {
						ws[i].Shape[2] = 128
					}
				} else if strings.HasPrefix(ws[i].Name, "conv256_down_out/") {
					ws[i].Shape = []int64{128}
				}
			}
			return ws
		}, want: "conv256_down_out: shortcut has 256 channels, block 128"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, bin := faceRecManifest(t, tc.edit)
			if tc.json != "" {
				m = []byte(tc.json)
			}
			out, err := ConvertFaceRecognitionNet(m, func(string) ([]byte, error) { return bin, nil })
			if tc.want == "" {
				if err != nil || len(out) == 0 {
					t.Fatalf("err %v, %d bytes", err, len(out))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("missing shard", func(t *testing.T) {
		m, _ := faceRecManifest(t, nil)
		_, err := ConvertFaceRecognitionNet(m, func(string) ([]byte, error) { return nil, os.ErrNotExist })
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err %v, want ErrNotExist", err)
		}
	})
}

// FuzzConvertFaceRecognitionNet feeds untrusted manifest bytes: an error
// or a model, never a panic.
func FuzzConvertFaceRecognitionNet(f *testing.F) {
	f.Add([]byte(`[{"paths":["w.bin"],"weights":[{"name":"fc","shape":[256,128],"dtype":"float32"}]}]`), []byte{1, 2, 3, 4})
	f.Add([]byte(`[{"paths":["w.bin"],"weights":[{"name":"conv32_down/conv/filters","shape":[7,7,3,1],"dtype":"float32","quantization":{"dtype":"uint8","min":0,"scale":1}}]}]`), make([]byte, 147))
	f.Fuzz(func(t *testing.T, m, bin []byte) {
		out, err := ConvertFaceRecognitionNet(m, func(string) ([]byte, error) { return bin, nil })
		if err == nil && len(out) == 0 {
			t.Error("no error and no model")
		}
	})
}
