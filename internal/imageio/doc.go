// Package imageio turns the bytes of an uploaded image into upright RGB
// pixels, once per image, for the recognition engines.
//
// Decode sniffs the format from the leading bytes (never from a file name or
// Content-Type), checks the limits against the header before it allocates
// any pixels (a 100000x100000 "decompression bomb" is refused without
// allocating), decodes, and applies the EXIF orientation so that every pixel
// and every box computed downstream is relative to the upright image.
// Image.OrientationCorrection reports the rotation in Amazon Rekognition's
// terms. Probe reads the same facts from the header alone; Sniff and
// Describe are the cheap type checks for a pipeline's front door.
//
// Formats:
//   - JPEG: libjpeg-turbo's TurboJPEG API through cgo (Debian
//     libturbojpeg0-dev at build time), with DCT scaling to 1/2, 1/4 or 1/8
//     chosen from Options.TargetMaxSide. Grey and CMYK/YCCK files become
//     RGB. Without cgo, or with the build tag noturbo, image/jpeg decodes
//     at full size and a box filter gives the same output size (3-5x
//     slower; JPEGDecoder names the one compiled in).
//   - PNG: a row decoder of its own (pngrgb.go) that writes each row
//     straight into the RGB output, so a 16-bit RGBA PNG costs 3 bytes a
//     pixel instead of image/png's 8 plus the conversion; its pixels equal
//     image/png's byte for byte (FuzzPNGRows).
//   - GIF (first frame, placed on the logical screen, which is the
//     image's size), BMP, TIFF, WebP: the standard library and
//     golang.org/x/image. Transparent pixels are composited over white.
//   - HEIC and AVIF: libheif, opened at run time with dlopen
//     (libheif.so.1, Debian libheif1), so building never needs it. Without
//     it, or without cgo (or with the tag noheif), such input gets an
//     InvalidImageFormatException that names the missing library. libheif
//     applies the file's own rotation and mirror; OrientationCorrection is
//     then ROTATE_0.
//
// Info.DecodeCost estimates from the header alone the most memory Decode
// holds for an image (erring high), for the memory budget that admits
// images (internal/membudget).
//
// EXIF orientation is read from the JPEG APP1 segment, the TIFF IFD0, the
// WebP EXIF chunk and the PNG eXIf chunk by a small parser that never
// reads past its input (fuzzed by FuzzExifOrientation).
//
// Errors about the image itself are *Error with a Code: CodeInvalidFormat
// (empty, truncated, corrupt, not an image, unsupported format; the message
// says what the bytes look like, e.g. "not an image: the file is a PDF
// document"), CodeTooLarge (bytes, pixels or side over Limits) or
// CodeTooSmall (a side under Limits.MinSide). The package knows nothing of
// Rekognition: the engines translate the codes to Rekognition's
// (InvalidImageFormatException, ImageTooLargeException,
// InvalidParameterException) at their edge, with vision.ImageError. A JPEG that libjpeg can only decode with a warning about
// damaged data (premature end, bad Huffman code...) is refused rather than
// returned with a grey or garbled lower part: recognising half an image
// silently gives wrong answers. Harmless warnings (stray bytes between
// segments and the like, common in camera files) are accepted.
//
// The package is pure apart from cgo: no I/O, no logging; its only state is
// the lazily opened libheif handle.
package imageio
