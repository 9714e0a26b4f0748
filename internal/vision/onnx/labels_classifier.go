package onnx

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
)

// This file runs the classifiers and segmenters converted from TFLite
// (internal/tfconv): MobileNetV2 ImageNet-1k and iNaturalist classifiers,
// and DeepLab Cityscapes and PASCAL VOC segmenters. Every converted graph
// takes float32 NHWC holding the raw 0-255 pixel values (the graph
// quantises them as TFLite does) and returns float32 real values:
// probabilities for the classifiers, per-cell class logits for the
// segmenters (the graphs are cut before DeepLab's final upsampling and
// ARG_MAX, which would cost more than the rest of the network).

// rawPixels is the converted graphs' input: RGB stretched to the input
// size, values passed through.
func rawPixels(side int) tensorSpec {
	return tensorSpec{Width: side, Height: side, Layout: layoutNHWC, Scale: [3]float32{1, 1, 1}}
}

// convertedModel is a session over one converted TFLite model with one
// square image input and one output.
type convertedModel struct {
	file    string
	s       *onnxrt.Session
	side    int // input height and width
	outSize int // values per image in the output
}

// newConvertedModel opens path and checks that its input is [1,side,side,3]
// and its output has outSize values per image (0: any).
func newConvertedModel(rt *onnxrt.Runtime, path, file string, outSize int, so onnxrt.SessionOptions) (*convertedModel, error) {
	ins, outs, err := rt.Inspect(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	if len(ins) != 1 || len(outs) != 1 || len(ins[0].Shape) != 4 || ins[0].Shape[1] != ins[0].Shape[2] || ins[0].Shape[1] <= 0 || ins[0].Shape[3] != 3 {
		return nil, fmt.Errorf("load %s: want one [1,N,N,3] input and one output, got %v / %v", file, ins, outs)
	}
	m := &convertedModel{file: file, side: int(ins[0].Shape[1])}
	n := int64(1)
	for _, d := range outs[0].Shape[1:] {
		n *= d
	}
	m.outSize = int(n)
	if outSize > 0 && m.outSize != outSize {
		return nil, fmt.Errorf("load %s: output %v has %d values, want %d", file, outs[0].Shape, m.outSize, outSize)
	}
	if m.s, err = rt.NewSession(path, []string{ins[0].Name}, []string{outs[0].Name}, so); err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	return m, nil
}

// run resamples img to the model's input and returns the output tensor.
func (m *convertedModel) run(img *imageio.Image) (onnxrt.Tensor, error) {
	spec := rawPixels(m.side)
	in := make([]float32, m.side*m.side*3)
	fillTensor(img.Pix, img.Width, img.Height, spec, in)
	outs, err := m.s.Run([]onnxrt.Tensor{{Shape: []int64{1, int64(m.side), int64(m.side), 3}, Data: in}})
	if err != nil {
		return onnxrt.Tensor{}, fmt.Errorf("run %s: %w", m.file, err)
	}
	if len(outs) != 1 || len(outs[0].Data) != m.outSize {
		return onnxrt.Tensor{}, fmt.Errorf("%s returned %d outputs, want one of %d values", m.file, len(outs), m.outSize)
	}
	return outs[0], nil
}

func (m *convertedModel) Close() error {
	if m == nil {
		return nil
	}
	return m.s.Close()
}

// classify runs a classifier on img and returns its class probabilities.
func (m *convertedModel) classify(img *imageio.Image) ([]float32, error) {
	out, err := m.run(img)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// classProb is one class of a classifier output.
type classProb struct {
	ID   int
	Prob float64
}

// topClasses returns the classes with probability at least floor, most
// probable first, at most k of them.
func topClasses(probs []float32, k int, floor float64) []classProb {
	var out []classProb
	for i, p := range probs {
		if float64(p) >= floor {
			out = append(out, classProb{i, float64(p)})
		}
	}
	slices.SortFunc(out, func(a, b classProb) int {
		if c := cmp.Compare(b.Prob, a.Prob); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// segmentation is a segmenter's class map: the most likely class of each
// cell of a w x h grid laid over the image (stretched).
type segmentation struct {
	w, h    int
	classes int
	class   []uint8
}

// segment runs a segmenter on img. Its output is [1,h,w,classes] logits.
func (m *convertedModel) segment(img *imageio.Image, classes int) (segmentation, error) {
	out, err := m.run(img)
	if err != nil {
		return segmentation{}, err
	}
	if len(out.Shape) != 4 || int(out.Shape[3]) != classes || classes > math.MaxUint8 {
		return segmentation{}, fmt.Errorf("%s: output shape %v, want [1,h,w,%d]", m.file, out.Shape, classes)
	}
	g := segmentation{w: int(out.Shape[2]), h: int(out.Shape[1]), classes: classes}
	g.class = make([]uint8, g.w*g.h)
	for i := range g.class {
		row := out.Data[i*classes : (i+1)*classes]
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		g.class[i] = uint8(best)
	}
	return g, nil
}

// shares returns each class's fraction of the cells.
func (g segmentation) shares() []float64 {
	out := make([]float64, g.classes)
	if len(g.class) == 0 {
		return out
	}
	for _, c := range g.class {
		out[c]++
	}
	for i := range out {
		out[i] /= float64(len(g.class))
	}
	return out
}

// cropAround returns the part of img under box (fractions of the image),
// enlarged by margin of its size on each side and made square where the
// image allows, so that a classifier sees the object with some context.
func cropAround(img *imageio.Image, left, top, width, height, margin float64) *imageio.Image {
	w, h := float64(img.Width), float64(img.Height)
	cx, cy := (left+width/2)*w, (top+height/2)*h
	side := math.Max(width*w, height*h) * (1 + 2*margin)
	r := image.Rect(int(cx-side/2), int(cy-side/2), int(math.Ceil(cx+side/2)), int(math.Ceil(cy+side/2)))
	return img.Crop(r)
}
