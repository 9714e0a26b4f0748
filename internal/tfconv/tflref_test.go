package tfconv

import (
	"math"
)

// A Go reference of the quantised arithmetic that TensorFlow Lite runs,
// written from TFLite's kernels (tensorflow/lite/kernels/internal):
// integer accumulation, the fixed-point multiplier and shift of
// QuantizeMultiplier / MultiplyByQuantizedMultiplier, TfLiteRound (half
// away from zero) and the activation clamps. Where TFLite hands an
// operator to its default XNNPACK delegate and XNNPACK's arithmetic
// differs (ADD, QUANTIZE), the reference follows XNNPACK, as TFLite's
// interpreter does; the TFLite kernel is kept beside it (refAddTFLite,
// the fallback of refRequantize). Convolutions requantise with float
// scales in XNNPACK and with the 31-bit fixed point in TFLite's kernel;
// they agree but on rare ties. Values are kept in the tensor's own type
// (0..255 for uint8, -128..127 for int8), so this code shares nothing
// with the converter's uint8-domain trick.

// qtensor is a quantised NHWC tensor: real = s * (q - z).
type qtensor struct {
	shape []int
	q     []int32
	s     float32
	z     int32
	typ   int8 // tflUint8 or tflInt8
}

func qrange(typ int8) (int32, int32) {
	if typ == tflInt8 {
		return -128, 127
	}
	return 0, 255
}

func (t qtensor) size() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

func (t qtensor) real(i int) float64 { return float64(t.s) * float64(t.q[i]-t.z) }

// quantizeMultiplier is TFLite's QuantizeMultiplier: real = m * 2^(shift-31).
func quantizeMultiplier(real float64) (int32, int) {
	if real == 0 {
		return 0, 0
	}
	q, shift := math.Frexp(real)
	qf := int64(math.Round(q * (1 << 31)))
	if qf == 1<<31 {
		qf /= 2
		shift++
	}
	if shift < -31 {
		return 0, 0
	}
	return int32(qf), shift
}

// saturatingRoundingDoublingHighMul is gemmlowp's.
func saturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31)) // truncating division, as C++
}

// roundingDivideByPOT is gemmlowp's: x / 2^exp rounded half away from zero.
func roundingDivideByPOT(x int32, exp int) int32 {
	mask := int32(1)<<exp - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exp
	if remainder > threshold {
		r++
	}
	return r
}

// multiplyByQuantizedMultiplier is TFLite's (the non-"SmallerThanOne"
// general form).
func multiplyByQuantizedMultiplier(x, m int32, shift int) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x*(1<<left), m), right)
}

// refActRange is TFLite's CalculateActivationRangeQuantized.
func refActRange(act uint8, s float32, z int32, typ int8) (int32, int32) {
	qmin, qmax := qrange(typ)
	quantize := func(f float64) int32 { return z + int32(math.Round(f/float64(s))) }
	switch act {
	case actRelu:
		return max(qmin, quantize(0)), qmax
	case actRelu6:
		return max(qmin, quantize(0)), min(qmax, quantize(6))
	case actRelu1:
		return max(qmin, quantize(-1)), min(qmax, quantize(1))
	}
	return qmin, qmax
}

func clamp32(v, lo, hi int32) int32 { return min(max(v, lo), hi) }

// qfilter is a quantised filter: OHWI for CONV_2D (OI for
// FULLY_CONNECTED), 1HWO for DEPTHWISE_CONV_2D; per-tensor or per-channel
// along O.
type qfilter struct {
	shape []int
	q     []int32
	scale []float32
	zero  []int32
	typ   int8
}

func (f qfilter) channel(o int) (float32, int32) {
	if len(f.scale) == 1 {
		return f.scale[0], f.zero[0]
	}
	return f.scale[o], f.zero[o]
}

type convGeom struct {
	sh, sw, dh, dw int
	same           bool
	mult           int // depthwise multiplier (0: normal convolution)
}

