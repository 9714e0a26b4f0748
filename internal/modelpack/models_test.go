package modelpack_test

import (
	"image"
	"image/draw"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/imagerec/imagerec/internal/modelpack"
	"github.com/imagerec/imagerec/internal/onnxrt"
)

// These tests load every declared model in ONNX Runtime from a fresh
// install, check the declared tensors against the model, run each on
// zeros checking the output shapes, and run several on real photos with
// the declared preprocessing (layout, colour order, normalisation), so a
// wrong declaration fails.

var rtOnce struct {
	sync.Once
	rt  *onnxrt.Runtime
	err error
}

func openRuntime(t *testing.T) (*onnxrt.Runtime, string) {
	t.Helper()
	root := installed(t)
	rtOnce.Do(func() { rtOnce.rt, rtOnce.err = onnxrt.Open(onnxrt.LibPath(root)) })
	if rtOnce.err != nil {
		t.Fatalf("open runtime: %v", rtOnce.err)
	}
	return rtOnce.rt, root
}

func models(t *testing.T) []modelpack.Asset {
	var out []modelpack.Asset
	for _, a := range modelpack.Assets(runtimeArch()) {
		if a.IsModel() {
			out = append(out, a)
		}
	}
	if len(out) != 17 {
		t.Fatalf("%d models declared, want 17", len(out))
	}
	return out
}

func session(t *testing.T, rt *onnxrt.Runtime, root string, a modelpack.Asset) *onnxrt.Session {
	t.Helper()
	var in, out []string
	for _, i := range a.Inputs {
		in = append(in, i.Name)
	}
	for _, o := range a.Outputs {
		out = append(out, o.Name)
	}
	s, err := rt.NewSession(a.Path(root), in, out, onnxrt.SessionOptions{})
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDeclaredTensors(t *testing.T) {
	rt, root := openRuntime(t)
	for _, a := range models(t) {
		t.Run(a.Name, func(t *testing.T) {
			ins, err := modelpack.Inspect(rt, root, a)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ins.Mismatches {
				t.Errorf("%s", m)
			}
			for _, o := range ins.Outputs {
				if o.Type != "ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT" {
					t.Errorf("output %q has type %s", o.Name, o.Type)
				}
			}
		})
	}
}

// TestRunZeros runs every model on zeros of its typical shape and checks
// the output shapes (dynamic dimensions: batch 1, the rest as the model
// computes them).
func TestRunZeros(t *testing.T) {
	rt, root := openRuntime(t)
	for _, a := range models(t) {
		t.Run(a.Name, func(t *testing.T) {
			s := session(t, rt, root, a)
			var in []onnxrt.Tensor
			for _, i := range a.Inputs {
				shape := i.Typical
				if shape == nil {
					shape = i.Shape
				}
				n := int64(1)
				for _, d := range shape {
					n *= d
				}
				in = append(in, onnxrt.Tensor{Shape: shape, Data: make([]float32, n)})
			}
			outs, err := s.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			for k, o := range outs {
				decl := a.Outputs[k].Shape
				if len(o.Shape) != len(decl) {
					t.Fatalf("output %q: shape %v, declared %v", a.Outputs[k].Name, o.Shape, decl)
				}
				for j, d := range decl {
					if d >= 0 && o.Shape[j] != d || j == 0 && o.Shape[0] != 1 {
						t.Errorf("output %q: shape %v, declared %v", a.Outputs[k].Name, o.Shape, decl)
						break
					}
				}
				for _, v := range o.Data {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output %q has %v", a.Outputs[k].Name, v)
					}
				}
			}
			// Shapes the model derives from the input.
			switch a.Name {
			case "ppocr-det":
				if !slices.Equal(outs[0].Shape, []int64{1, 1, 960, 960}) {
					t.Errorf("det map shape %v, want the input's size", outs[0].Shape)
				}
			case "ppocr-rec":
				if outs[0].Shape[1] != 320/8 {
					t.Errorf("rec steps %d, want width/8 = 40", outs[0].Shape[1])
				}
			}
		})
	}
}

// photo loads testdata/images/<name> from the repository root.
func photo(t *testing.T, name string) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return img
}

