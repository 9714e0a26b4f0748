package onnx

import (
	"math"
	"testing"
)

func TestBlazeAnchorGrid(t *testing.T) {
	t.Parallel()
	a := blazeAnchorGrid()
	if len(a) != blazeAnchors {
		t.Fatalf("%d anchors, want %d", len(a), blazeAnchors)
	}
	checks := []struct {
		i    int
		x, y float32
	}{
		{0, 0.5 / 16, 0.5 / 16},
		{1, 0.5 / 16, 0.5 / 16},
		{2, 1.5 / 16, 0.5 / 16},
		{511, 15.5 / 16, 15.5 / 16},
		{512, 0.5 / 8, 0.5 / 8},
		{517, 0.5 / 8, 0.5 / 8},
		{518, 1.5 / 8, 0.5 / 8},
		{895, 7.5 / 8, 7.5 / 8},
	}
	for _, c := range checks {
		if math.Abs(float64(a[c.i].x-c.x)) > 1e-6 || math.Abs(float64(a[c.i].y-c.y)) > 1e-6 {
			t.Errorf("anchor %d = %+v, want (%v, %v)", c.i, a[c.i], c.x, c.y)
		}
	}
}

func TestDecodeBlazeFace(t *testing.T) {
	t.Parallel()
	anchors := blazeAnchorGrid()
	scores := [2][]float32{make([]float32, 512), make([]float32, 384)}
	regs := [2][]float32{make([]float32, 512*16), make([]float32, 384*16)}
	for i := range scores[0] {
		scores[0][i] = -10
	}
	for i := range scores[1] {
		scores[1][i] = -10
	}
	// Anchor 600 is in the 8x8 grid: cell (600-512)/6 = 14 -> x 6, y 1.
	scores[1][600-512] = 2 // sigmoid 0.88
	r := regs[1][(600-512)*16:]
	copy(r, []float32{3, -2, 40, 44, -10, -5, 10, -5, 0, 5, 0, 12, -20, 0, 20, 0})
	got, err := decodeBlazeFace(anchors, scores, regs, 0.5, blazeSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("decoded %d faces, want 1", len(got))
	}
	f := got[0]
	ax, ay := float32(6.5*32), float32(1.5*32)
	if f.CX != ax+3 || f.CY != ay-2 || f.W != 40 || f.H != 44 {
		t.Errorf("box = %+v", f)
	}
	if f.KP[kpNose] != [2]float32{ax, ay + 5} || f.KP[kpLeftEar] != [2]float32{ax + 20, ay} {
		t.Errorf("keypoints = %v", f.KP)
	}
	if math.Abs(float64(f.Score)-0.8808) > 1e-3 {
		t.Errorf("score = %v, want sigmoid(2)", f.Score)
	}
	if _, err := decodeBlazeFace(anchors, [2][]float32{scores[0], scores[1][:10]}, regs, 0.5, blazeSize); err == nil {
		t.Error("short output accepted")
	}
}

func TestWeightedNMS(t *testing.T) {
	t.Parallel()
	a := faceBox{Score: 0.9, CX: 100, CY: 100, W: 40, H: 40}
	b := faceBox{Score: 0.6, CX: 104, CY: 100, W: 40, H: 40}
	c := faceBox{Score: 0.8, CX: 300, CY: 100, W: 40, H: 40}
	got := weightedNMS([]faceBox{b, c, a}, blazeNMSIoU)
	if len(got) != 2 {
		t.Fatalf("kept %d boxes, want 2: %+v", len(got), got)
	}
	// a and b blend, weighted 0.9:0.6, with a's score.
	if got[0].Score != 0.9 || math.Abs(float64(got[0].CX)-101.6) > 1e-3 {
		t.Errorf("blended box = %+v, want score 0.9 and CX 101.6", got[0])
	}
	if got[1] != c {
		t.Errorf("separate box = %+v, want %+v", got[1], c)
	}
}

func TestFaceLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		w, h      int
		minFace   int
		wantTiles int
	}{
		{"small image: whole image only", 512, 384, 40, 0},
		{"VGA: 40-pixel faces are 16 px in the whole-image pass", 640, 480, 40, 0},
		{"VGA, 32-pixel faces: one tiled level", 640, 480, 32, 2},
		{"1080p", 1920, 1080, 40, 8},
		{"12 MP", 4000, 3000, 40, 12},
		{"12 MP, 80-pixel faces", 4000, 3000, 80, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			levels := faceLevels(tt.w, tt.h, tt.minFace)
			tiles := 0
			for _, lv := range levels {
				tiles += len(tileStarts(lv.w, blazeSize, lv.overlap)) * len(tileStarts(lv.h, blazeSize, lv.overlap))
			}
			if tiles != tt.wantTiles {
				t.Errorf("%d tiles in %+v, want %d", tiles, levels, tt.wantTiles)
			}
			if len(levels) == 0 {
				return
			}
			// The finest level sees a minimum-size face at >= faceMinFrac
			// of a tile.
			lv := levels[len(levels)-1]
			minPx := float64(tt.minFace) * math.Max(1, float64(max(tt.w, tt.h))/1920)
			face := minPx * float64(lv.w) / float64(tt.w)
			if face < faceMinFrac*blazeSize*0.99 {
				t.Errorf("a %.0f-pixel face is %.1f pixels at the finest level, below the detector's range", minPx, face)
			}
		})
	}
}

// TestFaceLevelsCoverage: at every tiled level, any face smaller than the
// coarser level's minimum lies, wherever it is, inside some tile's
// interior (so it is detected whole somewhere).
func TestFaceLevelsCoverage(t *testing.T) {
	t.Parallel()
	for _, sz := range [][2]int{{1920, 1080}, {4000, 3000}, {640, 480}, {3000, 700}} {
		w, h := sz[0], sz[1]
		side := float64(max(w, h))
		for _, lv := range faceLevels(w, h, 40) {
			scale := float64(lv.w) / float64(w)
			maxFace := side * faceMinFrac * scale // coarser level's minimum, in level pixels
			side = blazeSize / scale
			for _, dim := range []struct{ n int }{{lv.w}, {lv.h}} {
				starts := tileStarts(dim.n, blazeSize, lv.overlap)
				f := int(math.Ceil(maxFace))
				for a := 0; a+f <= dim.n; a++ {
					ok := false
					for _, s := range starts {
						tl := faceTile{x0: s, x1: min(dim.n, s+blazeSize), imgW: dim.n, y1: 1, imgH: 1}
						if tl.interior(faceBox{CX: float32(a) + float32(f)/2, CY: 0.5, W: float32(f), H: 1}) {
							ok = true
							break
						}
					}
					if !ok {
						t.Fatalf("%dx%d level %+v: a %d-pixel face at %d is in no tile whole", w, h, lv, f, a)
					}
				}
			}
		}
	}
}

func TestTileStarts(t *testing.T) {
	t.Parallel()
	got := tileStarts(1000, 256, 64)
	if got[0] != 0 || got[len(got)-1] != 1000-256 {
		t.Errorf("tiles %v do not span 0..%d", got, 1000-256)
	}
	for i := 1; i < len(got); i++ {
		if got[i]-got[i-1] > 256-64 {
			t.Errorf("tiles %v overlap less than 64", got)
		}
	}
}
