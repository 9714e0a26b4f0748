package onnx

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// The detector tests run the real models on real photos. Without the
// runtime or models they skip, unless the environment variable CI is set:
// then they fail. Photos come from this package's testdata/ (faces/, ocr/)
// and the shared testdata/images/ (see the READMEs there).

var (
	detRuntimeOnce sync.Once
	detRuntime     *onnxrt.Runtime
	detRuntimeErr  error
)

// detectorCache returns the runtime and the cache root holding the models,
// or skips (fails under CI) when any of files is missing.
func detectorCache(tb testing.TB, files ...string) (*onnxrt.Runtime, string) {
	tb.Helper()
	root := cacheRoot(tb)
	lib := filepath.Join(root, "lib", "libonnxruntime.so.1")
	missing := func(what string) {
		tb.Helper()
		citest.Skipf(tb, "%s missing under %s (run: imagerec models install)", what, root)
	}
	if !fileExists(lib) {
		missing("ONNX Runtime")
	}
	for _, f := range files {
		if !fileExists(filepath.Join(root, "models", f)) {
			missing(f)
		}
	}
	detRuntimeOnce.Do(func() { detRuntime, detRuntimeErr = onnxrt.Open(lib) })
	if detRuntimeErr != nil {
		tb.Fatalf("open ONNX Runtime: %v", detRuntimeErr)
	}
	return detRuntime, root
}

// testPhoto decodes a photo from testdata/<dir> or the shared
// testdata/images/.
func testPhoto(tb testing.TB, name string) *imageio.Image {
	tb.Helper()
	for _, p := range []string{filepath.Join("testdata", name), filepath.Join("..", "..", "..", "testdata", "images", name)} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		img, err := imageio.Decode(context.Background(), data, imageio.Options{})
		if err != nil {
			tb.Fatalf("decode %s: %v", p, err)
		}
		return img
	}
	tb.Fatalf("test photo %s not found", name)
	return nil
}

