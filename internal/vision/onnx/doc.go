// Package onnx is the local recognition engine: it implements
// vision.Recognizer with ONNX Runtime sessions over models installed by
// internal/modelpack, and answers in Amazon Rekognition's shapes.
//
// Features and models:
//
//   - labels (DetectLabels): CenterNet MobileNetV3 COCO-80 detector, decoded
//     in Go (peak finding, boxes, per-class NMS), mapped through an embedded
//     taxonomy (taxonomy.json) to Rekognition-style names with Parents,
//     Aliases and Categories; ancestors are reported as labels too. Faces,
//     text and the moderation classifier's Drawing class add implied labels
//     (Person/Head/Face, Text, Drawing/Art). ImageProperties (quality and
//     dominant colours) are computed from pixels.
//   - faces (DetectFaces): BlazeFace + FaceRes + emotion (face*.go).
//   - text (DetectText): PP-OCRv4 detection + recognition (ocr*.go).
//   - moderation (DetectModerationLabels): nsfwjs MobileNetV2 mapped onto
//     Rekognition's moderation taxonomy v7 (see docs/moderation.md).
//
// Invariants: an Engine creates every session once in New and shares them;
// Recognize is safe for concurrent use. Each image is decoded once (at the
// largest size any selected feature needs) and the selected features run
// concurrently. Bounding boxes are fractions of the upright image (EXIF
// orientation applied). A feature not selected leaves its Result section
// nil; a feature that ran and found nothing leaves an empty list.
//
// Concurrency across images is the caller's: run a bounded pool of
// goroutines calling Recognize (one per core measured best on CPU, with
// Config.IntraOpThreads 1); more workers than cores only add latency.
package onnx
