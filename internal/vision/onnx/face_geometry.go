package onnx

import (
	"math"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file turns a BlazeFace detection into the geometric part of a
// Rekognition FaceDetail: BoundingBox, Landmarks, Pose, Quality, Confidence.
//
// Landmarks are Rekognition's five DEFAULT types. Rekognition's eyeLeft is
// the eye on the viewer's left (smaller X for a frontal face), which is the
// subject's right eye, BlazeFace keypoint 0. BlazeFace has no mouth corners,
// only the mouth centre: mouthLeft and mouthRight are estimated from it as
// the centre -/+ 0.45 of the eye-to-eye vector (the typical mouth width is
// about 0.9 of the distance between the eye centres).
//
// Pose (degrees) is estimated from the six keypoints, not measured:
//   - Roll is the angle of the line from eyeLeft to eyeRight against the
//     image's horizontal; positive when the face is turned clockwise in the
//     image (the viewer's-right eye is lower).
//   - Yaw treats the head as a cylinder whose axis passes midway between the
//     ear tragions: the nose tip at the front is offset by r*sin(yaw) while
//     the ears sit at +-r*cos(yaw), so yaw = atan(nose offset / half ear
//     span), measured along the eye line. Positive when the nose points to
//     the viewer's right.
//   - Pitch compares where the nose tip falls between the eye line and the
//     mouth (t = 0 at the eyes, 1 at the mouth) with its frontal value
//     (faceFrontalNoseT); a nose protruding faceNoseDepth of the eye-mouth
//     distance moves by depth*tan(pitch). Positive when the face looks up.
//
// Quality is computed on the face box, resampled to 64x64 grey:
// Brightness is the mean luma (0-255) scaled to 0-100; Sharpness maps the
// variance of the 4-neighbour Laplacian v to 100*(1-exp(-v/faceSharpScale)),
// so a blurred face scores low and a crisp one near 100.

const (
	faceMouthHalfWidth = 0.45
	faceFrontalNoseT   = 0.55
	faceNoseDepth      = 0.45
	faceSharpScale     = 200
	faceQualitySide    = 64
)

// faceDetail builds the geometric FaceDetail of f (source pixels).
func faceDetail(img *imageio.Image, f faceBox) vision.FaceDetail {
	W, H := float64(img.Width), float64(img.Height)
	l := clamp01(float64(f.x1()) / W)
	t := clamp01(float64(f.y1()) / H)
	r := clamp01(float64(f.x2()) / W)
	b := clamp01(float64(f.y2()) / H)
	kp := func(i int) [2]float64 { return [2]float64{float64(f.KP[i][0]), float64(f.KP[i][1])} }
	eyeL, eyeR, nose, mouth := kp(kpRightEye), kp(kpLeftEye), kp(kpNose), kp(kpMouth)
	ev := [2]float64{eyeR[0] - eyeL[0], eyeR[1] - eyeL[1]}
	mouthL := [2]float64{mouth[0] - faceMouthHalfWidth*ev[0], mouth[1] - faceMouthHalfWidth*ev[1]}
	mouthR := [2]float64{mouth[0] + faceMouthHalfWidth*ev[0], mouth[1] + faceMouthHalfWidth*ev[1]}
	lm := func(name string, p [2]float64) vision.Landmark {
		return vision.Landmark{Type: name, X: round4(clamp01(p[0] / W)), Y: round4(clamp01(p[1] / H))}
	}
	q := faceQuality(img, f)
	return vision.FaceDetail{
		BoundingBox: vision.BoundingBox{Left: round4(l), Top: round4(t), Width: round4(r - l), Height: round4(b - t)},
		Landmarks: []vision.Landmark{
			lm("eyeLeft", eyeL), lm("eyeRight", eyeR), lm("mouthLeft", mouthL),
			lm("mouthRight", mouthR), lm("nose", nose),
		},
		Pose:       facePose(f),
		Quality:    q,
		Confidence: round3(float64(f.Score) * 100),
	}
}

// faceRoll is the eye-line angle in radians (see the file comment).
func faceRoll(f faceBox) float64 {
	dx := float64(f.KP[kpLeftEye][0] - f.KP[kpRightEye][0])
	dy := float64(f.KP[kpLeftEye][1] - f.KP[kpRightEye][1])
	return math.Atan2(dy, dx)
}

// facePose estimates Roll, Yaw and Pitch in degrees.
func facePose(f faceBox) vision.Pose {
	roll := faceRoll(f)
	c, s := math.Cos(roll), math.Sin(roll)
	// Coordinates in the face's upright frame: u along the eye line, v down.
	frame := func(i int) (u, v float64) {
		x, y := float64(f.KP[i][0]), float64(f.KP[i][1])
		return x*c + y*s, -x*s + y*c
	}
	eRu, eRv := frame(kpRightEye)
	eLu, eLv := frame(kpLeftEye)
	nu, nv := frame(kpNose)
	_, mv := frame(kpMouth)
	aRu, _ := frame(kpRightEar)
	aLu, _ := frame(kpLeftEar)

	var yaw float64
	if half := (aLu - aRu) / 2; half > 1e-6 {
		yaw = math.Atan2(nu-(aLu+aRu)/2, half)
	} else if eyes := (eLu - eRu) / 2; eyes > 1e-6 {
		yaw = math.Atan2(nu-(eLu+eRu)/2, 2*eyes)
	}
	var pitch float64
	eyeV := (eRv + eLv) / 2
	if em := mv - eyeV; em > 1e-6 {
		tNose := (nv - eyeV) / em
		pitch = math.Atan((faceFrontalNoseT - tNose) / faceNoseDepth)
	}
	deg := func(a float64) float64 { return round3(a * 180 / math.Pi) }
	return vision.Pose{Roll: deg(roll), Yaw: deg(yaw), Pitch: deg(pitch)}
}

// faceQuality computes Brightness and Sharpness on the face box.
func faceQuality(img *imageio.Image, f faceBox) vision.ImageQuality {
	const n = faceQualitySide
	crop := rotatedCrop(img.Pix, img.Width, img.Height,
		rotatedRect{CX: float64(f.CX), CY: float64(f.CY), W: float64(f.W), H: float64(f.H)}, n, n, true)
	grey := make([]float64, n*n)
	var sum float64
	for i := range grey {
		g := 0.299*float64(crop[i*3]) + 0.587*float64(crop[i*3+1]) + 0.114*float64(crop[i*3+2])
		grey[i] = g
		sum += g
	}
	var lsum, lsq float64
	cnt := 0
	for y := 1; y < n-1; y++ {
		for x := 1; x < n-1; x++ {
			i := y*n + x
			lap := grey[i-1] + grey[i+1] + grey[i-n] + grey[i+n] - 4*grey[i]
			lsum += lap
			lsq += lap * lap
			cnt++
		}
	}
	mean := lsum / float64(cnt)
	variance := lsq/float64(cnt) - mean*mean
	return vision.ImageQuality{
		Brightness: round3(sum / float64(n*n) / 255 * 100),
		Sharpness:  round3(100 * (1 - math.Exp(-variance/faceSharpScale))),
	}
}
