package facecollection

import (
	"math"

	"github.com/imagerec/imagerec/internal/vision"
)

// QualityFilter values (Rekognition's QualityFilter enum).
const (
	QualityNone   = "NONE"
	QualityAuto   = "AUTO"
	QualityLow    = "LOW"
	QualityMedium = "MEDIUM"
	QualityHigh   = "HIGH"
)

// QualityBar is what a face must reach to pass a QualityFilter. AUTO is
// MEDIUM. Rekognition does not publish its bars; these are set on the
// engine's own measures (Confidence, the face's side in pixels of the
// image, Quality's Sharpness and Brightness, Pose) so that LOW drops only
// faces that are barely faces and HIGH keeps only clear, frontal ones.
type QualityBar struct {
	off              bool
	minConfidence    float64
	minSide          float64 // pixels of the upright image
	minSharpness     float64
	minBrightness    float64
	maxBrightness    float64
	maxYaw, maxPitch float64
}

var qualityBars = map[string]QualityBar{
	QualityNone:   {off: true},
	QualityLow:    {minConfidence: 70, minSide: 24, minSharpness: 5, minBrightness: 5, maxBrightness: 100, maxYaw: 80, maxPitch: 60},
	QualityMedium: {minConfidence: 85, minSide: 40, minSharpness: 15, minBrightness: 15, maxBrightness: 98, maxYaw: 60, maxPitch: 45},
	QualityHigh:   {minConfidence: 95, minSide: 80, minSharpness: 40, minBrightness: 25, maxBrightness: 95, maxYaw: 35, maxPitch: 30},
}

// Quality returns the bar of a QualityFilter value (AUTO is MEDIUM); ok is
// false for any other name.
func Quality(name string) (QualityBar, bool) {
	if name == QualityAuto {
		name = QualityMedium
	}
	b, ok := qualityBars[name]
	return b, ok
}

// Reasons lists why f fails the bar (IndexFaces' UnindexedFace Reasons);
// none when it passes.
func (b QualityBar) Reasons(f vision.FaceDetail, img *vision.ImageInfo) []string {
	if b.off {
		return nil
	}
	var out []string
	if f.Confidence < b.minConfidence {
		out = append(out, "LOW_CONFIDENCE")
	}
	if img != nil {
		side := math.Min(f.BoundingBox.Width*float64(img.Width), f.BoundingBox.Height*float64(img.Height))
		if side < b.minSide {
			out = append(out, "SMALL_BOUNDING_BOX")
		}
	}
	if f.Quality.Sharpness < b.minSharpness {
		out = append(out, "LOW_SHARPNESS")
	}
	if f.Quality.Brightness < b.minBrightness || f.Quality.Brightness > b.maxBrightness {
		out = append(out, "LOW_BRIGHTNESS")
	}
	if math.Abs(f.Pose.Yaw) > b.maxYaw || math.Abs(f.Pose.Pitch) > b.maxPitch {
		out = append(out, "EXTREME_POSE")
	}
	return out
}
