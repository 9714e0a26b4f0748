// Package onnx is the local recognition engine: it implements
// vision.Recognizer with ONNX Runtime sessions over models installed by
// internal/modelpack, and answers in Amazon Rekognition's shapes.
//
// Features and models:
//
//   - labels (DetectLabels): evidence from five models, fused into one
//     label per name (labels_fusion.go, ADR 0010). The CenterNet MobileNetV3 COCO-80
//     detector (labels_detector.go) gives objects with instances (label confidence
//     100*sqrt(heatmap peak), which puts CenterNet's usual 0.3 threshold at
//     Rekognition's default MinConfidence of 55). The ImageNet MobileNetV2
//     classifier (labels_classifier.go) gives, per label, the summed probability of
//     the classes implying it (every dog breed counts for Dog). The
//     Cityscapes DeepLab segmenter gives scene labels from pixel shares
//     (Sky, Vegetation, Tree, Grass, City, Street). Where detector classes
//     compete for one box or the classifier contradicts a detection, the
//     PASCAL VOC DeepLab segmenter decides on a crop of the object
//     (labels_verify.go). Birds and insects get their species from the
//     iNaturalist classifiers, and large faces their people labels (Adult,
//     Man, Woman, Child…). Everything is named through the embedded
//     taxonomy (labels_taxonomy.go over taxonomy.json and
//     taxonomy_imagenet.json: Rekognition-style names with Parents, Aliases and Categories; ancestors are labels too)
//     and combined as independent witnesses (noisy-OR), then context rules
//     add Outdoors, Nature or Indoors (which exclude each other). Faces,
//     text and the moderation classifier's Drawing class add implied
//     labels (Person/Head/Face, Text, Drawing/Art); a face below 85 implies
//     them only when it lies inside a detected person. The converted TFLite
//     models are optional: without one, its part of the labels is off.
//     ImageProperties (quality and dominant colours, also per instance) are
//     computed from pixels. The moderation classifier also runs for labels
//     (it is cheap) so that drawings get the Drawing label.
//   - faces (DetectFaces): BlazeFace + FaceRes + emotion (face.go,
//     face_*.go), and MediaPipe FaceMesh + Iris for the 30 landmarks, pose,
//     EyesOpen, MouthOpen and EyeDirection (face_mesh.go); face-api.js's
//     FaceRecognitionNet identity descriptor on request, for face
//     collections (face_identity.go, internal/facecollection).
//   - text (DetectText): PP-OCRv4 detection + recognition (text.go,
//     text_*.go).
//   - moderation (DetectModerationLabels): nsfwjs MobileNetV2 mapped onto
//     Rekognition's moderation taxonomy v7 (moderation.go, see
//     docs/moderation.md).
//
// Files are named by feature: labels*.go (labels.go loads the optional
// label models and refines the detections; labels_detector, _classifier
// (classifier and segmenters), _fusion, _verify, _taxonomy, _context,
// _scene, _species), face*.go, text*.go, moderation.go and properties.go.
// Shared by the features: engine.go (New, Recognize, the decode and the
// concurrent run), imagetensor.go (image to tensor), crop.go (rotated
// crops for faces and text) and models.go (model file helpers).
//
// Invariants: an Engine creates every session once in New and shares them;
// Recognize is safe for concurrent use. Each image is decoded once (at the
// largest size any selected feature needs) and the selected features run
// concurrently. Bounding boxes are fractions of the upright image (EXIF
// orientation applied). A feature not selected leaves its Result section
// nil; a feature that ran and found nothing leaves an empty list.
//
// Cost (BenchmarkEngine, 12 MP JPEG, all four features: 435-475 ms of
// CPU on the shared 2-core machine, issue 16): the decode (libjpeg-turbo at 1/2, 2000x1500) is halved once when
// it is at least twice the largest detector input, and every detector
// input (text 800 px, face pyramid level 768 px, the 512 px copy for
// labels, properties and moderation) is resampled from that copy; crops
// for text recognition, the face verifier and face attributes come from
// the full decode. The text detector runs at most 800 px (PaddleOCR's
// 960 costs 30% more), the face pyramid is sized for 16 px faces in a
// 256 px tile (12 tiles for a 12 MP photo). Model runs are about 80% of
// the CPU (pprof: about 340 ms a 12 MP photo); of the rest, the JPEG
// decode is 30 ms, resampling and tensor filling 32 ms, the colour
// statistics 17 ms, the result JSON 0.03 ms; see bench_test.go and
// README's performance table.
//
// Skip rules: work whose result cannot change the answer is not done.
// Each rule is exact (the result is the same with and without it, checked
// by TestSkipRulesKeepResults on real photos; Config's unexported noSkip
// turns them off) and has a table test on its decision (skiprules_test.go;
// BenchmarkSkipRules compares the CPU with and without them in one run):
//
//  1. People labels read only confidence, box, age, gender and smile
//     (peopleFaceWork). When labels run without the faces feature, the
//     faces found for them on the 512 px copy get no face mesh or iris
//     runs, and FaceRes and the emotion model run only on the faces that
//     imply labels (confidence 85 or inside a detected person). On nine
//     development-set photos of people, labels alone: 0.88x the CPU
//     (228 -> 201 ms per image).
//  2. FaceRes runs only when AgeRange or Gender is read, the emotion model
//     only when Emotions or Smile is (vision.Options.OmitFaceAttributes,
//     facesWork), and both whenever labels run in the same call (the
//     people labels read them). rekapi omits what a request does not ask
//     for: DetectFaces with DEFAULT attributes on the same nine photos,
//     faces alone: 0.66x the CPU (166 -> 110 ms per image).
//  3. The colour statistics (ImageProperties: quality, dominant colours of
//     the image, its foreground and background, and of each instance) are
//     not computed when the caller omits them
//     (vision.Options.OmitImageProperties, wantsProperties; rekapi's
//     DetectLabels without IMAGE_PROPERTIES, Rekognition's default). Labels
//     alone on the 12 MP photo: 0.88x the CPU (193 -> 171 ms per image).
//
// Int8: each model file <name>.onnx is replaced by <name>.int8.onnx
// when that is installed (Config.Float keeps the float ones), but no
// int8 model is declared yet: the QDQ forms internal/tfconv.Quantize
// makes (7-bit weights, exact on every CPU) were at best 0.63-0.87x the
// float CPU (emotion, text detection and recognition, FaceRes) and 1.0-
// 1.5x for the rest, and missed their agreement gates
// (internal/modelpack quant.go has the figures; quant_test.go calibrates
// and scores them, BenchmarkQuantModels and BenchmarkQuantEngine compare
// speeds). ONNX Runtime's session options were measured on the three
// costliest models (BenchmarkSessionOptions): the defaults (one intra-op
// thread, no spinning, the arena, full optimisation, sequential
// execution) used the least CPU per run with 1 and 2 workers.
//
// Concurrency across images is the caller's: run a bounded pool of
// goroutines calling Recognize (one per core measured best on CPU, with
// Config.IntraOpThreads 1); more workers than cores only add latency.
// Memory is bounded by Config.Budget: Recognize reads the header first,
// estimates the image's cost (Engine.Cost: the decode, the half-size scan
// copy, fixed working memory) and waits until it fits in the budget shared
// by every caller; an image larger than the whole budget is an
// ImageTooLargeException. Images under vision.MinImageSide (80 px, as
// Rekognition) are an InvalidParameterException.
//
// The nanodet COCO detector of the same model package was tried as an
// alternative and kept out: on the test photos it confused more classes
// (coffee cup as toilet, cat missed) than CenterNet.
package onnx