func newTestFaceDetector(tb testing.TB, opts FaceOptions) *FaceDetector {
	tb.Helper()
	rt, root := detectorCache(tb, blazeFaceFile)
	d, err := NewFaceDetector(rt, root, opts)
	if err != nil {
		tb.Fatalf("NewFaceDetector: %v", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return d
}

func landmark(fd vision.FaceDetail, name string) (vision.Landmark, bool) {
	for _, l := range fd.Landmarks {
		if l.Type == name {
			return l, true
		}
	}
	return vision.Landmark{}, false
}

func TestFaceDetectorAstronaut(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{})
	faces, err := d.Detect(t.Context(), testPhoto(t, "astronaut.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 {
		t.Fatalf("found %d faces, want 1: %+v", len(faces), faces)
	}
	f := faces[0]
	b := f.BoundingBox
	// The face is in the upper middle of the photo, about a fifth wide.
	if b.Left < 0.25 || b.Left+b.Width > 0.65 || b.Top < 0.05 || b.Top+b.Height > 0.5 || b.Width < 0.12 || b.Width > 0.35 {
		t.Errorf("face box %+v not where the astronaut's face is", b)
	}
	if f.Confidence < 70 || f.Confidence > 100 {
		t.Errorf("Confidence = %v", f.Confidence)
	}
	el, ok1 := landmark(f, "eyeLeft")
	er, ok2 := landmark(f, "eyeRight")
	nose, ok3 := landmark(f, "nose")
	ml, ok4 := landmark(f, "mouthLeft")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("landmarks %+v lack eyes, nose or mouth", f.Landmarks)
	}
	for _, e := range []vision.Landmark{el, er} {
		if e.Y < b.Top || e.Y > b.Top+b.Height/2 || e.X < b.Left || e.X > b.Left+b.Width {
			t.Errorf("%s %+v not in the upper half of the box %+v", e.Type, e, b)
		}
	}
	if el.X >= er.X {
		t.Errorf("eyeLeft X %v not left of eyeRight X %v", el.X, er.X)
	}
	if nose.Y <= el.Y || ml.Y <= nose.Y {
		t.Errorf("eyes, nose and mouth not top to bottom: %+v", f.Landmarks)
	}
	if math.Abs(f.Pose.Roll) > 15 || math.Abs(f.Pose.Yaw) > 30 || math.Abs(f.Pose.Pitch) > 30 {
		t.Errorf("Pose %+v, want a roughly frontal face", f.Pose)
	}
	if f.Quality.Brightness < 20 || f.Quality.Brightness > 90 || f.Quality.Sharpness < 50 {
		t.Errorf("Quality %+v, want a well-lit sharp face", f.Quality)
	}
	if d.attrs == nil {
		t.Logf("faceres/emotion not installed: attributes not checked")
		return
	}
	if d.attrs.res != nil {
		if f.Gender == nil || f.Gender.Value != "Female" || f.Gender.Confidence < 60 {
			t.Errorf("Gender = %+v, want Female", f.Gender)
		}
		// Eileen Collins was in her late thirties or forties.
		if f.AgeRange == nil || f.AgeRange.High < 25 || f.AgeRange.Low > 55 || f.AgeRange.High-f.AgeRange.Low > 30 {
			t.Errorf("AgeRange = %+v", f.AgeRange)
		}
	}
	if d.attrs.emo != nil {
		if len(f.Emotions) != 7 || f.Smile == nil {
			t.Errorf("Emotions %+v, Smile %+v", f.Emotions, f.Smile)
		}
		// She is smiling.
		if f.Smile != nil && !f.Smile.Value {
			t.Errorf("Smile = %+v, want true; emotions %+v", f.Smile, f.Emotions)
		}
	}
	t.Logf("astronaut: %+v gender %+v age %+v smile %+v emotions %v", f.BoundingBox, f.Gender, f.AgeRange, f.Smile, f.Emotions)
}

func TestFaceDetectorCameraman(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{})
	faces, err := d.Detect(t.Context(), testPhoto(t, "faces/camera.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 {
		t.Fatalf("found %d faces, want 1: %+v", len(faces), faces)
	}
	f := faces[0]
	// He looks to the viewer's right, at his camera.
	if f.Pose.Yaw < 20 {
		t.Errorf("Yaw = %v, want a face turned to the viewer's right", f.Pose.Yaw)
	}
	if d.attrs != nil && d.attrs.res != nil && (f.Gender == nil || f.Gender.Value != "Male") {
		t.Errorf("Gender = %+v, want Male", f.Gender)
	}
}

// TestFaceDetectorSharpness blurs the astronaut and expects the face's
// Sharpness to drop while Brightness stays.
func TestFaceDetectorSharpness(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{NoAttributes: true})
	img := testPhoto(t, "astronaut.jpg")
	blurred := img.Resize(img.Width/4, img.Height/4).Resize(img.Width, img.Height)
	sharp, err := d.Detect(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	soft, err := d.Detect(t.Context(), blurred)
	if err != nil {
		t.Fatal(err)
	}
	if len(sharp) != 1 || len(soft) != 1 {
		t.Fatalf("found %d and %d faces, want 1 and 1", len(sharp), len(soft))
	}
	qs, qb := sharp[0].Quality, soft[0].Quality
	if qb.Sharpness > qs.Sharpness/2 {
		t.Errorf("Sharpness %v blurred vs %v sharp, want far lower", qb.Sharpness, qs.Sharpness)
	}
	if math.Abs(qb.Brightness-qs.Brightness) > 5 {
		t.Errorf("Brightness %v blurred vs %v sharp, want about the same", qb.Brightness, qs.Brightness)
	}
}

func TestFaceDetectorNoFaces(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{NoAttributes: true})
	for _, name := range []string{"rocket.jpg", "horses.jpg"} {
		t.Run(name, func(t *testing.T) {
			faces, err := d.Detect(t.Context(), testPhoto(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if faces == nil || len(faces) != 0 {
				t.Errorf("found %d faces (%+v), want an empty list", len(faces), faces)
			}
		})
	}
}

// TestFaceDetectorVerifier: BlazeFace alone takes a cat's and a dog's
// face, and a coffee cup, for human faces; the verifier turns them down.
func TestFaceDetectorVerifier(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{NoAttributes: true})
	if d.verify == nil {
		t.Skipf("verifier %s not installed", blazeFrontFile)
	}
	alone := newTestFaceDetector(t, FaceOptions{NoAttributes: true, NoVerifier: true})
	for _, name := range []string{"chelsea.jpg", "dog.jpg", "coffee.jpg"} {
		t.Run(name, func(t *testing.T) {
			img := testPhoto(t, name)
			faces, err := d.Detect(t.Context(), img)
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != 0 {
				t.Errorf("found %d faces (%+v), want none", len(faces), faces)
			}
			// The test means something only while BlazeFace alone errs.
			raw, err := alone.Detect(t.Context(), img)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) == 0 {
				t.Logf("BlazeFace alone finds no face in %s either", name)
			}
		})
	}
}