// tensor fills input in of a model from img, stretched to w x h, following
// the declaration.
func tensor(img image.Image, in modelpack.Input, w, h int) onnxrt.Tensor {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	scale, bias := in.Norm.ScaleBias()
	ch := 3
	if in.Colour == modelpack.Gray {
		ch = 1
	}
	data := make([]float32, w*h*ch)
	for y := range h {
		for x := range w {
			p := dst.Pix[y*dst.Stride+x*4:]
			r, g, b := float32(p[0]), float32(p[1]), float32(p[2])
			var v [3]float32
			switch in.Colour {
			case modelpack.RGB:
				v = [3]float32{r, g, b}
			case modelpack.BGR:
				v = [3]float32{b, g, r}
			case modelpack.Gray:
				v[0] = 0.2989*r + 0.5870*g + 0.1140*b
			}
			for c := range ch {
				val := v[c]*scale[c] + bias[c]
				if in.Layout == modelpack.NCHW {
					data[c*w*h+y*w+x] = val
				} else {
					data[(y*w+x)*ch+c] = val
				}
			}
		}
	}
	shape := []int64{1, int64(h), int64(w), int64(ch)}
	if in.Layout == modelpack.NCHW {
		shape = []int64{1, int64(ch), int64(h), int64(w)}
	}
	return onnxrt.Tensor{Shape: shape, Data: data}
}

func sigmoid(x float32) float64 { return 1 / (1 + math.Exp(-float64(x))) }

