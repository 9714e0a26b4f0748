package modelpack

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/imagerec/imagerec/internal/tfconv"
)

// The int8 models. Each would be made at install time from its float model by
// tfconv.Quantize (QDQ: uint8 activations with the calibrated ranges of
// quant/<float asset>.json, int8 weights per output channel), so it is as
// reproducible as the converted models and pinned the same way. The
// engine loads <name>.int8.onnx instead of <name>.onnx when it is
// installed; a model whose int8 form did not pass its agreement gate
// (internal/vision/onnx TestQuantAgreement) has none.

//go:embed quant/*.json
var quantFS embed.FS

// rangeFile is a calibration file's content.
type rangeFile struct {
	Model  string                  `json:"model"`
	Ranges map[string]tfconv.Range `json:"ranges"`
}

// quantRanges reads the calibrated ranges of the named float asset.
func quantRanges(float string) (map[string]tfconv.Range, error) {
	data, err := quantFS.ReadFile("quant/" + float + ".json")
	if err != nil {
		return nil, fmt.Errorf("calibration of %s: %w", float, err)
	}
	var rf rangeFile
	if err := json.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("calibration of %s: %w", float, err)
	}
	return rf.Ranges, nil
}

// int8Of declares the int8 form of float asset f, pinned by sum.
func int8Of(f Asset, sum, notes string) Asset {
	q := f
	q.Name = f.Name + "-int8"
	q.File = strings.TrimSuffix(f.File, ".onnx") + ".int8.onnx"
	q.SHA256 = sum
	q.Source.Quantize = &Quantization{Float: f.Name, ReduceRange: true}
	q.Notes = notes
	return q
}

// produceInt8 makes the float model a's source describes, checks it
// against the float asset's pin and quantises it.
func produceInt8(a Asset, files map[string][]byte) ([]byte, error) {
	qs := a.Source.Quantize
	var f Asset
	for _, b := range assets() {
		if b.Name == qs.Float {
			f = b
		}
	}
	if f.Name == "" {
		return nil, fmt.Errorf("quantize: no float asset %q", qs.Float)
	}
	src, err := produce(f, files)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	if got := hex.EncodeToString(sum[:]); f.SHA256 != "" && got != f.SHA256 {
		return nil, &ChecksumError{Path: f.File + " (quantizer input)", Got: got, Want: f.SHA256}
	}
	ranges, err := quantRanges(qs.Float)
	if err != nil {
		return nil, err
	}
	out, err := tfconv.Quantize(src, tfconv.QuantizeOptions{Ranges: ranges, ReduceRange: qs.ReduceRange})
	if err != nil {
		return nil, fmt.Errorf("quantize %s: %w", f.File, err)
	}
	return out, nil
}

// int8Models are the int8 assets that passed their agreement gates and
// run faster than the float model. None does yet, so every model stays
// float. Measured 2026-12-04 (TestQuantAgreement on the 52 photos of the
// development set's check split, BenchmarkQuantModels with one thread;
// 7-bit per-channel weights, uint8 activations between the 0.01% and
// 99.99% quantiles of 62 calibration photos):
//
//	model            int8/float CPU   agreement with float (gate)
//	centernet             1.00        boxes 35% (98%)
//	blazeface             1.30        boxes 1% (98%)
//	blazeface-front       1.29        boxes 43% (98%)
//	faceres               0.79        gender 5/5, descriptor cosine >= 0.99 0/5 (99%)
//	emotion               0.63-0.85   top-1 5/5 (99%; too few faces to show it)
//	ppocr-det             0.82-0.87   boxes 36% (98%)
//	ppocr-rec             0.72-0.83   same text 0/37 (98%)
//	ppocr-cls             1.54        top-1 86% (99%)
//	nsfw                  1.12-1.18   top-1 90% (99%)
//
// A model is declared here with int8Of once it passes.
func int8Models() []Asset { return nil }