// refConvAcc returns the int32 accumulators (bias included) of a TFLite
// convolution: sum (x - xz) * (w - wz) + bias.
func refConvAcc(x qtensor, f qfilter, bias []int32, g convGeom) ([]int64, []int) {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	var kh, kw, oc int
	if g.mult > 0 {
		kh, kw, oc = f.shape[1], f.shape[2], f.shape[3]
	} else {
		oc, kh, kw = f.shape[0], f.shape[1], f.shape[2]
	}
	outDim := func(in, k, s, d int) (int, int) {
		ek := (k-1)*d + 1
		if g.same {
			o := (in + s - 1) / s
			return o, max((o-1)*s+ek-in, 0) / 2
		}
		return (in-ek)/s + 1, 0
	}
	oh, pt := outDim(h, kh, g.sh, g.dh)
	ow, pl := outDim(w, kw, g.sw, g.dw)
	acc := make([]int64, n*oh*ow*oc)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for o := 0; o < oc; o++ {
					_, wz := f.channel(o)
					var sum int64
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := oy*g.sh+ky*g.dh-pt, ox*g.sw+kx*g.dw-pl
							if iy < 0 || ix < 0 || iy >= h || ix >= w {
								continue // padding contributes zero (the input's zero point)
							}
							base := ((b*h+iy)*w + ix) * c
							if g.mult > 0 {
								xv := x.q[base+o/g.mult] - x.z
								sum += int64(xv) * int64(f.q[(ky*kw+kx)*oc+o]-wz)
								continue
							}
							for ch := 0; ch < c; ch++ {
								sum += int64(x.q[base+ch]-x.z) * int64(f.q[((o*kh+ky)*kw+kx)*c+ch]-wz)
							}
						}
					}
					if bias != nil {
						sum += int64(bias[o])
					}
					acc[((b*oh+oy)*ow+ox)*oc+o] = sum
				}
			}
		}
	}
	return acc, []int{n, oh, ow, oc}
}

// refRequantizeAcc turns accumulators into outputs with per-channel
// multipliers in_s*w_s/out_s, as TFLite's quantised convolutions do.
func refRequantizeAcc(acc []int64, shape []int, x qtensor, f qfilter, out qtensor, act uint8) qtensor {
	oc := shape[len(shape)-1]
	lo, hi := refActRange(act, out.s, out.z, out.typ)
	out.shape = shape
	out.q = make([]int32, len(acc))
	for i, a := range acc {
		ws, _ := f.channel(i % oc)
		m, shift := quantizeMultiplier(float64(x.s) * float64(ws) / float64(out.s))
		v := multiplyByQuantizedMultiplier(int32(a), m, shift) + out.z
		out.q[i] = clamp32(v, lo, hi)
	}
	return out
}

// refAdd is quantised ADD as XNNPACK computes it
// (xnn_init_qu8_add_minmax_scalar_params and the qs8 twin): multipliers
// of about 20 bits for a.s/out.s and b.s/out.s sharing one shift, a bias
// for the zero points and half of the last bit, an arithmetic shift.
func refAdd(a, b qtensor, out qtensor, act uint8) qtensor {
	as, bs := a.s/out.s, b.s/out.s
	_, e := math.Frexp(float64(max(as, bs)))
	shift := uint(20 - (e - 1)) // 20 minus the float's unbiased exponent
	am := int64(math.RoundToEven(math.Ldexp(float64(as), int(shift))))
	bm := int64(math.RoundToEven(math.Ldexp(float64(bs), int(shift))))
	lo, hi := refActRange(act, out.s, out.z, out.typ)
	out.shape = a.shape
	out.q = make([]int32, len(a.q))
	for i := range a.q {
		acc := int64(a.q[i]-a.z)*am + int64(b.q[i]-b.z)*bm + int64(1)<<(shift-1)
		out.q[i] = clamp32(int32(acc>>shift)+out.z, lo, hi)
	}
	return out
}

// refAddTFLite is TFLite's own quantised ADD kernel (left shift 20,
// per-input multipliers).
func refAddTFLite(a, b qtensor, out qtensor, act uint8) qtensor {
	const leftShift = 20
	twiceMax := 2 * math.Max(float64(a.s), float64(b.s))
	m1, s1 := quantizeMultiplier(float64(a.s) / twiceMax)
	m2, s2 := quantizeMultiplier(float64(b.s) / twiceMax)
	mo, so := quantizeMultiplier(twiceMax / (float64(int64(1)<<leftShift) * float64(out.s)))
	lo, hi := refActRange(act, out.s, out.z, out.typ)
	out.shape = a.shape
	out.q = make([]int32, len(a.q))
	for i := range a.q {
		v1 := multiplyByQuantizedMultiplier((a.q[i]-a.z)*(1<<leftShift), m1, s1)
		v2 := multiplyByQuantizedMultiplier((b.q[i]-b.z)*(1<<leftShift), m2, s2)
		out.q[i] = clamp32(multiplyByQuantizedMultiplier(v1+v2, mo, so)+out.z, lo, hi)
	}
	return out
}