// TestRealPhotos checks loose facts on real photos, so that a wrong
// colour order, normalisation or layout in the table shows.
func TestRealPhotos(t *testing.T) {
	rt, root := openRuntime(t)
	get := func(t *testing.T, name string) (modelpack.Asset, *onnxrt.Session) {
		a, err := modelpack.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return a, session(t, rt, root, a)
	}
	run := func(t *testing.T, s *onnxrt.Session, in onnxrt.Tensor) []onnxrt.Tensor {
		t.Helper()
		outs, err := s.Run([]onnxrt.Tensor{in})
		if err != nil {
			t.Fatal(err)
		}
		return outs
	}

	t.Run("blazeface", func(t *testing.T) {
		a, s := get(t, "blazeface")
		best := func(img string) float64 {
			outs := run(t, s, tensor(photo(t, img), a.Inputs[0], 256, 256))
			m := 0.0
			for _, o := range outs[:2] {
				for _, v := range o.Data {
					m = math.Max(m, sigmoid(v))
				}
			}
			return m
		}
		if p := best("astronaut.jpg"); p < 0.75 {
			t.Errorf("astronaut: best face score %.3f, want >= 0.75", p)
		}
		if p := best("coffee.jpg"); p > 0.5 {
			t.Errorf("coffee: best face score %.3f, want < 0.5", p)
		}
	})

	t.Run("centernet", func(t *testing.T) {
		a, s := get(t, "centernet")
		outs := run(t, s, tensor(photo(t, "dog.jpg"), a.Inputs[0], 512, 512))
		found := map[string]float32{}
		det := outs[0].Data
		for i := 0; i+6 <= len(det); i += 6 {
			if score, class := det[i+4], int(det[i+5]); score > 0.3 && class >= 0 && class < len(a.Labels) {
				found[a.Labels[class]] = max(found[a.Labels[class]], score)
			}
		}
		for _, want := range []string{"dog", "bicycle"} {
			if _, ok := found[want]; !ok {
				t.Errorf("dog.jpg: %q not detected above 0.3; found %v", want, found)
			}
		}
	})

	t.Run("nsfw", func(t *testing.T) {
		a, s := get(t, "nsfw")
		for _, img := range []string{"coffee.jpg", "dog.jpg"} {
			p := run(t, s, tensor(photo(t, img), a.Inputs[0], 224, 224))[0].Data
			top := 0
			for i := range p {
				if p[i] > p[top] {
					top = i
				}
			}
			if a.Labels[top] != "Neutral" {
				t.Errorf("%s: top class %s (%v), want Neutral", img, a.Labels[top], p)
			}
		}
	})

	t.Run("mnv2-imagenet", func(t *testing.T) {
		a, s := get(t, "mnv2-imagenet")
		labels, err := os.ReadFile(filepath.Join(root, "models", "imagenet_labels.txt"))
		if err != nil {
			t.Fatal(err)
		}
		names := strings.Split(strings.TrimRight(string(labels), "\n"), "\n")
		for img, want := range map[string]string{"coffee.jpg": "espresso", "chelsea.jpg": "cat"} {
			p := run(t, s, tensor(photo(t, img), a.Inputs[0], 224, 224))[0].Data
			top := slices.Index(p, slices.Max(p))
			if len(p) != len(names) || !strings.Contains(names[top], want) {
				t.Errorf("%s: top class %d %q (%.3f), want %q", img, top, names[min(top, len(names)-1)], p[top], want)
			}
		}
	})

	// The segmenters' cell classes: the argmax of each cell's logits.
	shares := func(t *testing.T, name, img string) []float64 {
		a, s := get(t, name)
		side := int(a.Inputs[0].Shape[1])
		out := run(t, s, tensor(photo(t, img), a.Inputs[0], side, side))[0]
		classes := int(out.Shape[3])
		sh := make([]float64, classes)
		cells := len(out.Data) / classes
		for c := range cells {
			row := out.Data[c*classes : (c+1)*classes]
			sh[slices.Index(row, slices.Max(row))] += 1 / float64(cells)
		}
		return sh
	}
	t.Run("deeplab-cityscapes", func(t *testing.T) {
		if sky := shares(t, "deeplab-cityscapes", "person.jpg")[10]; sky < 0.15 {
			t.Errorf("person.jpg: sky (train id 10) covers %.3f of the cells, want >= 0.15", sky)
		}
	})
	t.Run("deeplab-pascal", func(t *testing.T) {
		if cat := shares(t, "deeplab-pascal", "chelsea.jpg")[8]; cat < 0.4 {
			t.Errorf("chelsea.jpg: cat (class 8) covers %.3f of the cells, want >= 0.4", cat)
		}
	})

	t.Run("ppocr", func(t *testing.T) {
		// Synthetic text: basicfont glyphs scaled x4 on white.
		const line = "HELLO WORLD 2026"
		small := image.NewRGBA(image.Rect(0, 0, 7*len(line)+8, 20))
		draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
		d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(4, 15)}
		d.DrawString(line)
		big := image.NewRGBA(image.Rect(0, 0, 4*small.Bounds().Dx(), 4*small.Bounds().Dy()))
		xdraw.NearestNeighbor.Scale(big, big.Bounds(), small, small.Bounds(), draw.Src, nil)
		canvas := image.NewRGBA(image.Rect(0, 0, 576, 160))
		draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(canvas, big.Bounds().Add(image.Pt(24, 40)), big, image.Point{}, draw.Src)

		a, s := get(t, "ppocr-det")
		outs := run(t, s, tensor(canvas, a.Inputs[0], 576, 160))
		text := 0
		for _, v := range outs[0].Data {
			if v > 0.3 {
				text++
			}
		}
		if frac := float64(text) / float64(len(outs[0].Data)); frac < 0.05 {
			t.Errorf("synthetic line: %.2f%% of the map is text, want >= 5%%", 100*frac)
		}

		r, rs := get(t, "ppocr-rec")
		keys, err := os.ReadFile(filepath.Join(root, "models", "ppocr_keys_v1.txt"))
		if err != nil {
			t.Fatal(err)
		}
		dict := strings.Split(strings.TrimRight(string(keys), "\n"), "\n")
		b := big.Bounds()
		rec := run(t, rs, tensor(big, r.Inputs[0], 48*b.Dx()/b.Dy(), 48))[0]
		steps, classes := int(rec.Shape[1]), int(rec.Shape[2])
		if classes != len(dict)+2 {
			t.Fatalf("%d classes, dictionary has %d lines (+ blank + space)", classes, len(dict))
		}
		var got strings.Builder
		prev := 0
		for i := range steps {
			row := rec.Data[i*classes : (i+1)*classes]
			k := slices.Index(row, slices.Max(row))
			if k != prev && k != 0 {
				if k == classes-1 {
					got.WriteByte(' ')
				} else {
					got.WriteString(dict[k-1])
				}
			}
			prev = k
		}
		if !strings.Contains(got.String(), "HELLO") || !strings.Contains(got.String(), "2026") {
			t.Errorf("recognised %q, want %q", got.String(), line)
		}
	})
}

func TestMeasureMemory(t *testing.T) {
	root := installed(t)
	rep, err := modelpack.MeasureMemory(t.Context(), root, modelpack.Assets(runtimeArch()), onnxrt.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if len(rep.Models) != 17 || rep.Load <= 0 {
		t.Errorf("%d models, load %v", len(rep.Models), rep.Load)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		if rep.RSSLoaded <= rep.RSSBefore || rep.PeakRSS < rep.RSSRun || rep.PeakRSS > 1<<30 {
			t.Errorf("RSS before %d, loaded %d, after runs %d, peak %d (goal: peak <= 1 GiB)", rep.RSSBefore, rep.RSSLoaded, rep.RSSRun, rep.PeakRSS)
		}
	}
}
