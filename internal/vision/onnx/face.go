package onnx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// Model files of the face detector, under <cacheRoot>/models/.
const (
	blazeFaceFile = "blazeface.onnx"
	// blazeFrontFile is the optional verifier (see face_blazeface.go).
	blazeFrontFile = "blazeface-front.onnx"
	faceResFile    = "faceres.onnx"
	emotionFile    = "emotion.onnx"
)

// FaceOptions tune the face detector. The zero value is the default.
type FaceOptions struct {
	// Threads is ONNX Runtime's intra-op thread count per session
	// (default 1: the engine parallelises across features and images).
	Threads int
	// MinConfidence is the lowest BlazeFace score considered, 0-100
	// (default 60). With the verifier installed, a face is then kept when
	// the geometric mean of both models' scores, its Confidence, is at
	// least 70; without it, Confidence is BlazeFace's score.
	MinConfidence float64
	// MinFaceSize is the smallest face side, in pixels of the image scaled
	// to fit 1920x1920 (images smaller than that are not scaled), that the
	// detector must find (default 40, Rekognition's documented minimum at
	// 1080p). Smaller values cost more tiles on large images.
	MinFaceSize int
	// MaxFaces caps the faces returned, largest first (default 100,
	// Rekognition's DetectFaces limit).
	MaxFaces int
	// NoAttributes skips the age/gender and emotion models even when they
	// are installed.
	NoAttributes bool
	// NoVerifier skips the second-opinion model (blazeface-front.onnx)
	// even when it is installed.
	NoVerifier bool
	// NoMesh skips the face mesh and iris models (facemesh.onnx,
	// iris.onnx) even when they are installed: faces keep BlazeFace's
	// five landmarks and lack EyesOpen, MouthOpen and EyeDirection.
	NoMesh bool
	// Float loads the float32 models even where their int8 forms are
	// installed.
	Float bool
}

func (o FaceOptions) withDefaults() FaceOptions {
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = 60
	}
	if o.MinFaceSize <= 0 {
		o.MinFaceSize = 40
	}
	if o.MaxFaces <= 0 {
		o.MaxFaces = 100
	}
	return o
}

// FaceDetector finds faces and their attributes: BlazeFace for boxes and
// six keypoints, optionally FaceRes for age and gender and a mini-Xception
// for emotions. It is safe for concurrent use.
type FaceDetector struct {
	opts    FaceOptions
	det     *onnxrt.Session
	verify  *onnxrt.Session // nil when not installed
	anchors []anchor
	attrs   *faceAttributes // nil without faceres and emotion
	mesh    *faceMesh       // nil without facemesh
	ident   *faceIdentity   // nil without face_recognition
	files   []string        // the model files in use
}

