package modelpack

import (
	"encoding/hex"
	"path"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	t.Parallel()
	pkgs := map[string]bool{}
	for _, p := range Packages() {
		if pkgs[p.Spec()] {
			t.Errorf("package %s declared twice", p.Spec())
		}
		pkgs[p.Spec()] = true
		if !isSHA256(p.SHA256) {
			t.Errorf("package %s: bad sha256 %q", p.Spec(), p.SHA256)
		}
		if !strings.HasSuffix(p.Tarball, "-"+p.Version+".tgz") || p.Licence == "" {
			t.Errorf("package %s: tarball %q / licence %q", p.Spec(), p.Tarball, p.Licence)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		names := map[string]bool{}
		as := Assets(arch)
		for _, a := range as {
			t.Run(arch+"/"+a.Name, func(t *testing.T) {
				if names[a.Name] {
					t.Fatalf("asset declared twice")
				}
				names[a.Name] = true
				if !pkgs[a.Source.Package] {
					t.Errorf("package %q not declared", a.Source.Package)
				}
				if !isSHA256(a.SHA256) {
					t.Errorf("sha256 %q", a.SHA256)
				}
				if d := path.Dir(a.File); d != "lib" && d != "models" || path.Clean(a.File) != a.File {
					t.Errorf("file %q is not under lib/ or models/", a.File)
				}
				if a.Licence == "" || a.Task == "" || !strings.HasPrefix(a.Source.Path, "package/") {
					t.Errorf("licence %q task %q source %q", a.Licence, a.Task, a.Source.Path)
				}
				if !a.IsModel() {
					return
				}
				if len(a.Inputs) == 0 || len(a.Outputs) == 0 {
					t.Fatalf("model without declared inputs/outputs")
				}
				for _, in := range a.Inputs {
					checkInput(t, in)
				}
				if a.Converted() && len(a.Source.Shards) == 0 {
					t.Errorf("converted model without weight shards")
				}
				// A classifier's labels match its last output dimension.
				if len(a.Labels) > 1 {
					last := a.Outputs[0].Shape
					if a.Task == TaskObjects {
						last = a.Outputs[1].Shape // keypoints heatmap
					}
					if n := last[len(last)-1]; n != int64(len(a.Labels)) {
						t.Errorf("%d labels, output has %d classes", len(a.Labels), n)
					}
				}
			})
		}
		if !names["onnxruntime"] {
			t.Errorf("%s: no runtime library declared", arch)
		}
	}
}

func checkInput(t *testing.T, in Input) {
	t.Helper()
	if len(in.Shape) != 4 {
		t.Fatalf("input %q: shape %v is not 4-D", in.Name, in.Shape)
	}
	ch := in.Shape[3]
	if in.Layout == NCHW {
		ch = in.Shape[1]
	} else if in.Layout != NHWC {
		t.Errorf("input %q: layout %q", in.Name, in.Layout)
	}
	if want := map[Colour]int64{RGB: 3, BGR: 3, Gray: 1}[in.Colour]; ch != want {
		t.Errorf("input %q: %d channels for colour %q", in.Name, ch, in.Colour)
	}
	for c := range ch {
		if in.Norm.Std[c] == 0 {
			t.Errorf("input %q: std[%d] is 0", in.Name, c)
		}
	}
	concrete := in.Typical
	if concrete == nil {
		concrete = in.Shape
	}
	for i, d := range concrete {
		if d <= 0 || (in.Shape[i] > 0 && in.Shape[i] != d) {
			t.Errorf("input %q: typical shape %v does not fit %v", in.Name, concrete, in.Shape)
			break
		}
	}
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}

func TestNormScaleBias(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		n        Norm
		v, want  float32
		channels int
	}{
		{"01 black", Range01, 0, 0, 3},
		{"01 white", Range01, 255, 1, 3},
		{"pm1 black", RangePM1, 0, -1, 3},
		{"pm1 white", RangePM1, 255, 1, 3},
		{"255", Range255, 200, 200, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, b := c.n.ScaleBias()
			for ch := range c.channels {
				if got := c.v*s[ch] + b[ch]; abs(got-c.want) > 1e-6 {
					t.Errorf("channel %d: %v -> %v, want %v", ch, c.v, got, c.want)
				}
			}
		})
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
