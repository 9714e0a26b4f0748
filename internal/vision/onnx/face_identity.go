package onnx

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sync"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
)

// The identity descriptor of face collections: face-api.js's
// FaceRecognitionNet (dlib's ResNet-34 face descriptor, converted by
// tfconv.ConvertFaceRecognitionNet; input 150x150x3 NHWC RGB 0-255, the
// graph subtracting face-api's mean and dividing by 255; output 128-d).
//
// Crop: an upright square rotated by the eye-line roll, placed by the
// BlazeFace eye and mouth keypoints (faceScale, as for the ArcFace-style
// crop) so that the eye distance is faceIDEyeSpan of its side and the eye
// line sits faceIDEyeLine of the way down: a tight face crop like dlib's
// face chips. On the labelled pairs of docs/face-collections.md this
// verified best of the crops measured (BlazeFace box x0.8-1.4, ArcFace
// template x0.9-1.5, eye span 0.25-0.50 by eye line 0.18-0.45).
//
// The descriptor is the output minus the mean of those photos' faces
// (face_recognition_mean.json), scaled to unit length; compared by
// cosine, centred, it verified better than by the Euclidean distance
// face-api uses (TAR at 1% FAR 0.46 against 0.31).
const (
	faceIDFile    = "face_recognition.onnx"
	faceIDSize    = 150
	faceIDLen     = 128
	faceIDEyeSpan = 0.43
	faceIDEyeLine = 0.26
	faceIDInput   = "image"
	faceIDOutput  = "descriptor"
	faceIDVersion = "descriptor-2"
)

//go:embed face_recognition_mean.json
var faceIDMeanJSON []byte

// faceIDMean is the descriptor mean subtracted before normalising.
var faceIDMean = sync.OnceValues(func() ([]float32, error) {
	var m []float32
	if err := json.Unmarshal(faceIDMeanJSON, &m); err != nil {
		return nil, fmt.Errorf("parse face_recognition_mean.json: %w", err)
	}
	if len(m) != faceIDLen {
		return nil, fmt.Errorf("face_recognition_mean.json has %d values, want %d", len(m), faceIDLen)
	}
	return m, nil
})

// faceIdentity runs the identity model.
type faceIdentity struct {
	sess *onnxrt.Session
}

// loadFaceIdentity opens face_recognition.onnx in dir; nil, nil when it is
// not installed.
func loadFaceIdentity(rt *onnxrt.Runtime, dir string, so onnxrt.SessionOptions) (*faceIdentity, error) {
	p := filepath.Join(dir, faceIDFile)
	if !fileExists(p) {
		return nil, nil
	}
	s, err := rt.NewSession(p, []string{faceIDInput}, []string{faceIDOutput}, so)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", faceIDFile, err)
	}
	return &faceIdentity{sess: s}, nil
}

func (fi *faceIdentity) close() error { return fi.sess.Close() }

// faceIDRect is the identity model's crop of face f.
func faceIDRect(f faceBox) rotatedRect {
	el, er, m := f.KP[kpRightEye], f.KP[kpLeftEye], f.KP[kpMouth]
	mx, my := float64(el[0]+er[0])/2, float64(el[1]+er[1])/2
	ed := math.Hypot(float64(er[0]-el[0]), float64(er[1]-el[1]))
	md := math.Hypot(float64(m[0])-mx, float64(m[1])-my)
	// Eye distance and eye-to-mouth distance in units of the ArcFace
	// template's (35.24 and 40.68 px at 112 px), averaged: steadier than
	// either alone when the face is turned.
	s := (ed/35.24 + md/40.68) / 2
	side := max(35.24*s/faceIDEyeSpan, 1)
	a := faceRoll(f)
	c, sn := math.Cos(a), math.Sin(a)
	dy := (0.5 - faceIDEyeLine) * side // eye midpoint to the crop's centre, along the face's down
	return rotatedRect{CX: mx - dy*sn, CY: my + dy*c, W: side, H: side, Angle: a}
}

// descriptor computes face f's identity embedding (unit length).
func (fi *faceIdentity) descriptor(img *imageio.Image, f faceBox) ([]float32, error) {
	mean, err := faceIDMean()
	if err != nil {
		return nil, err
	}
	crop := rotatedCrop(img.Pix, img.Width, img.Height, faceIDRect(f), faceIDSize, faceIDSize, false)
	in := make([]float32, len(crop))
	for i, v := range crop {
		in[i] = float32(v)
	}
	outs, err := fi.sess.Run([]onnxrt.Tensor{{Shape: []int64{1, faceIDSize, faceIDSize, 3}, Data: in}})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", faceIDFile, err)
	}
	if len(outs) != 1 || len(outs[0].Data) != faceIDLen {
		return nil, fmt.Errorf("%s returned unexpected outputs", faceIDFile)
	}
	return centreUnit(outs[0].Data, mean), nil
}
