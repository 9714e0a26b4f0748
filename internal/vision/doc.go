// Package vision defines image recognition as the rest of imagerec sees it:
// the Recognizer interface, its Options, the Rekognition-shaped Result
// document, and the Rekognition error codes for images that cannot be
// analysed. Engines live in subpackages (onnx: local models; rekognition:
// Amazon Rekognition). The package is pure: no I/O, no logging.
package vision