// refAvgPool is TFLite's quantised AVERAGE_POOL_2D: the sum over the
// valid window divided by its size, rounded half up; in and out share
// their quantisation.
func refAvgPool(x qtensor, fh, fw, sh, sw int, same bool, act uint8) qtensor {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	outDim := func(in, k, s int) (int, int) {
		if same {
			o := (in + s - 1) / s
			return o, max((o-1)*s+k-in, 0) / 2
		}
		return (in-k)/s + 1, 0
	}
	oh, pt := outDim(h, fh, sh)
	ow, pl := outDim(w, fw, sw)
	lo, hi := refActRange(act, x.s, x.z, x.typ)
	out := qtensor{shape: []int{n, oh, ow, c}, s: x.s, z: x.z, typ: x.typ, q: make([]int32, n*oh*ow*c)}
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for ch := 0; ch < c; ch++ {
					var sum, count int32
					for ky := 0; ky < fh; ky++ {
						for kx := 0; kx < fw; kx++ {
							iy, ix := oy*sh+ky-pt, ox*sw+kx-pl
							if iy < 0 || ix < 0 || iy >= h || ix >= w {
								continue
							}
							sum += x.q[((b*h+iy)*w+ix)*c+ch]
							count++
						}
					}
					v := sum
					if sum >= 0 {
						v = (sum + count/2) / count
					} else {
						v = (sum - count/2) / count
					}
					out.q[((b*oh+oy)*ow+ox)*c+ch] = clamp32(v, lo, hi)
				}
			}
		}
	}
	return out
}

// refMeanHW is quantised MEAN over height and width with keep_dims as
// TFLite's XNNPACK delegate runs it (global average pooling): the int32
// sum of q - z_in scaled by in_s/(out_s*count) in float32, rounded half
// to even. TFLite's own kernel (reference_ops::Mean) instead rescales the
// raw sum with the fixed-point multiplier and adds a separately rounded
// zero-point bias.
func refMeanHW(x qtensor, out qtensor) qtensor {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	scale := x.s / (out.s * float32(h*w))
	qmin, qmax := qrange(out.typ)
	out.shape = []int{n, 1, 1, c}
	out.q = make([]int32, n*c)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			var acc int32
			for i := 0; i < h*w; i++ {
				acc += x.q[(b*h*w+i)*c+ch] - x.z
			}
			v := int32(math.RoundToEven(float64(float32(acc) * scale)))
			out.q[b*c+ch] = clamp32(v+out.z, qmin, qmax)
		}
	}
	return out
}

// refSoftmax is TFLite's quantised SOFTMAX for uint8 (the lookup table of
// exp((q - 255) * beta * in_s) and float normalisation).
func refSoftmax(x qtensor, beta float32, out qtensor) qtensor {
	var table [256]float32
	for i := range table {
		table[i] = float32(math.Exp(float64(float32(i-255) * beta * x.s)))
	}
	last := x.shape[len(x.shape)-1]
	out.shape = x.shape
	out.q = make([]int32, len(x.q))
	qmin, qmax := qrange(out.typ)
	for r := 0; r < len(x.q)/last; r++ {
		row := x.q[r*last : (r+1)*last]
		maxv := row[0]
		for _, v := range row {
			maxv = max(maxv, v)
		}
		off := 255 - maxv
		var sum float32
		for _, v := range row {
			sum += table[off+v]
		}
		inv := 1 / (sum * out.s)
		for j, v := range row {
			p := table[off+v] * inv
			out.q[r*last+j] = clamp32(int32(p+0.5)+out.z, qmin, qmax)
		}
	}
	return out
}

// refRequantize is TFLite's QUANTIZE between quantised types: XNNPACK's
// convert (an 8-bit fractional multiplier, rounding half up) when the
// scale ratio is in [2^-8, 2^7], else TFLite's Requantize kernel.
func refRequantize(x qtensor, out qtensor) qtensor {
	qmin, qmax := qrange(out.typ)
	if r := x.s / out.s; r >= 1.0/256 && r <= 128 {
		m := int32(math.RoundToEven(float64(r) * 256))
		out.shape = x.shape
		out.q = make([]int32, len(x.q))
		for i, v := range x.q {
			out.q[i] = clamp32((((v-x.z)*m+128)>>8)+out.z, qmin, qmax)
		}
		return out
	}
	m, shift := quantizeMultiplier(float64(x.s) / float64(out.s))
	out.shape = x.shape
	out.q = make([]int32, len(x.q))
	for i, v := range x.q {
		out.q[i] = clamp32(multiplyByQuantizedMultiplier(v-x.z, m, shift)+out.z, qmin, qmax)
	}
	return out
}

