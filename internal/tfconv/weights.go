package tfconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// maxWeightBytes bounds the weight data a model may declare (1 GiB).
const maxWeightBytes = 1 << 30

type weightGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int64       `json:"shape"`
	Dtype        string        `json:"dtype"`
	Quantization *quantization `json:"quantization"`
}

type quantization struct {
	Dtype string   `json:"dtype"`
	Min   *float64 `json:"min"`
	Scale *float64 `json:"scale"`
}

// loadWeights reads every shard named by the manifest and decodes the
// weights into float32 or integer tensors, dequantising as needed.
func loadWeights(manifest []weightGroup, readFile func(string) ([]byte, error)) (map[string]*tensor, error) {
	if readFile == nil && len(manifest) > 0 {
		return nil, errors.New("model has weights but no ReadFile")
	}
	out := map[string]*tensor{}
	total := 0
	for gi, g := range manifest {
		var data []byte
		for _, p := range g.Paths {
			shard, err := readFile(p)
			if err != nil {
				return nil, fmt.Errorf("read weight shard %q: %w", p, err)
			}
			total += len(shard)
			if total > maxWeightBytes {
				return nil, fmt.Errorf("weights exceed %d bytes", maxWeightBytes)
			}
			data = append(data, shard...)
		}
		off := 0
		for _, w := range g.Weights {
			t, n, err := decodeWeight(w, data[off:])
			if err != nil {
				return nil, fmt.Errorf("weight group %d: weight %q: %w", gi, w.Name, err)
			}
			off += n
			if _, dup := out[w.Name]; dup {
				return nil, fmt.Errorf("weight %q: declared twice", w.Name)
			}
			out[w.Name] = t
		}
	}
	return out, nil
}

// decodeWeight decodes one weight from the front of data and reports how
// many bytes it used.
func decodeWeight(w weightSpec, data []byte) (*tensor, int, error) {
	n := int64(1)
	for _, d := range w.Shape {
		if d < 0 || d > maxWeightBytes {
			return nil, 0, fmt.Errorf("bad dimension %d", d)
		}
		n *= d
		if n > maxWeightBytes {
			return nil, 0, fmt.Errorf("shape %v too large", w.Shape)
		}
	}
	elem := 4
	storage := w.Dtype
	if q := w.Quantization; q != nil {
		storage = q.Dtype
		switch q.Dtype {
		case "uint8":
			elem = 1
		case "uint16", "float16":
			elem = 2
		default:
			return nil, 0, fmt.Errorf("unsupported quantization dtype %q", q.Dtype)
		}
		if q.Dtype != "float16" && (q.Min == nil || q.Scale == nil) {
			return nil, 0, fmt.Errorf("quantization %q without min and scale", q.Dtype)
		}
	} else if w.Dtype == "bool" {
		elem = 1
	}
	size := int(n) * elem
	if size > len(data) {
		return nil, 0, fmt.Errorf("needs %d bytes, %d left in shards", size, len(data))
	}
	raw := data[:size]
	vals := make([]float64, n)
	switch storage {
	case "float32":
		for i := range vals {
			vals[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case "int32":
		for i := range vals {
			vals[i] = float64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case "bool":
		for i := range vals {
			if raw[i] != 0 {
				vals[i] = 1
			}
		}
	case "float16":
		for i := range vals {
			vals[i] = float64(float16to32(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	case "uint8", "uint16":
		q := w.Quantization
		// As TFJS does: q*scale + min in float64, stored as float32 later.
		scale, minv := *q.Scale, *q.Min
		for i := range vals {
			var qv uint32
			if elem == 1 {
				qv = uint32(raw[i])
			} else {
				qv = uint32(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			vals[i] = float64(float64(qv)*scale) + minv // no FMA: same bits on every arch
		}
	default:
		return nil, 0, fmt.Errorf("unsupported dtype %q", w.Dtype)
	}
	t := &tensor{dims: append([]int64{}, w.Shape...)}
	switch w.Dtype {
	case "float32":
		t.dtype = dtFloat
		t.f32 = make([]float32, n)
		for i, v := range vals {
			t.f32[i] = float32(v)
		}
	case "int32", "bool":
		t.dtype = dtInt32
		if w.Dtype == "bool" {
			t.dtype = dtBool
		}
		t.i64 = make([]int64, n)
		for i, v := range vals {
			t.i64[i] = int64(math.Round(v))
		}
	default:
		return nil, 0, fmt.Errorf("unsupported dtype %q", w.Dtype)
	}
	return t, size, nil
}

// float16to32 converts an IEEE 754 half-precision value.
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}
