// Package cachedir decides where imagerec's cache lives: the ONNX runtime
// (lib/), the models (models/), the npm tarballs (packages/) and the other
// downloads that `imagerec models install` (internal/modelpack) puts there
// and the engines and tests read. Root is the one place that decides it;
// every command, engine and test asks it.
//
// It is a leaf package (standard library only), so that packages below
// modelpack (onnxrt, tfconv) and their tests can use it too.
package cachedir
