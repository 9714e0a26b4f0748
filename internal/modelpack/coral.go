package modelpack

import "github.com/imagerec/imagerec/internal/tfconv"

// The coral assets: TFLite models and their label files from the remote
// remoteCoral. Facts from ../shared/models/coral/README.md. The .tflite
// files are kept as they are under sources/coral/ (sources for the TFLite
// converter); the label files are copied to models/; the models the
// engine runs are converted to models/<name>.onnx by tfconv.ConvertTFLite.
//
// Every converted graph takes float32 NHWC [1,N,N,3] holding the raw
// 0-255 RGB values (the graph quantises them as TFLite does) and returns
// float32 real values. They run TFLite's integer arithmetic (the quantized
// form, uint8 weights: exact on every CPU); against TFLite's own
// interpreter their outputs are identical on the photos of
// internal/tfconv's TestTFLiteCoralAgreement.

// coralFile declares a remote file kept or copied unchanged; its sha256 is
// the remote's pin.
func coralFile(name, file, path string, task Task, notes string) Asset {
	var sum string
	for _, r := range Remotes() {
		if r.Name == remoteCoral {
			sum = r.Files[path]
		}
	}
	return Asset{
		Name: name, File: file, Task: task, SHA256: sum,
		Source:  Source{Remote: remoteCoral, Path: path, Format: FormatCopy},
		Licence: "Apache-2.0 (google-coral/test_data)",
		Notes:   notes,
	}
}

// coralSource declares a .tflite file kept under sources/coral/.
func coralSource(name, path, notes string) Asset {
	return coralFile(name, "sources/"+remoteCoral+"/"+path, path, TaskSource, notes)
}

// deeplabLogits is the Coral DeepLab models' class-logit tensor, before
// their final RESIZE_BILINEAR to the input size and ARG_MAX.
const deeplabLogits = "logits/semantic/BiasAdd;logits/semantic/Conv2D;logits/semantic/biases1"

// DeepLab input sizes (513 in the files). Cityscapes runs on the whole
// image at 193: about 16 ms of CPU instead of 110 at 513 or 24 at 257. Its
// class maps move at small sizes (see the Notes and internal/tfconv's
// TestTFLiteDeepLabSizes), but the labels the engine takes from it (sky,
// vegetation, terrain, streets) scored the same at 193 and 257 on the
// development set (testdata/devset). PASCAL only looks at crops around
// single objects the detector is unsure of, which fill its input: 161,
// about 10 ms per crop.
const (
	cityscapesSide = 193
	pascalSide     = 161
)

// deeplabOptions converts a DeepLab model for a side x side input, cut at
// its logits.
func deeplabOptions(side int) tfconv.TFLiteOptions {
	return tfconv.TFLiteOptions{Outputs: []string{deeplabLogits}, InputHeight: side, InputWidth: side}
}

// deeplabGrid is the logits' grid side for an input side (output stride
// 16, align_corners sizes).
func deeplabGrid(side int) int64 { return int64((side-1)/16 + 1) }

// coralConverted declares a model converted from a coral .tflite file.
func coralConverted(name, path string, task Task, opts tfconv.TFLiteOptions, sum string, in Input, out Output, labels, notes string) Asset {
	return Asset{
		Name: name, File: "models/" + name + ".onnx", Task: task, SHA256: sum,
		Source:  Source{Remote: remoteCoral, Path: path, Format: FormatTFLite, TFLite: opts},
		Licence: "Apache-2.0 (google-coral/test_data)",
		Inputs:  []Input{in}, Outputs: []Output{out}, Labels: []string{labels},
		Notes: notes,
	}
}

// rawRGB is the converted graphs' input: RGB 0-255 as they are.
func rawRGB(name string, side int64, resize string) Input {
	return Input{Name: name, Shape: []int64{1, side, side, 3}, Layout: NHWC, Colour: RGB, Norm: Range255, Resize: resize}
}

