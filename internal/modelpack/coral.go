package modelpack

// The coral assets: TFLite models and their label files from the remote
// remoteCoral. Facts from ../shared/models/coral/README.md. The .tflite
// files are kept as they are under sources/coral/ (sources for the TFLite
// converter); the label files are copied to models/.

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

func coralAssets() []Asset {
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