// groupPhoto composes a 1920x1080 "group photo": the rocket-launch photo
// as background and the astronaut's head pasted at several sizes (face
// sides from 40 to 220 pixels), some mirrored, some straddling where tiles
// meet. It returns the image and the expected face centres and sides.
func groupPhoto(tb testing.TB) (*imageio.Image, [][3]float64) {
	tb.Helper()
	bg := testPhoto(tb, "rocket.jpg").Resize(1920, 1080)
	head := testPhoto(tb, "astronaut.jpg")
	// The astronaut's face: centre (225, 125), side about 106 pixels.
	const fcx, fcy, fside = 225.0, 125.0, 106.0
	placements := []struct {
		cx, cy, side float64
		mirror       bool
	}{
		{150, 150, 40, false}, {420, 260, 48, true}, {700, 130, 56, false}, {960, 540, 64, false},
		{1700, 480, 80, true}, {1600, 200, 100, false}, {300, 700, 130, false}, {1500, 780, 160, true},
		{900, 880, 44, false}, {1820, 1000, 50, false}, {1100, 160, 220, false},
	}
	want := make([][3]float64, 0, len(placements))
	for _, p := range placements {
		scale := p.side / fside
		// Paste a square 2.2 face sides wide, centred on the face.
		half := 1.1 * p.side
		for y := int(p.cy - half); y < int(p.cy+half); y++ {
			for x := int(p.cx - half); x < int(p.cx+half); x++ {
				if x < 0 || y < 0 || x >= bg.Width || y >= bg.Height {
					continue
				}
				dx := (float64(x) + 0.5 - p.cx) / scale
				if p.mirror {
					dx = -dx
				}
				sx, sy := fcx+dx, fcy+(float64(y)+0.5-p.cy)/scale
				if sx < 0 || sy < 0 || sx >= float64(head.Width) || sy >= float64(head.Height) {
					continue
				}
				c := bilinearRGB(head.Pix, head.Width, head.Height, sx-0.5, sy-0.5, true)
				i := (y*bg.Width + x) * 3
				bg.Pix[i], bg.Pix[i+1], bg.Pix[i+2] = uint8(c[0]+0.5), uint8(c[1]+0.5), uint8(c[2]+0.5)
			}
		}
		want = append(want, [3]float64{p.cx, p.cy, p.side})
	}
	return bg, want
}

func TestFaceDetectorGroup(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{NoAttributes: true})
	img, want := groupPhoto(t)
	// The engine halves a decode at least twice the largest detector input
	// (the 768 px pyramid level here) and gives the detector that copy to
	// scan: the same faces must be found.
	big := img.Resize(2*img.Width, 2*img.Height)
	bigWant := make([][3]float64, len(want))
	for i, w := range want {
		bigWant[i] = [3]float64{2 * w[0], 2 * w[1], 2 * w[2]}
	}
	for _, tc := range []struct {
		name      string
		img, scan *imageio.Image
		want      [][3]float64
	}{
		{"1920x1080", img, img, want},
		{"3840x2160-scanned-at-half", big, big.Resize(img.Width, img.Height), bigWant},
		{"1920x1080-scanned-at-half", img, img.Resize(img.Width/2, img.Height/2), want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			faces, err := d.detectScaled(t.Context(), tc.img, tc.scan, allFaceWork)
			if err != nil {
				t.Fatal(err)
			}
			checkGroupFaces(t, tc.img, faces, tc.want)
		})
	}
}

