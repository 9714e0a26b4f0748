// Package onnxrt is a thin wrapper over github.com/yalue/onnxruntime_go:
// it loads ONNX Runtime's shared library, creates sessions over model
// files and runs them on plain float32 tensors.
//
// ONNX Runtime's environment (the dlopen'd library, its OrtEnv and memory
// info) is process-global in onnxruntime_go. This package guards it with
// one package-level mutex and a reference count: the first Open loads the
// library and creates the environment, every Runtime and Session holds a
// reference, and the environment is destroyed when the last of them is
// closed. All Runtimes in a process must use the same library path; Open
// with a different path while the environment is alive fails. This guard
// is the package's only global state, and it exists because the library's
// state is global.
//
// A Session is safe for concurrent Run calls (ONNX Runtime sessions are);
// Close waits for Runs in flight. Inputs and outputs are float32 tensors
// in row-major order; outputs of integer or float64 type are converted to
// float32.
//
// The library and models are installed by `imagerec models install`
// (package modelpack) under the cache root; LibPath names the library
// there.
package onnxrt
