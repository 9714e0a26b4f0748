// Package vision defines image recognition as the rest of imagerec sees it:
// the Recognizer interface, its Options, the Rekognition-shaped Result
// document (with one Timings vocabulary, TimingKey), and the Rekognition
// error codes for images that cannot be analysed (Error, CodeOf;
// ImageError translates imageio's codes to them at the engines' edge).
// Engines live in subpackages (onnx: local models; rekognition: Amazon
// Rekognition); devset is the labelled development set the local engine
// is measured on. The package is pure: no I/O, no logging.
package vision