// checkGroupFaces checks that faces are exactly the expected ones (centre
// and side in img pixels), largest first.
func checkGroupFaces(t *testing.T, img *imageio.Image, faces []vision.FaceDetail, want [][3]float64) {
	t.Helper()
	W, H := float64(img.Width), float64(img.Height)
	matched := make([]bool, len(faces))
	for _, w := range want {
		found := false
		for i, f := range faces {
			b := f.BoundingBox
			cx, cy := (b.Left+b.Width/2)*W, (b.Top+b.Height/2)*H
			side := b.Width * W
			if math.Abs(cx-w[0]) < 0.35*w[2] && math.Abs(cy-w[1]) < 0.35*w[2] && side > w[2]/1.6 && side < w[2]*1.6 {
				found, matched[i] = true, true
				break
			}
		}
		if !found {
			t.Errorf("face of %.0f px at (%.0f, %.0f) not found", w[2], w[0], w[1])
		}
	}
	for i, f := range faces {
		if !matched[i] {
			t.Errorf("unexpected face %+v (confidence %.1f)", f.BoundingBox, f.Confidence)
		}
	}
	// Largest first.
	for i := 1; i < len(faces); i++ {
		if faces[i].BoundingBox.Width*faces[i].BoundingBox.Height > faces[i-1].BoundingBox.Width*faces[i-1].BoundingBox.Height {
			t.Errorf("faces not sorted largest first")
		}
	}
}

