// Package tflitetest runs .tflite models in TensorFlow Lite's own
// interpreter, as the independent reference that the TFLite → ONNX
// converter's tests compare with.
//
// The interpreter is @tensorflow/tfjs-tflite (TFLite's C++ compiled to
// WASM, with XNNPACK), which runs only in a browser: tools/tfliteref/run.js
// serves it with the model on 127.0.0.1:0 and drives Debian's headless
// Chromium with playwright-core, running every input of a job in one
// browser launch, numThreads 1. tools/tfliteref/install.sh (called by
// scripts/test.sh) installs chromium and the pinned npm packages into
// <cache>/tfliteref (cache: $IMAGEREC_CACHE, else ~/.cache/imagerec).
//
// Tensors cross as raw little-endian bytes in TFLite's own element type
// (uint8 for the Coral models' inputs and classifier outputs), written
// into and read from the interpreter's buffers without conversion. One
// exception: tfjs-tflite cannot read int64 tensors, so an int64 graph
// output written by ARG_MAX/ARG_MIN (the DeepLab models) is computed as
// int32 by a one-byte edit of the model's copy and widened back to int64
// (TensorInfo.ReadAs says "int32").
//
// In a test:
//
//	h := tflitetest.Require(t) // skips when not installed; fails when CI is set
//	res, err := h.RunAll(ctx, model, [][]tflitetest.Tensor{{in0}, {in1}})
package tflitetest
