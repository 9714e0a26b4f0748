package imageio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// TestRealCameraEXIF rewrites the Orientation tag inside the camera EXIF of
// a real photo (dog.jpg: Canon PowerShot S95, big-endian IFD with ten
// entries) and checks that Decode finds it and turns the pixels.
func TestRealCameraEXIF(t *testing.T) {
	t.Parallel()
	orig := readFile(t, sharedImages+"dog.jpg")
	at := orientationValueOffset(t, orig)
	base, err := Decode(t.Context(), orig, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if base.Orientation != 1 {
		t.Fatalf("dog.jpg orientation %d, want 1", base.Orientation)
	}
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			t.Parallel()
			data := bytes.Clone(orig)
			binary.BigEndian.PutUint16(data[at:], uint16(o))
			im, err := Decode(t.Context(), data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, w, h := orient(bytes.Clone(base.Pix), base.Width, base.Height, o)
			if im.Orientation != o || im.Width != w || im.Height != h || !bytes.Equal(im.Pix, want) {
				t.Errorf("orientation %d: got %dx%d (tag %d), want %dx%d rotated pixels", o, im.Width, im.Height, im.Orientation, w, h)
			}
		})
	}
}

// orientationValueOffset finds the file offset of the Orientation value in
// the first APP1 Exif segment of a big-endian ("MM") EXIF.
func orientationValueOffset(t *testing.T, jpg []byte) int {
	t.Helper()
	i := bytes.Index(jpg, []byte("Exif\x00\x00MM\x00*"))
	if i < 0 {
		t.Fatal("no big-endian Exif segment")
	}
	tiff := i + 6
	ifd := tiff + int(binary.BigEndian.Uint32(jpg[tiff+4:]))
	n := int(binary.BigEndian.Uint16(jpg[ifd:]))
	for k := 0; k < n; k++ {
		e := ifd + 2 + 12*k
		if binary.BigEndian.Uint16(jpg[e:]) == 0x0112 {
			return e + 8
		}
	}
	t.Fatal("no Orientation tag")
	return 0
}
