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
	remotes := map[string]Remote{}
	for _, r := range Remotes() {
		if _, ok := remotes[r.Name]; ok || pkgs[r.Name] {
			t.Errorf("remote %s declared twice", r.Name)
		}
		remotes[r.Name] = r
		if !strings.HasPrefix(r.BaseURL, "https://") || !strings.HasSuffix(r.BaseURL, "/") || !strings.Contains(r.BaseURL, r.Version) || r.Licence == "" {
			t.Errorf("remote %s: base URL %q must be https, end in / and pin version %q; licence %q", r.Name, r.BaseURL, r.Version, r.Licence)
		}
		for name, sum := range r.Files {
			if !isSHA256(sum) || name == "" || strings.ContainsAny(name, "/\\") {
				t.Errorf("remote %s: file %q sha256 %q", r.Name, name, sum)
			}
		}
	}
	used := map[string]bool{}
	for _, arch := range []string{"amd64", "arm64"} {
		names := map[string]bool{}
		as := Assets(arch)
		for _, a := range as {
			t.Run(arch+"/"+a.Name, func(t *testing.T) {
				if names[a.Name] {
					t.Fatalf("asset declared twice")
				}
				names[a.Name] = true
				if !isSHA256(a.SHA256) {
					t.Errorf("sha256 %q", a.SHA256)
				}
				if a.Licence == "" || a.Task == "" {
					t.Errorf("licence %q task %q", a.Licence, a.Task)
				}
				dirs := map[string]bool{"lib": true, "models": true}
				switch src := a.Source; {
				case (src.Package == "") == (src.Remote == ""):
					t.Errorf("source %+v: want exactly one of Package and Remote", src)
				case src.Package != "":
					if !pkgs[src.Package] {
						t.Errorf("package %q not declared", src.Package)
					}
					if !strings.HasPrefix(src.Path, "package/") {
						t.Errorf("source path %q is not in a tarball", src.Path)
					}
				default:
					r, ok := remotes[src.Remote]
					pin := r.Files[src.Path]
					if !ok || pin == "" {
						t.Fatalf("remote file %s %q not declared", src.Remote, src.Path)
					}
					used[src.Remote+"/"+src.Path] = true
					if a.SourceFile() != "sources/"+src.Remote+"/"+src.Path || !strings.HasPrefix(a.Origin(), r.BaseURL) {
						t.Errorf("source file %q, origin %q", a.SourceFile(), a.Origin())
					}
					if src.Format == FormatCopy && a.SHA256 != pin {
						t.Errorf("copied from %s with sha256 %s, pinned as %s", src.Path, a.SHA256, pin)
					}
					if a.File == a.SourceFile() {
						// The verified source file is the asset.
						dirs[path.Dir(a.File)] = src.Format == FormatCopy
					}
					if len(src.Shards) > 0 {
						t.Errorf("remote source with shards %v", src.Shards)
					}
				}
				if !dirs[path.Dir(a.File)] || path.Clean(a.File) != a.File {
					t.Errorf("file %q is not under lib/ or models/ (or, a remote file kept as it is, its sources/ path)", a.File)
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
				if tfjs := a.Source.Format == FormatTFJSGraph || a.Source.Format == FormatTFJSWrapped; tfjs && len(a.Source.Shards) == 0 {
					t.Errorf("TFJS model without weight shards")
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
	for _, r := range remotes {
		for name := range r.Files {
			if !used[r.Name+"/"+name] {
				t.Errorf("remote %s: %s is pinned but no asset uses it", r.Name, name)
			}
		}
	}
}

// TestProduce runs each format on a tiny source: copy passes bytes
// through, a TFLite file that is not one and unknown formats fail clearly.
func TestProduce(t *testing.T) {
	t.Parallel()
	src := map[string][]byte{"x.tflite": []byte("TFL3 not a model")}
	cases := []struct {
		format  Format
		want    string
		wantErr string
	}{
		{FormatCopy, "TFL3 not a model", ""},
		{FormatTFLite, "", "convert x.tflite: not a TFLite model"},
		{"gguf", "", `unknown format "gguf"`},
	}
	for _, c := range cases {
		t.Run(string(c.format), func(t *testing.T) {
			a := Asset{Name: "x", Source: Source{Remote: remoteCoral, Path: "x.tflite", Format: c.format}}
			out, err := produce(a, src)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("produce = %q, %v; want error %q", out, err, c.wantErr)
				}
				return
			}
			if err != nil || string(out) != c.want {
				t.Fatalf("produce = %q, %v", out, err)
			}
		})
	}
	if _, err := produce(Asset{Source: Source{Path: "missing", Format: FormatCopy}}, src); err == nil || !strings.Contains(err.Error(), "not in the source") {
		t.Errorf("missing source file: %v", err)
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