// NewFaceDetector loads BlazeFace from <cacheRoot>/models/blazeface.onnx,
// and when they are installed the verifier blazeface-front.onnx (without
// it, animal faces are more often taken for human ones), faceres.onnx and
// emotion.onnx (without them, faces carry no AgeRange, Gender, Emotions or
// Smile), facemesh.onnx and iris.onnx (face_mesh.go). Models says which
// models are in use.
func NewFaceDetector(rt *onnxrt.Runtime, cacheRoot string, opts FaceOptions) (*FaceDetector, error) {
	opts = opts.withDefaults()
	dir := filepath.Join(cacheRoot, "models")
	so := onnxrt.SessionOptions{IntraOpThreads: opts.Threads}
	detFile := pickModel(dir, blazeFaceFile, opts.Float)
	det, err := rt.NewSession(filepath.Join(dir, detFile),
		[]string{"input:0"}, []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"}, so)
	if err != nil {
		return nil, fmt.Errorf("load face detector: %w", err)
	}
	d := &FaceDetector{opts: opts, det: det, anchors: blazeAnchorGrid(), files: []string{detFile}}
	if f := pickModel(dir, blazeFrontFile, opts.Float); !opts.NoVerifier && fileExists(filepath.Join(dir, f)) {
		d.verify, err = rt.NewSession(filepath.Join(dir, f), []string{"input:0"}, []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"}, so)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("load face verifier: %w", err), d.Close())
		}
		d.files = append(d.files, f)
	}
	if !opts.NoAttributes {
		d.attrs, err = loadFaceAttributes(rt, dir, so, opts.Float)
		if err != nil {
			return nil, errors.Join(err, d.Close())
		}
		if d.ident, err = loadFaceIdentity(rt, dir, so); err != nil {
			return nil, errors.Join(err, d.Close())
		}
		if d.ident != nil {
			d.files = append(d.files, faceIDFile)
		}
	}
	if !opts.NoMesh {
		if d.mesh, err = loadFaceMesh(rt, dir, so); err != nil {
			return nil, errors.Join(err, d.Close())
		}
		if d.mesh != nil {
			d.files = append(d.files, d.mesh.files...)
		}
	}
	return d, nil
}

// Models names the model files in use, for the engine's EngineInfo.
func (d *FaceDetector) Models() []string {
	m := append([]string(nil), d.files...)
	if d.attrs != nil {
		m = append(m, d.attrs.models()...)
	}
	return m
}

// Close releases the ONNX Runtime sessions.
func (d *FaceDetector) Close() error {
	err := d.det.Close()
	if d.verify != nil {
		err = errors.Join(err, d.verify.Close())
	}
	if d.attrs != nil {
		err = errors.Join(err, d.attrs.close())
	}
	if d.mesh != nil {
		err = errors.Join(err, d.mesh.close())
	}
	if d.ident != nil {
		err = errors.Join(err, d.ident.close())
	}
	return err
}

// Detect returns the faces in img, largest first, in Rekognition's
// DetectFaces shape (Attributes ALL, as far as the installed models go).
func (d *FaceDetector) Detect(ctx context.Context, img *imageio.Image) ([]vision.FaceDetail, error) {
	if img.Width <= 0 || img.Height <= 0 {
		return []vision.FaceDetail{}, nil
	}
	return d.detectScaled(ctx, img, img, allFaceWork)
}

// CanDescribe reports whether the identity model (face_recognition.onnx)
// is loaded, so that faces can carry a Descriptor.
func (d *FaceDetector) CanDescribe() bool { return d.ident != nil }

// faceWork is what a caller of detectScaled reads of each face beyond
// its BoundingBox, Confidence, Quality and BlazeFace's landmarks and pose:
// the per-face models whose results it would discard are not run (the
// skip rules of doc.go).
type faceWork struct {
	// geometry runs the face mesh and iris models: the 30 landmarks,
	// mesh Pose, EyesOpen, MouthOpen and EyeDirection.
	geometry bool
	// ageGender runs FaceRes (AgeRange, Gender), emotions the emotion
	// model (Emotions, Smile).
	ageGender, emotions bool
	// attributes, when set, limits those two to the faces it accepts.
	attributes func(vision.FaceDetail) bool
	// descriptors computes each face's identity Descriptor.
	descriptors bool
}

// allFaceWork is DetectFaces with Attributes ALL: everything the
// installed models give.
var allFaceWork = faceWork{geometry: true, ageGender: true, emotions: true}

// detectScaled is Detect with the detector inputs resampled from scan, a
// downscaled copy of img (or img itself) that other features share; the
// verifier and attribute crops still come from img. work says which
// per-face models run; with work.descriptors, each face also gets its
// Descriptor when the identity model is loaded.
func (d *FaceDetector) detectScaled(ctx context.Context, img, scan *imageio.Image, work faceWork) ([]vision.FaceDetail, error) {
	if img.Width <= 0 || img.Height <= 0 {
		return []vision.FaceDetail{}, nil
	}
	boxes, err := d.findFaces(ctx, img, scan)
	if err != nil {
		return nil, err
	}
	out := make([]vision.FaceDetail, 0, len(boxes))
	for _, b := range boxes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fd := faceDetail(img, b)
		if d.mesh != nil && work.geometry {
			res, err := d.mesh.run(img, b)
			if err != nil {
				return nil, err
			}
			if res.flag >= meshMinFlag {
				d.mesh.describe(img, res, &fd)
			}
		}
		if d.attrs != nil && (work.attributes == nil || work.attributes(fd)) {
			if err := d.attrs.describe(img, b, &fd, work.ageGender, work.emotions); err != nil {
				return nil, err
			}
		}
		if work.descriptors && d.ident != nil {
			var err error
			if fd.Descriptor, err = d.ident.descriptor(img, b); err != nil {
				return nil, err
			}
		}
		out = append(out, fd)
	}
	return out, nil
}