func TestFaceDetectorCancelled(t *testing.T) {
	d := newTestFaceDetector(t, FaceOptions{NoAttributes: true})
	img, _ := groupPhoto(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Detect(ctx, img); err == nil {
		t.Error("Detect with a cancelled context succeeded")
	}
}

func TestFaceDetectorWithoutAttributeModels(t *testing.T) {
	rt, root := detectorCache(t, blazeFaceFile)
	// A cache holding only BlazeFace: faces without attributes.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "models", blazeFaceFile), filepath.Join(dir, "models", blazeFaceFile)); err != nil {
		t.Fatal(err)
	}
	d, err := NewFaceDetector(rt, dir, FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := d.Models(); len(got) != 1 || got[0] != blazeFaceFile {
		t.Errorf("Models() = %v, want only %s", got, blazeFaceFile)
	}
	faces, err := d.Detect(t.Context(), testPhoto(t, "astronaut.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 || faces[0].Gender != nil || faces[0].AgeRange != nil || faces[0].Emotions != nil {
		t.Errorf("faces = %+v, want one face without attributes", faces)
	}
}

func BenchmarkFaceDetect(b *testing.B) {
	d := newTestFaceDetector(b, FaceOptions{})
	boxesOnly := newTestFaceDetector(b, FaceOptions{NoAttributes: true})
	group, _ := groupPhoto(b)
	for _, bc := range []struct {
		name string
		d    *FaceDetector
		img  *imageio.Image
	}{
		{"astronaut-512", d, testPhoto(b, "astronaut.jpg")},
		{"astronaut-512-boxes-only", boxesOnly, testPhoto(b, "astronaut.jpg")},
		{"group11-1920x1080", d, group},
		{"group11-1920x1080-boxes-only", boxesOnly, group},
		{"group11-4000x2250-boxes-only", boxesOnly, group.Resize(4000, 2250)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			start := detectorCPU(b)
			for b.Loop() {
				if _, err := bc.d.Detect(context.Background(), bc.img); err != nil {
					b.Fatal(err)
				}
			}
			reportDetectorCPU(b, start)
		})
	}
}

// TestFaceDescriptors: the same person in two photos of one evening is
// more similar than two people of the same photo (bar55 and bar55-2 show
// Anne Helene, left, and Jesper, right; see testdata/images/README.md).
func TestFaceDescriptors(t *testing.T) {
	rt, root := detectorCache(t, blazeFaceFile, faceIDFile)
	d, err := NewFaceDetector(rt, root, FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if !d.CanDescribe() {
		t.Fatal("face_recognition loaded but CanDescribe is false")
	}
	byX := func(name string) [2][]float32 {
		img := testPhoto(t, name)
		faces, err := d.detectScaled(t.Context(), img, img, faceWork{geometry: true, descriptors: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) < 2 {
			t.Fatalf("%s: %d faces, want the 2 people in front", name, len(faces))
		}
		faces = faces[:2] // largest first
		if faces[0].BoundingBox.Left > faces[1].BoundingBox.Left {
			faces[0], faces[1] = faces[1], faces[0]
		}
		for _, f := range faces {
			var n float64
			for _, v := range f.Descriptor {
				n += float64(v) * float64(v)
			}
			if len(f.Descriptor) != faceIDLen || math.Abs(n-1) > 1e-3 {
				t.Fatalf("%s: descriptor of %d values, squared norm %v", name, len(f.Descriptor), n)
			}
		}
		return [2][]float32{faces[0].Descriptor, faces[1].Descriptor}
	}
	a, b := byX("bar55.jpg"), byX("bar55-2.jpg")
	cos := func(x, y []float32) float64 {
		var s float64
		for i := range x {
			s += float64(x[i]) * float64(y[i])
		}
		return s
	}
	same := min(cos(a[0], b[0]), cos(a[1], b[1]))
	other := max(cos(a[0], a[1]), cos(b[0], b[1]), cos(a[0], b[1]), cos(a[1], b[0]))
	t.Logf("left/left %.3f, right/right %.3f, left/right at most %.3f", cos(a[0], b[0]), cos(a[1], b[1]), other)
	if same < 0.6 || other > 0.3 {
		t.Errorf("same person at least %.3f, different people up to %.3f: want >= 0.6 and <= 0.3", same, other)
	}
	// Without the option no descriptor is computed.
	img := testPhoto(t, "bar55.jpg")
	faces, _ := d.detectScaled(t.Context(), img, img, allFaceWork)
	if len(faces) == 0 || faces[0].Descriptor != nil {
		t.Error("descriptor computed without being asked for")
	}
}

// mirrored returns img flipped left to right (a real photo of a face
// turned the other way).
func mirrored(img *imageio.Image) *imageio.Image {
	out := *img
	out.Pix = make([]uint8, len(img.Pix))
	for y := range img.Height {
		for x := range img.Width {
			copy(out.Pix[(y*img.Width+img.Width-1-x)*3:][:3], img.Pix[(y*img.Width+x)*3:][:3])
		}
	}
	return &out
}

// TestFaceMesh checks the mesh's known answers on real photos: all 30 of
// Rekognition's landmarks on the viewer's sides, eyes open and mouth open
// (the astronaut smiles with parted lips), eyes closed (Jesper, right in
// bar55.jpg, looking down) beside a closed mouth (Anne Helene, left), and a head
// turned to the viewer's right and, mirrored, to the left (camera.png).
func TestFaceMesh(t *testing.T) {
	rt, root := detectorCache(t, blazeFaceFile, faceMeshFile, irisFile)
	d, err := NewFaceDetector(rt, root, FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	detect := func(img *imageio.Image) []vision.FaceDetail {
		t.Helper()
		faces, err := d.Detect(t.Context(), img)
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) == 0 {
			t.Fatal("no face")
		}
		return faces
	}
	at := func(f vision.FaceDetail, name string) vision.Landmark {
		t.Helper()
		l, ok := landmark(f, name)
		if !ok {
			t.Fatalf("no %s landmark", name)
		}
		return l
	}

	astronaut := detect(testPhoto(t, "astronaut.jpg"))[0]
	seen := map[string]bool{}
	for _, l := range astronaut.Landmarks {
		seen[l.Type] = true
	}
	if len(astronaut.Landmarks) != 30 || len(seen) != 30 {
		t.Errorf("%d landmarks, %d types; want Rekognition's 30", len(astronaut.Landmarks), len(seen))
	}
	for _, pair := range [][2]string{
		{"eyeLeft", "eyeRight"}, {"mouthLeft", "mouthRight"}, {"leftPupil", "rightPupil"}, {"noseLeft", "noseRight"},
		{"leftEyeLeft", "leftEyeRight"}, {"leftEyeRight", "rightEyeLeft"}, {"rightEyeLeft", "rightEyeRight"},
		{"leftEyeBrowLeft", "leftEyeBrowRight"}, {"rightEyeBrowLeft", "rightEyeBrowRight"},
		{"upperJawlineLeft", "midJawlineLeft"}, {"midJawlineRight", "upperJawlineRight"},
	} {
		if a, b := at(astronaut, pair[0]), at(astronaut, pair[1]); a.X >= b.X {
			t.Errorf("%s (x %.3f) is not left of %s (x %.3f)", pair[0], a.X, pair[1], b.X)
		}
	}
	for _, col := range [][]string{{"leftEyeBrowUp", "leftEyeUp", "leftEyeDown", "noseLeft", "mouthLeft", "chinBottom"}, {"mouthUp", "mouthDown"}} {
		for i := 1; i < len(col); i++ {
			if a, b := at(astronaut, col[i-1]), at(astronaut, col[i]); a.Y >= b.Y {
				t.Errorf("%s (y %.3f) is not above %s (y %.3f)", col[i-1], a.Y, col[i], b.Y)
			}
		}
	}
	if e := astronaut.EyesOpen; e == nil || !e.Value || e.Confidence < 70 {
		t.Errorf("astronaut EyesOpen = %+v, want true", e)
	}
	if m := astronaut.MouthOpen; m == nil || !m.Value || m.Confidence < 60 {
		t.Errorf("astronaut MouthOpen = %+v, want true (parted lips)", m)
	}
	if e := astronaut.EyeDirection; e == nil || math.Abs(e.Yaw) > 20 || math.Abs(e.Pitch) > 25 || e.Confidence < 50 {
		t.Errorf("astronaut EyeDirection = %+v, want about straight ahead", e)
	}
	if p := astronaut.Pose; math.Abs(p.Yaw) > 15 || math.Abs(p.Pitch) > 20 || math.Abs(p.Roll) > 15 {
		t.Errorf("astronaut Pose = %+v, want about frontal", p)
	}

	bar := detect(testPhoto(t, "bar55.jpg"))
	jesper, anne := bar[0], bar[1] // largest first
	if jesper.BoundingBox.Left < anne.BoundingBox.Left {
		t.Fatalf("bar55.jpg: the largest face (Jesper) is not on the right: %+v", bar)
	}
	if e := jesper.EyesOpen; e == nil || e.Value {
		t.Errorf("bar55.jpg Jesper EyesOpen = %+v, want false (eyes shut, looking down)", e)
	}
	if e := jesper.EyeDirection; e == nil || e.Confidence > 50 {
		t.Errorf("bar55.jpg Jesper EyeDirection = %+v, want a low confidence for closed eyes", e)
	}
	if e, m := anne.EyesOpen, anne.MouthOpen; e == nil || !e.Value || m == nil || m.Value {
		t.Errorf("bar55.jpg Anne Helene EyesOpen %+v MouthOpen %+v, want open eyes and a closed mouth", e, m)
	}

	camera := testPhoto(t, "faces/camera.png")
	right, left := detect(camera)[0], detect(mirrored(camera))[0]
	t.Logf("camera.png yaw %.1f, mirrored %.1f", right.Pose.Yaw, left.Pose.Yaw)
	if right.Pose.Yaw < 25 || left.Pose.Yaw > -25 {
		t.Errorf("turned head: yaw %.1f and mirrored %.1f, want > 25 and < -25", right.Pose.Yaw, left.Pose.Yaw)
	}
	if right.MouthOpen == nil || right.MouthOpen.Value {
		t.Errorf("camera.png MouthOpen = %+v, want false", right.MouthOpen)
	}
}
