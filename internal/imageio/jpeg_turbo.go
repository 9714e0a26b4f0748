//go:build cgo && !noturbo

package imageio

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

// decode runs the whole TurboJPEG decompression in one cgo call.
// It returns 0 on success, 1 on a warning (pixels written), -1 on a fatal
// error; msg receives the library's message in both failure cases.
static int imageio_decode(const unsigned char *buf, unsigned long len,
		unsigned char *dst, int w, int h, int pf, int flags,
		char *msg, int msglen) {
	tjhandle t = tjInitDecompress();
	if (t == NULL) {
		snprintf(msg, msglen, "%s", tjGetErrorStr2(NULL));
		return -1;
	}
	int rc = 0;
	if (tjDecompress2(t, buf, len, dst, w, 0, h, pf, flags) != 0) {
		snprintf(msg, msglen, "%s", tjGetErrorStr2(t));
		rc = tjGetErrorCode(t) == TJERR_WARNING ? 1 : -1;
	}
	tjDestroy(t);
	return rc;
}

static int imageio_header(const unsigned char *buf, unsigned long len,
		int *w, int *h, int *subsamp, int *cs, char *msg, int msglen) {
	tjhandle t = tjInitDecompress();
	if (t == NULL) {
		snprintf(msg, msglen, "%s", tjGetErrorStr2(NULL));
		return -1;
	}
	int rc = 0;
	if (tjDecompressHeader3(t, buf, len, w, h, subsamp, cs) != 0) {
		snprintf(msg, msglen, "%s", tjGetErrorStr2(t));
		rc = -1;
	}
	tjDestroy(t);
	return rc;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// JPEGDecoder names the JPEG implementation compiled in.
const JPEGDecoder = "libjpeg-turbo"

func decodeJPEG(data []byte, lim Limits, target int) (*Image, error) {
	info, err := scanJPEG(data)
	if err != nil {
		return nil, err
	}
	if err := lim.check("jpeg", info.width, info.height); err != nil {
		return nil, err
	}
	var msg [200]C.char
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	var w, h, subsamp, cs C.int
	if C.imageio_header(buf, C.ulong(len(data)), &w, &h, &subsamp, &cs, &msg[0], C.int(len(msg))) != 0 {
		return nil, corrupt("jpeg", errors.New(C.GoString(&msg[0])))
	}
	if int(w) != info.width || int(h) != info.height {
		return nil, errorf(CodeInvalidFormat, "corrupt JPEG: inconsistent frame headers")
	}
	d := dctScale(info.width, info.height, target)
	sw, sh := scaled(info.width, d), scaled(info.height, d)
	cmyk := cs == C.TJCS_CMYK || cs == C.TJCS_YCCK
	pf, bpp := C.int(C.TJPF_RGB), 3
	if cmyk {
		pf, bpp = C.TJPF_CMYK, 4
	}
	pix := make([]uint8, sw*sh*bpp)
	// LIMITSCANS refuses progressive files with absurd scan counts (a CPU
	// exhaustion attack); the other defaults keep the accurate IDCT.
	flags := C.int(C.TJFLAG_LIMITSCANS)
	rc := C.imageio_decode(buf, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&pix[0])),
		C.int(sw), C.int(sh), pf, flags, &msg[0], C.int(len(msg)))
	switch {
	case rc < 0:
		return nil, corrupt("jpeg", errors.New(C.GoString(&msg[0])))
	case rc > 0:
		// A warning leaves a decoded image, but most warnings mean damaged
		// data: a premature end leaves the lower part grey, a bad Huffman
		// code garbles the rest. Refuse those; accept the few that are
		// common in camera files and harmless.
		if err := jpegWarning(C.GoString(&msg[0])); err != nil {
			return nil, err
		}
	}
	if cmyk {
		pix = cmykToRGB(pix)
	}
	return finish(pix, sw, sh, info.orientation, info.width, info.height), nil
}

// cmykToRGB converts 4-byte Adobe (inverted) CMYK pixels to RGB in place,
// returning the shortened slice. libjpeg hands back the stored values; Adobe
// tools store them inverted (255 = no ink), as nearly all CMYK JPEGs are.
func cmykToRGB(pix []uint8) []uint8 {
	n := len(pix) / 4
	for i := 0; i < n; i++ {
		c, m, y, k := uint32(pix[4*i]), uint32(pix[4*i+1]), uint32(pix[4*i+2]), uint32(pix[4*i+3])
		pix[3*i] = uint8((c*k + 127) / 255)
		pix[3*i+1] = uint8((m*k + 127) / 255)
		pix[3*i+2] = uint8((y*k + 127) / 255)
	}
	return pix[:3*n]
}

// bareTurboDecode is the benchmarks' yardstick: libjpeg-turbo's header read
// and decompression at 1/d scale into dst, with nothing of this package's
// around it (no marker scan, limits, orientation or allocation).
func bareTurboDecode(data, dst []byte, d int) (w, h int, err error) {
	var msg [200]C.char
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	var cw, ch, subsamp, cs C.int
	if C.imageio_header(buf, C.ulong(len(data)), &cw, &ch, &subsamp, &cs, &msg[0], C.int(len(msg))) != 0 {
		return 0, 0, errors.New(C.GoString(&msg[0]))
	}
	w, h = scaled(int(cw), d), scaled(int(ch), d)
	if len(dst) < 3*w*h {
		return 0, 0, errors.New("dst too small")
	}
	if C.imageio_decode(buf, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&dst[0])),
		C.int(w), C.int(h), C.TJPF_RGB, 0, &msg[0], C.int(len(msg))) < 0 {
		return 0, 0, errors.New(C.GoString(&msg[0]))
	}
	return w, h, nil
}

// jpegNative is what libjpeg-turbo holds besides the output: for a
// progressive file, the whole image's DCT coefficients (2 bytes a sample,
// each component counted at full resolution). Baseline files are decoded
// a few rows at a time. CMYK output takes 4 bytes a pixel instead of 3.
func jpegNative(info jpegInfo, full, out int64) int64 {
	var n int64
	if info.progressive {
		n = 2 * int64(max(info.components, 1)) * full
	}
	if info.components == 4 {
		n += out // the 4th byte of each CMYK output pixel
	}
	return n
}