// findFaces runs BlazeFace over the whole image, letterboxed, and over
// pyramid levels of overlapping 256x256 tiles (see faceLevels), then blends
// duplicates. The detector inputs are resampled from scan (img or a
// downscaled copy of it). Boxes are in img pixels, largest first.
func (d *FaceDetector) findFaces(ctx context.Context, img, scan *imageio.Image) ([]faceBox, error) {
	minScore := float32(d.opts.MinConfidence / 100)
	input := make([]float32, blazeSize*blazeSize*3)
	pl := fillTensor(scan.Pix, scan.Width, scan.Height, blazeSpec, input)
	found, err := d.runDetector(input, minScore)
	if err != nil {
		return nil, err
	}
	var all []faceBox
	kx, ky := float32(img.Width)/float32(scan.Width), float32(img.Height)/float32(scan.Height)
	for _, f := range found {
		f = mapFaceBox(f, float32(1/pl.sx), float32(1/pl.sy),
			float32(-pl.ox/pl.sx), float32(-pl.oy/pl.sy))
		all = append(all, mapFaceBox(f, kx, ky, 0, 0))
	}
	for _, lv := range faceLevels(img.Width, img.Height, d.opts.MinFaceSize) {
		small := scan.Resize(lv.w, lv.h)
		sx, sy := float32(img.Width)/float32(lv.w), float32(img.Height)/float32(lv.h)
		for _, y0 := range tileStarts(lv.h, blazeSize, lv.overlap) {
			for _, x0 := range tileStarts(lv.w, blazeSize, lv.overlap) {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				t := faceTile{x0: x0, y0: y0, x1: min(lv.w, x0+blazeSize), y1: min(lv.h, y0+blazeSize),
					imgW: lv.w, imgH: lv.h}
				fillTile(small, t, input)
				found, err := d.runDetector(input, minScore)
				if err != nil {
					return nil, err
				}
				for _, f := range found {
					f = mapFaceBox(f, 1, 1, float32(x0), float32(y0))
					if t.interior(f) {
						all = append(all, mapFaceBox(f, sx, sy, 0, 0))
					}
				}
			}
		}
	}
	faces := weightedNMS(all, blazeNMSIoU)
	faces = dropContained(faces)
	if d.verify != nil {
		kept := faces[:0]
		for _, f := range faces {
			s, err := d.verifyFace(img, f)
			if err != nil {
				return nil, err
			}
			// Both models' opinions count: the geometric mean of the
			// two scores is the face's confidence.
			f.Score = float32(math.Sqrt(float64(f.Score) * float64(s)))
			if f.Score >= faceVerifyThresh {
				kept = append(kept, f)
			}
		}
		faces = kept
	}
	sortFacesBySize(faces)
	if len(faces) > d.opts.MaxFaces {
		faces = faces[:d.opts.MaxFaces]
	}
	return faces, nil
}

