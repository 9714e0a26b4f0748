// Package rekognition is the vision.Recognizer that calls Amazon Rekognition
// through aws-sdk-go-v2: DetectLabels (GENERAL_LABELS and IMAGE_PROPERTIES),
// DetectFaces (Attributes ALL), DetectText and DetectModerationLabels run
// concurrently and are merged into one vision.Result, the same document the
// local engine produces. With a face collection, SearchFaces (faces.go) is
// the pipeline's face search: SearchFacesByImage per face, on the face cut
// out of the image, then IndexFaces.
//
// Invariants:
//   - Rekognition only accepts JPEG and PNG up to 5 MB as bytes and 10,000
//     pixels a side. Any other image (another format, too large, or a JPEG
//     rotated by EXIF) is decoded upright and re-encoded as a JPEG under the
//     limits first, so boxes are always fractions of the upright image.
//   - Throttling, ProvisionedThroughputExceeded and InternalServerError are
//     retried by the SDK retryer with full-jitter exponential backoff.
//   - Rekognition's image-level errors (InvalidImageFormatException,
//     ImageTooLargeException, InvalidParameterException,
//     InvalidS3ObjectException) become *vision.Error with the same code; any
//     other failure is returned wrapped and is transient for the caller.
//
// The engine takes the small API interface, which *rekognition.Client
// satisfies; tests point the real client at an httptest server that plays
// back the recorded responses in testdata/rekognition.
package rekognition
