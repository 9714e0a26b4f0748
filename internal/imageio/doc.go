// Package imageio turns the bytes of an uploaded image into upright RGB
// pixels, once per image, for the recognition engines.
//
// Decode sniffs the format from the leading bytes (never from a file name or
// Content-Type), checks the size limits against the header before it
// allocates any pixels (a 100000x100000 "decompression bomb" is refused
// without allocating), decodes, and applies the EXIF orientation so that
// every pixel and every box computed downstream is relative to the upright
// image. Image.OrientationCorrection reports the rotation in Amazon
// Rekognition's terms.
//
// Formats: JPEG (libjpeg-turbo's TurboJPEG API through cgo, with DCT scaling
// to 1/2, 1/4 or 1/8 when Options.TargetMaxSide allows; a pure-Go image/jpeg
// fallback is compiled when cgo is off or with the build tag noturbo), PNG,
// GIF (first frame), BMP, TIFF and WebP (standard library and
// golang.org/x/image), and HEIC/HEIF through libheif, which is loaded at run
// time with dlopen (libheif.so.1, Debian package libheif1) so that building
// never needs it; without it HEIC input gets a clear
// InvalidImageFormatException naming the missing library.
//
// Every failure about the image itself is a *vision.Error with a Rekognition
// code: InvalidImageFormatException (empty, truncated, corrupt, not an image,
// unsupported format), ImageTooLargeException (bytes, pixels or side over the
// limits) or InvalidParameterException (smaller than Limits.MinSide).
// Truncated JPEGs are rejected rather than decoded with a grey lower part:
// recognising half an image silently gives wrong answers.
//
// The package is pure apart from cgo: no I/O, no logging, no package state
// beyond the lazily opened libraries.
package imageio