// runDetector runs BlazeFace on a filled input and returns the blended
// detections in input pixels.
func (d *FaceDetector) runDetector(input []float32, minScore float32) ([]faceBox, error) {
	outs, err := d.det.Run([]onnxrt.Tensor{{Shape: []int64{1, blazeSize, blazeSize, 3}, Data: input}})
	if err != nil {
		return nil, fmt.Errorf("run face detector: %w", err)
	}
	if len(outs) != 4 {
		return nil, fmt.Errorf("face detector returned %d outputs, want 4", len(outs))
	}
	found, err := decodeBlazeFace(d.anchors, [2][]float32{outs[0].Data, outs[1].Data}, [2][]float32{outs[2].Data, outs[3].Data}, minScore, blazeSize)
	if err != nil {
		return nil, err
	}
	return weightedNMS(found, blazeNMSIoU), nil
}

// Verifier: the front model looks at an upright square of
// faceVerifyScale times the face's side, resized to 128x128, for a face
// centred in its middle half. A face is kept when the geometric mean of the
// detector's and the verifier's scores is at least faceVerifyThresh. On our
// photos: real faces 0.81-0.93, the astronaut blurred to a sixth of her
// resolution 0.73; a cat 0.66, a dog 0.55, a coffee cup 0.35.
const (
	frontSize        = 128
	faceVerifyScale  = 1.5
	faceVerifyThresh = 0.7
)

// verifyFace returns the verifier's score for face f.
func (d *FaceDetector) verifyFace(img *imageio.Image, f faceBox) (float32, error) {
	s := faceVerifyScale * float64(max(f.W, f.H))
	r := rotatedRect{CX: float64(f.CX), CY: float64(f.CY), W: s, H: s, Angle: faceRoll(f)}
	crop := rotatedCrop(img.Pix, img.Width, img.Height, r, frontSize, frontSize, false)
	in := make([]float32, len(crop))
	for i, v := range crop {
		in[i] = float32(v)*blazeSpec.Scale[0] + blazeSpec.Bias[0]
	}
	outs, err := d.verify.Run([]onnxrt.Tensor{{Shape: []int64{1, frontSize, frontSize, 3}, Data: in}})
	if err != nil {
		return 0, fmt.Errorf("run face verifier: %w", err)
	}
	if len(outs) != 4 {
		return 0, fmt.Errorf("face verifier returned %d outputs, want 4", len(outs))
	}
	found, err := decodeBlazeFace(d.anchors, [2][]float32{outs[0].Data, outs[1].Data}, [2][]float32{outs[2].Data, outs[3].Data}, 0.05, frontSize)
	if err != nil {
		return 0, err
	}
	var best float32
	for _, g := range found {
		if math.Abs(float64(g.CX)-frontSize/2) < frontSize/4 && math.Abs(float64(g.CY)-frontSize/2) < frontSize/4 {
			best = max(best, g.Score)
		}
	}
	return best, nil
}

// fillTile copies tile t of img into the detector input (top-left, the
// rest padded), normalised as blazeSpec says.
func fillTile(img *imageio.Image, t faceTile, dst []float32) {
	for i := range dst {
		dst[i] = blazeSpec.Pad
	}
	for y := t.y0; y < t.y1; y++ {
		row := img.Pix[(y*img.Width+t.x0)*3 : (y*img.Width+t.x1)*3]
		out := dst[(y-t.y0)*blazeSize*3:]
		for i, v := range row {
			out[i] = float32(v)*blazeSpec.Scale[0] + blazeSpec.Bias[0]
		}
	}
}

// faceTile is a region of a pyramid level the detector looks at.
type faceTile struct {
	x0, y0, x1, y1 int
	imgW           int
	imgH           int
}

// interior reports whether f lies inside the tile, not cut by (or within
// faceEdgeTol of) an edge the tile shares with a neighbour: a face cut by
// a tile edge lies whole in the neighbouring tile, which overlaps by more
// than the largest face left to this level.
func (t faceTile) interior(f faceBox) bool {
	const m = faceEdgeTol
	switch {
	case t.x0 > 0 && f.x1() < float32(t.x0)+m,
		t.y0 > 0 && f.y1() < float32(t.y0)+m,
		t.x1 < t.imgW && f.x2() > float32(t.x1)-m,
		t.y1 < t.imgH && f.y2() > float32(t.y1)-m:
		return false
	}
	return true
}

