package onnx

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// synthMaps builds NHWC keypoint and wh maps of size n x n with 80 classes.
func synthMaps(n int) (kp, wh []float32) {
	return make([]float32, n*n*80), make([]float32, n*n*4)
}

func setPeak(kp, wh []float32, n, y, x, c int, s float32, l, t, r, b float32) {
	kp[(y*n+x)*80+c] = s
	copy(wh[(y*n+x)*4:], []float32{l, t, r, b})
}

func TestDecodeCenterNet(t *testing.T) {
	t.Parallel()
	const n = 16
	kp, wh := synthMaps(n)
	// A dog (16) at cell (4,5) with a 3x3 blob around it; a person (0) at
	// (10,10); a weak cat under the floor.
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			kp[((4+dy)*n+5+dx)*80+16] = 0.5
		}
	}
	setPeak(kp, wh, n, 4, 5, 16, 0.9, 8, 4, 12, 6)
	setPeak(kp, wh, n, 10, 10, 0, 0.7, 10, 20, 10, 20)
	setPeak(kp, wh, n, 1, 1, 15, 0.1, 2, 2, 2, 2)
	kpm, err := newHeatmap(kp, []int64{1, n, n, 80}, 80)
	if err != nil {
		t.Fatal(err)
	}
	whm, err := newHeatmap(wh, []int64{1, n, n, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeCenterNet(kpm, whm, 4, 100, 0.2)
	want := []detection{
		{Class: 16, Score: 0.9, X1: 20 - 8, Y1: 16 - 4, X2: 20 + 12, Y2: 16 + 6},
		{Class: 0, Score: 0.7, X1: 30, Y1: 20, X2: 50, Y2: 60},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("detections (-want +got):\n%s", diff)
	}
}

func TestDecodeCenterNetNCHWAndNMS(t *testing.T) {
	t.Parallel()
	const n = 8
	kp := make([]float32, 80*n*n)
	wh := make([]float32, 4*n*n)
	set := func(y, x, c int, s float32, d float32) {
		kp[(c*n+y)*n+x] = s
		for k := range 4 {
			wh[(k*n+y)*n+x] = d
		}
	}
	// Two separate peaks of the same class whose boxes overlap heavily:
	// NMS keeps the stronger.
	set(2, 2, 2, 0.8, 20)
	set(2, 4, 2, 0.6, 20)
	kpm, err := newHeatmap(kp, []int64{1, 80, n, n}, 80)
	if err != nil {
		t.Fatal(err)
	}
	whm, err := newHeatmap(wh, []int64{1, 4, n, n}, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeCenterNet(kpm, whm, 4, 100, 0.2)
	if len(got) != 1 || got[0].Score != 0.8 || got[0].Class != 2 {
		t.Fatalf("got %+v, want one car at 0.8", got)
	}
}

func TestNewHeatmapRejectsBadShapes(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		n     int
		shape []int64
	}{
		"rank":     {80, []int64{80}},
		"channels": {16 * 3, []int64{1, 4, 4, 3}},
		"size":     {10, []int64{1, 4, 4, 80}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := newHeatmap(make([]float32, tc.n), tc.shape, 80); err == nil {
				t.Errorf("shape %v accepted", tc.shape)
			}
		})
	}
}

func TestObjectLabelsBoxes(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	// A 1000x500 image letterboxed into 512: scale 0.512, oy = 128.
	pl := placement{w: 512, h: 512, ox: 0, oy: 128, sx: 0.512, sy: 0.512, srcW: 1000, srcH: 500}
	dets := []detection{
		{Class: 16, Score: 0.81, X1: 51.2, Y1: 128, X2: 256, Y2: 256},
		{Class: 16, Score: 0.6, X1: -10, Y1: 300, X2: 100, Y2: 400},
		{Class: 67, Score: 0.49, X1: 300, Y1: 200, X2: 320, Y2: 240},
	}
	got := objectLabels(dets, pl, tax)
	if len(got) != 2 || got[0].Name != "Dog" || got[1].Name != "Mobile Phone" {
		t.Fatalf("labels = %+v", got)
	}
	dog := got[0]
	if dog.Confidence != 90 || len(dog.Instances) != 2 {
		t.Fatalf("dog = %+v", dog)
	}
	bb := dog.Instances[0].BoundingBox
	want := [4]float64{0.1, 0, 0.4, 0.5} // left, top, width, height
	gotBB := [4]float64{bb.Left, bb.Top, bb.Width, bb.Height}
	if !cmp.Equal(want, gotBB, cmpopts.EquateApprox(0, 1e-3)) {
		t.Errorf("box = %v, want %v", gotBB, want)
	}
	if l := dog.Instances[1].BoundingBox.Left; l != 0 || math.IsNaN(l) {
		t.Errorf("box clipped left = %v, want 0", l)
	}
}
