package imageio

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestProbeAgreesWithDecode checks that the header-only Probe reports what
// a full Decode finds, on every test image and every EXIF orientation.
func TestProbeAgreesWithDecode(t *testing.T) {
	t.Parallel()
	inputs := map[string][]byte{}
	files, _ := filepath.Glob("testdata/*.*")
	shared, _ := filepath.Glob(sharedImages + "*.*")
	for _, f := range append(files, shared...) {
		if !strings.HasSuffix(f, ".md") {
			inputs[f] = readFile(t, f)
		}
	}
	stored := encodeJPEG(t, markerImage(40, 30), 90)
	for o := 1; o <= 8; o++ {
		inputs["exif"+string(rune('0'+o))] = withEXIF(stored, o, o > 4)
	}
	for name, data := range inputs {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			info, perr := Probe(t.Context(), data, Limits{})
			im, derr := Decode(t.Context(), data, Options{TargetMaxSide: 64})
			if derr != nil {
				if strings.Contains(derr.Error(), "needs libheif") {
					t.Skip(derr)
				}
				t.Fatal(derr)
			}
			if perr != nil {
				t.Fatal(perr)
			}
			want := &Info{Format: im.Format, Width: im.SourceWidth, Height: im.SourceHeight,
				Orientation: im.Orientation, OrientationCorrection: im.OrientationCorrection}
			if diff := cmp.Diff(want, info, cmpopts.IgnoreUnexported(Info{})); diff != "" {
				t.Errorf("Probe differs from Decode (-decode +probe)\n%s", diff)
			}
		})
	}
}

func TestProbeRefuses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		data []byte
		code Code
	}{
		"bomb":            {pngBomb(100000, 100000), CodeTooLarge},
		"empty":           {nil, CodeInvalidFormat},
		"pdf":             {[]byte("%PDF-1.4"), CodeInvalidFormat},
		"jpeg header cut": {readFile(t, sharedImages+"dog.jpg")[:300], CodeInvalidFormat},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Probe(t.Context(), tc.data, Limits{}); CodeOf(err) != tc.code {
				t.Errorf("err = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                         "empty file",
		"%PDF-1.4":                 "PDF document",
		"  {\"a\": 1}":             "text (JSON?)",
		"\x89PNG\r\n\x1a\n":        "a PNG image",
		"GIF89a":                   "a GIF image",
		"\x00\x00\x01\x00\x01\x00": "Windows icon",
	} {
		if got := Describe([]byte(in)); !strings.Contains(got, want) {
			t.Errorf("Describe(%q) = %q, want it to contain %q", in, got, want)
		}
	}
}