// Detector range: BlazeFace (back) finds faces whose side is at least
// about faceMinFrac of its 256-pixel input (measured: the astronaut photo's
// face is found from 12 pixels, with confidence above 80 from 16) and up to
// nearly all of it. faceMinFrac is 16/256: at 0.07 (18 px) a 12 MP photo
// needed 20 tiles, at 16 px 12, and the group photo's 40 and 44 pixel
// faces are still found.
const (
	faceMinFrac = 0.0625
	// faceLevelStep is the largest ratio between two pyramid levels' tile
	// sides. Faces smaller than faceMinFrac of a level are left to the
	// next, finer level, whose tiles overlap by enough to hold them whole.
	faceLevelStep = 4
	// faceEdgeTol (level pixels) is how close to a tile's inner edge a face
	// may come and still count as whole in that tile.
	faceEdgeTol = 4
)

// faceLevel is one pyramid level: the image resized to w x h and cut into
// 256x256 tiles overlapping by overlap pixels.
type faceLevel struct {
	w, h    int
	overlap int
}

// faceLevels plans the tiled pyramid levels for a w x h image, after the
// whole-image pass: each level's tiles cover faceLevelStep times less of
// the image than the previous one's, until faces of minFace pixels (at
// 1920-pixel scale) are at least faceMinFrac of a tile.
func faceLevels(w, h, minFace int) []faceLevel {
	long := float64(max(w, h))
	minPx := float64(minFace) * math.Max(1, long/1920)
	var out []faceLevel
	side := long // source pixels seen by one detector input
	for side*faceMinFrac > minPx {
		next := math.Max(side/faceLevelStep, minPx/faceMinFrac)
		scale := blazeSize / next
		if scale >= 1 {
			break // tiles would enlarge the image
		}
		// The coarser level found faces from side*faceMinFrac up; the
		// overlap must hold any smaller face whole.
		overlap := int(math.Ceil(side*faceMinFrac*1.1*scale)) + 2*faceEdgeTol
		out = append(out, faceLevel{
			w:       max(1, int(math.Round(float64(w)*scale))),
			h:       max(1, int(math.Round(float64(h)*scale))),
			overlap: min(overlap, blazeSize/2),
		})
		side = next
	}
	return out
}

// tileStarts returns tile origins along a side of length n.
func tileStarts(n, side, overlap int) []int {
	if side >= n {
		return []int{0}
	}
	stride := side - overlap
	count := int(math.Ceil(float64(n-side)/float64(stride))) + 1
	out := make([]int, count)
	for i := range out {
		out[i] = int(math.Round(float64(i) * float64(n-side) / float64(count-1)))
	}
	return out
}

// dropContained removes a face whose box lies mostly inside a larger one
// (a tile can see part of a big face as a small face).
func dropContained(faces []faceBox) []faceBox {
	out := faces[:0:0]
	for i, f := range faces {
		inside := false
		for j, g := range faces {
			if i == j || g.W*g.H <= f.W*f.H {
				continue
			}
			ix := min(f.x2(), g.x2()) - max(f.x1(), g.x1())
			iy := min(f.y2(), g.y2()) - max(f.y1(), g.y1())
			if ix > 0 && iy > 0 && ix*iy > 0.6*f.W*f.H {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, f)
		}
	}
	return out
}

func sortFacesBySize(faces []faceBox) {
	for i := 1; i < len(faces); i++ {
		for j := i; j > 0 && faces[j].W*faces[j].H > faces[j-1].W*faces[j-1].H; j-- {
			faces[j], faces[j-1] = faces[j-1], faces[j]
		}
	}
}