// refConcat is TFLite's quantised CONCATENATION (ConcatenationWithScaling
// when the quantisations differ) along an NHWC axis.
func refConcat(xs []qtensor, axis int, out qtensor) qtensor {
	out.shape = append([]int(nil), xs[0].shape...)
	out.shape[axis] = 0
	for _, x := range xs {
		out.shape[axis] += x.shape[axis]
	}
	outer, inner := 1, 1
	for a := 0; a < axis; a++ {
		outer *= out.shape[a]
	}
	for a := axis + 1; a < len(out.shape); a++ {
		inner *= out.shape[a]
	}
	qmin, qmax := qrange(out.typ)
	inv := 1 / out.s
	for o := 0; o < outer; o++ {
		for _, x := range xs {
			n := x.shape[axis] * inner
			for j := 0; j < n; j++ {
				v := x.q[o*n+j]
				if x.s != out.s || x.z != out.z {
					scale := x.s * inv
					bias := -float32(x.z) * scale
					v = clamp32(int32(math.Round(float64(float32(v)*scale+bias)))+out.z, qmin, qmax)
				}
				out.q = append(out.q, v)
			}
		}
	}
	return out
}

// refResizeBilinear is TFLite's optimised uint8 RESIZE_BILINEAR: float
// interpolation weights, rounded by adding 0.5.
func refResizeBilinear(x qtensor, oh, ow int, alignCorners, halfPixel bool) qtensor {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	hs, ws := float32(h)/float32(oh), float32(w)/float32(ow)
	if alignCorners && oh > 1 {
		hs = float32(h-1) / float32(oh-1)
	}
	if alignCorners && ow > 1 {
		ws = float32(w-1) / float32(ow-1)
	}
	interp := func(v int, scale float32, size int) (float32, int, int) {
		var in float32
		if halfPixel {
			in = (float32(v)+0.5)*scale - 0.5
		} else {
			in = float32(v) * scale
		}
		fl := float32(math.Floor(float64(in)))
		return in, max(int(fl), 0), min(int(math.Ceil(float64(in))), size-1)
	}
	out := qtensor{shape: []int{n, oh, ow, c}, s: x.s, z: x.z, typ: x.typ, q: make([]int32, n*oh*ow*c)}
	at := func(b, y, xx, ch int) float32 { return float32(x.q[((b*h+y)*w+xx)*c+ch]) }
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			iy, y0, y1 := interp(y, hs, h)
			for xx := 0; xx < ow; xx++ {
				ix, x0, x1 := interp(xx, ws, w)
				dy, dx := iy-float32(y0), ix-float32(x0)
				for ch := 0; ch < c; ch++ {
					v := at(b, y0, x0, ch)*((1-dy)*(1-dx)) + at(b, y0, x1, ch)*((1-dy)*dx) +
						at(b, y1, x0, ch)*(dy*(1-dx)) + at(b, y1, x1, ch)*(dy*dx)
					out.q[((b*oh+y)*ow+xx)*c+ch] = int32(v + 0.5)
				}
			}
		}
	}
	return out
}

// refTile repeats an NHWC tensor.
func refTile(x qtensor, mult []int) qtensor {
	out := qtensor{s: x.s, z: x.z, typ: x.typ}
	for a, d := range x.shape {
		out.shape = append(out.shape, d*mult[a])
	}
	out.q = make([]int32, out.size())
	idx := make([]int, len(out.shape))
	for i := range out.q {
		r := i
		for a := len(out.shape) - 1; a >= 0; a-- {
			idx[a] = r % out.shape[a]
			r /= out.shape[a]
		}
		src := 0
		for a := range x.shape {
			src = src*x.shape[a] + idx[a]%x.shape[a]
		}
		out.q[i] = x.q[src]
	}
	return out
}

// refArgMax returns the index of the first maximum along the last axis.
func refArgMax(x qtensor) []int32 {
	last := x.shape[len(x.shape)-1]
	out := make([]int32, len(x.q)/last)
	for r := range out {
		best := 0
		for j := 1; j < last; j++ {
			if x.q[r*last+j] > x.q[r*last+best] {
				best = j
			}
		}
		out[r] = int32(best)
	}
	return out
}
