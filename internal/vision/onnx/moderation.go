package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/onnxrt"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file maps the nsfwjs MobileNetV2 classifier (5 classes: Drawing,
// Hentai, Neutral, Porn, Sexy) onto Amazon Rekognition's moderation
// taxonomy (version 7). The classifier cannot tell which body part is shown
// or which activity, so only the level-1 categories and the most general
// level-2 category it can honestly back are reported; see docs/moderation.md.

// nsfwSpec is nsfwjs' input: 224x224 RGB stretched (no letterbox), values
// divided by 255.
var nsfwSpec = tensorSpec{
	Width: 224, Height: 224, Layout: layoutNHWC,
	Scale: [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255},
}

// nsfwClasses is the output order of the nsfwjs models.
var nsfwClasses = [5]string{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"}

// nsfwScores are the class probabilities of one image.
type nsfwScores struct {
	Drawing, Hentai, Neutral, Porn, Sexy float64
}

// Rekognition moderation taxonomy v7 names used here.
const (
	modExplicit        = "Explicit"
	modExplicitNudity  = "Explicit Nudity"
	modSwimwear        = "Swimwear or Underwear"
	moderationTaxonomy = "7.0"
)

// parseNSFW reads the classifier output. The Keras model ends in a softmax;
// if the values do not look like probabilities they are soft-maxed here.
func parseNSFW(out []float32) (nsfwScores, error) {
	if len(out) != len(nsfwClasses) {
		return nsfwScores{}, fmt.Errorf("nsfw output has %d values, want %d", len(out), len(nsfwClasses))
	}
	p := make([]float64, len(out))
	var sum float64
	probs := true
	for i, v := range out {
		p[i] = float64(v)
		sum += p[i]
		if v < 0 || v > 1 || math.IsNaN(p[i]) {
			probs = false
		}
	}
	if !probs || math.Abs(sum-1) > 0.01 {
		mx := slices.Max(p)
		sum = 0
		for i := range p {
			p[i] = math.Exp(p[i] - mx)
			sum += p[i]
		}
		for i := range p {
			p[i] /= sum
		}
	}
	return nsfwScores{Drawing: p[0], Hentai: p[1], Neutral: p[2], Porn: p[3], Sexy: p[4]}, nil
}

// moderationLabels maps class probabilities onto Rekognition's taxonomy:
//
//	Porn + Hentai -> Explicit (L1) and Explicit / Explicit Nudity (L2)
//	Sexy          -> Swimwear or Underwear (L1)
//	Drawing, Neutral -> nothing (Drawing feeds the Drawing label instead)
//
// Confidence is the probability in percent; labels under minConfidence are
// dropped. The result is never nil.
func moderationLabels(s nsfwScores, minConfidence float64) []vision.ModerationLabel {
	explicit := (s.Porn + s.Hentai) * 100
	suggestive := s.Sexy * 100
	all := []vision.ModerationLabel{
		{Name: modExplicit, ParentName: "", Confidence: round3(explicit), TaxonomyLevel: 1},
		{Name: modExplicitNudity, ParentName: modExplicit, Confidence: round3(explicit), TaxonomyLevel: 2},
		{Name: modSwimwear, ParentName: "", Confidence: round3(suggestive), TaxonomyLevel: 1},
	}
	out := make([]vision.ModerationLabel, 0, len(all))
	for _, l := range all {
		if l.Confidence >= minConfidence {
			out = append(out, l)
		}
	}
	slices.SortStableFunc(out, func(a, b vision.ModerationLabel) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return a.TaxonomyLevel - b.TaxonomyLevel
	})
	return out
}

// impliedArtLabels turns the classifier's illustration classes into
// DetectLabels labels: a drawing (or an explicit illustration) is Drawing,
// whose parent Art the taxonomy adds.
func impliedArtLabels(s nsfwScores) []vision.Label {
	c := (s.Drawing + s.Hentai) * 100
	if c <= 0 {
		return nil
	}
	return []vision.Label{{Name: "Drawing", Confidence: round3(c)}}
}

// contentTypes is DetectModerationLabels' ContentTypes: the classifier's
// drawing classes (Drawing, Hentai: drawn and painted pictures, anime
// included) give Illustrated. It cannot tell animation (cartoons, video
// games) from illustration, so Animated is never reported. A type under
// minConfidence is left out; the result is never nil.
func contentTypes(s nsfwScores, minConfidence float64) []vision.ContentType {
	out := []vision.ContentType{}
	if c := round3((s.Drawing + s.Hentai) * 100); c >= minConfidence {
		out = append(out, vision.ContentType{Name: vision.ContentIllustrated, Confidence: c})
	}
	return out
}

// String is used in debug logs.
func (s nsfwScores) String() string {
	var b strings.Builder
	for i, v := range []float64{s.Drawing, s.Hentai, s.Neutral, s.Porn, s.Sexy} {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%.3f", nsfwClasses[i], v)
	}
	return b.String()
}

// classifyNSFW runs the nsfwjs classifier on img.
func (e *Engine) classifyNSFW(img *imageio.Image) (*nsfwScores, error) {
	input := make([]float32, nsfwSpec.Width*nsfwSpec.Height*3)
	fillTensor(img.Pix, img.Width, img.Height, nsfwSpec, input)
	outs, err := e.nsfw.Run([]onnxrt.Tensor{{Shape: []int64{1, int64(nsfwSpec.Height), int64(nsfwSpec.Width), 3}, Data: input}})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", nsfwFile, err)
	}
	if len(outs) != 1 {
		return nil, fmt.Errorf("%s returned %d outputs, want 1", nsfwFile, len(outs))
	}
	s, err := parseNSFW(outs[0].Data)
	if err != nil {
		return nil, err
	}
	return &s, nil
}
