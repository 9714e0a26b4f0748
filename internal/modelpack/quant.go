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

// The int8 models. Each is made at install time from its float model by
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

// int8Models are the int8 assets, after the float ones in the table.
func int8Models() []Asset {
	return []Asset{
		int8Of(centernet(), "", ""),
		int8Of(blazeface(), "", ""),
		int8Of(blazefaceFront(), "", ""),
		int8Of(faceres(), "", ""),
		int8Of(emotion(), "", ""),
		int8Of(ppocrDet(), "", ""),
		int8Of(ppocrRec(), "", ""),
		int8Of(ppocrCls(), "", ""),
		int8Of(nsfw(), "", ""),
	}
}