func coralModels() []Asset {
	cg, pg := deeplabGrid(cityscapesSide), deeplabGrid(pascalSide)
	return []Asset{
		coralConverted("mnv2-imagenet", "mobilenet_v2_1.0_224_quant.tflite", TaskClassify, tfconv.TFLiteOptions{},
			"50f2b03727b1559967c776e84493701f554e841517a5c8a614f57eb013c1e59c",
			rawRGB("input", 224, "stretch"),
			Output{Name: "MobilenetV2/Predictions/Softmax", Shape: []int64{1, 1001}, Meaning: "P(class), steps of 1/256; class 0 is background"},
			"imagenet-labels", "MobileNetV2 1.0 ImageNet-1k, uint8 (TF1); 70.8% top-1 per TFLite's hosted-models table; about 11 ms CPU per run"),
		coralConverted("mnv2-inat-bird", "mobilenet_v2_1.0_224_inat_bird_quant.tflite", TaskClassify, tfconv.TFLiteOptions{},
			"11177ee014be502e5897f956b044a0a8fb966540020986c5c3728ea3a3357e2a",
			rawRGB("map/TensorArrayStack/TensorArrayGatherV3", 224, "stretch (a crop around the bird)"),
			Output{Name: "prediction", Shape: []int64{1, 965}, Meaning: "P(species), steps of 1/256; class 964 is background"},
			"inat-bird-labels", "MobileNetV2 iNaturalist birds, 964 species; about 11 ms CPU per run"),
		coralConverted("mnv2-inat-insect", "mobilenet_v2_1.0_224_inat_insect_quant.tflite", TaskClassify, tfconv.TFLiteOptions{},
			"4d40df8556068168bcb9019b671fbf4b228414ec7783c993fee933c800eb4f47",
			rawRGB("map/TensorArrayStack/TensorArrayGatherV3", 224, "stretch"),
			Output{Name: "prediction", Shape: []int64{1, 1022}, Meaning: "P(species), steps of 1/256; class 1021 is background"},
			"inat-insect-labels", "MobileNetV2 iNaturalist insects, 1021 species; about 12 ms CPU per run"),
		coralConverted("deeplab-cityscapes", "deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite", TaskSegment, deeplabOptions(cityscapesSide),
			"3f0cd16ae2fe945fb84763c92bf6055e246b462d2e4c0bb639c5b0c759593c9d",
			rawRGB("MobilenetEdgeTPU/MobilenetEdgeTPU/input", cityscapesSide, "stretch"),
			Output{Name: deeplabLogits, Shape: []int64{1, cg, cg, 19}, Meaning: "class logits per cell (NHWC); the cell's class is the argmax: Cityscapes train ids 0 road .. 18 bicycle"},
			"cityscapes-labels", "DeepLab MobileNet-EdgeTPU slim, Cityscapes, converted for a 193x193 input (the file's is 513) and cut before its upsampling and ARG_MAX; labels: train id k is line k+1 of cityscapes-labels. At 193 about 16 ms CPU per run (24 at 257, 110 at 513); against the model's own 513 class map, 46% of pixels change class on average over six photos (things become truck), at 321 30%, 385 22%, 449 10%"),
		coralConverted("deeplab-pascal", "deeplabv3_mnv2_pascal_quant.tflite", TaskSegment, deeplabOptions(pascalSide),
			"5cb69982b8614a2c293f8b2099c3e72f00df360c282d8a7115a2a3c4d39670ae",
			rawRGB("MobilenetV2/MobilenetV2/input", pascalSide, "stretch (a crop around one object)"),
			Output{Name: deeplabLogits, Shape: []int64{1, pg, pg, 21}, Meaning: "class logits per cell (NHWC); the cell's class is the argmax: 0 background, 1..20 PASCAL VOC classes"},
			"pascal-labels", "DeepLabV3 MobileNetV2, PASCAL VOC, converted for a 161x161 input (the file's is 513) and cut before its upsampling and ARG_MAX; run on crops around single objects, which it then mostly fills. At 161 about 10 ms CPU per run (20 at 257, 80 at 513); on whole photos, against the model's own 513 class map, 17% of pixels change class at 257 (dining table spreads on coffee.jpg), 11% at 321"),
	}
}

func coralAssets() []Asset {
	return append(coralSources(), coralModels()...)
}

func coralSources() []Asset {
	return []Asset{
		coralSource("mnv2-imagenet-tflite", "mobilenet_v2_1.0_224_quant.tflite",
			"ImageNet-1k MobileNetV2 1.0, uint8 per-tensor (TF1); in uint8 [1,224,224,3] scale 1/128 zero point 128 (raw RGB); out uint8 [1,1001] softmax scale 1/256, labels imagenet-labels (0 = background)"),
		coralSource("mnv2-imagenet-tf2-tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite",
			"the same network, TF2 post-training quantised (int8 per-channel inside, QUANTIZE at both ends); in uint8 [1,224,224,3] scale 0.00784314 zero point 127; out uint8 [1,1001], labels imagenet-labels"),
		coralSource("deeplab-cityscapes-tflite", "deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite",
			"Cityscapes semantic segmentation (CPU model); in uint8 [1,513,513,3] scale 1/128 zero point 128; out int64 [1,513,513] train id per pixel (ARG_MAX), 19 classes; cityscapes-labels is off by one (its 0-based line k+1 is id k)"),
		coralSource("deeplab-pascal-tflite", "deeplabv3_mnv2_pascal_quant.tflite",
			"PASCAL VOC semantic segmentation, 20 objects + background; in uint8 [1,513,513,3] scale 1/128 zero point 128; out int64 [1,513,513] class per pixel (ARG_MAX), labels pascal-labels"),
		coralSource("mnv2-inat-bird-tflite", "mobilenet_v2_1.0_224_inat_bird_quant.tflite",
			"iNaturalist birds, 965 species; input as mnv2-imagenet-tflite; out uint8 [1,965], labels inat-bird-labels (the last class, 964, is background)"),
		coralSource("mnv2-inat-insect-tflite", "mobilenet_v2_1.0_224_inat_insect_quant.tflite",
			"iNaturalist insects, 1022 species; input as mnv2-imagenet-tflite; out uint8 [1,1022], labels inat-insect-labels (the last class, 1021, is background)"),
		coralFile("imagenet-labels", "models/imagenet_labels.txt", "imagenet_labels.txt", TaskLabels,
			"1001 lines, class 0 = background"),
		coralFile("inat-bird-labels", "models/inat_bird_labels.txt", "inat_bird_labels.txt", TaskLabels,
			"965 lines: 964 species, then background (class 964)"),
		coralFile("inat-insect-labels", "models/inat_insect_labels.txt", "inat_insect_labels.txt", TaskLabels,
			"1022 lines: 1021 species, then background (class 1021)"),
		coralFile("cityscapes-labels", "models/cityscapes_segmentation_labels.txt", "cityscapes_segmentation_labels.txt", TaskLabels,
			"20 lines: background, then the 19 Cityscapes train ids in order (0-based line k+1 is train id k)"),
		coralFile("pascal-labels", "models/pascal_voc_segmentation_labels.txt", "pascal_voc_segmentation_labels.txt", TaskLabels,
			"21 lines, background then the 20 PASCAL VOC classes; then a blank line and two comment lines (class 255 is the ignore label)"),
	}
}
