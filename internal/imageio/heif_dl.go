//go:build cgo && !noheif

package imageio

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The few libheif declarations used, copied from heif.h (libheif >= 1.7,
// stable ABI of libheif.so.1) so that building needs no libheif headers.
struct heif_context;
struct heif_image_handle;
struct heif_image;
typedef struct { int code; int subcode; const char *message; } imageio_heif_error;

static struct {
	void *lib;
	struct heif_context *(*context_alloc)(void);
	void (*context_free)(struct heif_context *);
	imageio_heif_error (*read_from_memory_without_copy)(struct heif_context *, const void *, size_t, const void *);
	imageio_heif_error (*get_primary_image_handle)(struct heif_context *, struct heif_image_handle **);
	int (*handle_get_width)(const struct heif_image_handle *);
	int (*handle_get_height)(const struct heif_image_handle *);
	void (*handle_release)(const struct heif_image_handle *);
	imageio_heif_error (*decode_image)(const struct heif_image_handle *, struct heif_image **, int, int, const void *);
	const uint8_t *(*get_plane_readonly)(const struct heif_image *, int, int *);
	int (*image_get_width)(const struct heif_image *, int);
	int (*image_get_height)(const struct heif_image *, int);
	void (*image_release)(const struct heif_image *);
} H;

// imageio_heif_load opens libheif; 0 on success, else msg says why.
static int imageio_heif_load(char *msg, int msglen) {
	void *lib = dlopen("libheif.so.1", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(msg, msglen, "%s", dlerror());
		return -1;
	}
#define SYM(field, name) if ((*(void **)(&H.field) = dlsym(lib, name)) == NULL) { snprintf(msg, msglen, "libheif.so.1 lacks %s", name); dlclose(lib); return -1; }
	SYM(context_alloc, "heif_context_alloc")
	SYM(context_free, "heif_context_free")
	SYM(read_from_memory_without_copy, "heif_context_read_from_memory_without_copy")
	SYM(get_primary_image_handle, "heif_context_get_primary_image_handle")
	SYM(handle_get_width, "heif_image_handle_get_width")
	SYM(handle_get_height, "heif_image_handle_get_height")
	SYM(handle_release, "heif_image_handle_release")
	SYM(decode_image, "heif_decode_image")
	SYM(get_plane_readonly, "heif_image_get_plane_readonly")
	SYM(image_get_width, "heif_image_get_width")
	SYM(image_get_height, "heif_image_get_height")
	SYM(image_release, "heif_image_release")
#undef SYM
	H.lib = lib;
	return 0;
}

typedef struct {
	struct heif_context *ctx;
	struct heif_image_handle *handle;
} imageio_heif;

static void imageio_heif_close(imageio_heif *f) {
	if (f->handle) H.handle_release(f->handle);
	if (f->ctx) H.context_free(f->ctx);
	f->handle = NULL;
	f->ctx = NULL;
}

// imageio_heif_open parses the container and reports the primary image's
// size (after its rotation/mirror transforms) without decoding it.
static int imageio_heif_open(imageio_heif *f, const void *buf, size_t len, int *w, int *h, char *msg, int msglen) {
	f->ctx = H.context_alloc();
	f->handle = NULL;
	if (f->ctx == NULL) { snprintf(msg, msglen, "out of memory"); return -1; }
	imageio_heif_error e = H.read_from_memory_without_copy(f->ctx, buf, len, NULL);
	if (e.code == 0) e = H.get_primary_image_handle(f->ctx, &f->handle);
	if (e.code != 0) {
		snprintf(msg, msglen, "%s", e.message);
		imageio_heif_close(f);
		return -1;
	}
	*w = H.handle_get_width(f->handle);
	*h = H.handle_get_height(f->handle);
	return 0;
}

enum { imageio_colorspace_RGB = 1, imageio_chroma_interleaved_RGB = 10, imageio_channel_interleaved = 10 };

// imageio_heif_decode decodes to interleaved RGB into dst (w*h*3 bytes).
static int imageio_heif_decode(imageio_heif *f, unsigned char *dst, int w, int h, char *msg, int msglen) {
	struct heif_image *img = NULL;
	imageio_heif_error e = H.decode_image(f->handle, &img, imageio_colorspace_RGB, imageio_chroma_interleaved_RGB, NULL);
	if (e.code != 0) { snprintf(msg, msglen, "%s", e.message); return -1; }
	int stride = 0;
	const uint8_t *p = H.get_plane_readonly(img, imageio_channel_interleaved, &stride);
	if (p == NULL || H.image_get_width(img, imageio_channel_interleaved) != w || H.image_get_height(img, imageio_channel_interleaved) != h) {
		snprintf(msg, msglen, "decoded image does not match its header");
		H.image_release(img);
		return -1;
	}
	for (int y = 0; y < h; y++) memcpy(dst + (size_t)y * w * 3, p + (size_t)y * stride, (size_t)w * 3);
	H.image_release(img);
	return 0;
}
*/
import "C"

import (
	"errors"
	"runtime"
	"sync"
	"unsafe"
)

// heifLib opens libheif.so.1 on first use. It is the package's only
// state: the library handle, kept for the life of the process.
var heifLib = sync.OnceValue(func() error {
	var msg [256]C.char
	if C.imageio_heif_load(&msg[0], C.int(len(msg))) != 0 {
		return errors.New(C.GoString(&msg[0]))
	}
	return nil
})

// heifSize reads the primary image's size (after its transforms) without
// decoding it.
func heifSize(data []byte, format string) (w, h int, err error) {
	if err := heifLib(); err != nil {
		return 0, 0, heifMissing(format, err)
	}
	var (
		f      C.imageio_heif
		msg    [256]C.char
		cw, ch C.int
	)
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()
	if C.imageio_heif_open(&f, unsafe.Pointer(&data[0]), C.size_t(len(data)), &cw, &ch, &msg[0], C.int(len(msg))) != 0 {
		return 0, 0, corrupt(format, errors.New(C.GoString(&msg[0])))
	}
	C.imageio_heif_close(&f)
	return int(cw), int(ch), nil
}

func heifMissing(format string, err error) error {
	return &Error{Code: CodeInvalidFormat,
		Message: formatName(format) + " needs libheif, which is not installed (apt-get install libheif1)", Err: err}
}

// decodeHEIF decodes the primary image of a HEIC or AVIF file with libheif,
// which applies the file's rotation and mirroring itself.
func decodeHEIF(data []byte, format string, lim Limits) (*Image, error) {
	if err := heifLib(); err != nil {
		return nil, heifMissing(format, err)
	}
	var (
		f    C.imageio_heif
		msg  [256]C.char
		w, h C.int
	)
	// libheif keeps pointers into data while f is open; data is Go memory,
	// pinned for the duration of the calls below.
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()
	if C.imageio_heif_open(&f, unsafe.Pointer(&data[0]), C.size_t(len(data)), &w, &h, &msg[0], C.int(len(msg))) != 0 {
		return nil, corrupt(format, errors.New(C.GoString(&msg[0])))
	}
	defer C.imageio_heif_close(&f)
	if err := lim.check(format, int(w), int(h)); err != nil {
		return nil, err
	}
	pix := make([]uint8, int(w)*int(h)*3)
	if C.imageio_heif_decode(&f, (*C.uchar)(unsafe.Pointer(&pix[0])), w, h, &msg[0], C.int(len(msg))) != 0 {
		if m := C.GoString(&msg[0]); m != "" {
			return nil, corrupt(format, errors.New(m))
		}
		return nil, corrupt(format, nil)
	}
	return finish(pix, int(w), int(h), 1, int(w), int(h)), nil
}
