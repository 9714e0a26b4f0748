package rekognition

// This file converts the SDK's response types into vision's document types.
// Rekognition sends float32 values; they are widened unchanged.

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"

	"github.com/imagerec/imagerec/internal/vision"
)

func f64(p *float32) float64 { return float64(aws.ToFloat32(p)) }

func box(b *types.BoundingBox) vision.BoundingBox {
	if b == nil {
		return vision.BoundingBox{}
	}
	return vision.BoundingBox{Width: f64(b.Width), Height: f64(b.Height), Left: f64(b.Left), Top: f64(b.Top)}
}

func names[T any](in []T, name func(T) *string) []vision.NameOnly {
	out := make([]vision.NameOnly, 0, len(in))
	for _, v := range in {
		out = append(out, vision.NameOnly{Name: aws.ToString(name(v))})
	}
	return out
}

func labels(in []types.Label) []vision.Label {
	out := make([]vision.Label, 0, len(in))
	for _, l := range in {
		insts := make([]vision.Instance, 0, len(l.Instances))
		for _, i := range l.Instances {
			insts = append(insts, vision.Instance{
				BoundingBox:    box(i.BoundingBox),
				Confidence:     f64(i.Confidence),
				DominantColors: colors(i.DominantColors),
			})
		}
		out = append(out, vision.Label{
			Name:       aws.ToString(l.Name),
			Confidence: f64(l.Confidence),
			Instances:  insts,
			Parents:    names(l.Parents, func(p types.Parent) *string { return p.Name }),
			Aliases:    names(l.Aliases, func(p types.LabelAlias) *string { return p.Name }),
			Categories: names(l.Categories, func(p types.LabelCategory) *string { return p.Name }),
		})
	}
	return out
}

func colors(in []types.DominantColor) []vision.DominantColor {
	if in == nil {
		return nil
	}
	out := make([]vision.DominantColor, 0, len(in))
	for _, c := range in {
		out = append(out, vision.DominantColor{
			Red:             int(aws.ToInt32(c.Red)),
			Green:           int(aws.ToInt32(c.Green)),
			Blue:            int(aws.ToInt32(c.Blue)),
			HexCode:         aws.ToString(c.HexCode),
			CSSColor:        aws.ToString(c.CSSColor),
			SimplifiedColor: aws.ToString(c.SimplifiedColor),
			PixelPercent:    f64(c.PixelPercent),
		})
	}
	return out
}

func quality(q *types.DetectLabelsImageQuality) vision.ImageQuality {
	if q == nil {
		return vision.ImageQuality{}
	}
	return vision.ImageQuality{Brightness: f64(q.Brightness), Sharpness: f64(q.Sharpness), Contrast: f64(q.Contrast)}
}

func imageProperties(p *types.DetectLabelsImageProperties) *vision.ImageProperties {
	if p == nil {
		return nil
	}
	out := &vision.ImageProperties{Quality: quality(p.Quality), DominantColors: colors(p.DominantColors)}
	if out.DominantColors == nil {
		out.DominantColors = []vision.DominantColor{}
	}
	if f := p.Foreground; f != nil {
		out.Foreground = &vision.ImageRegion{Quality: quality(f.Quality), DominantColors: colors(f.DominantColors)}
	}
	if b := p.Background; b != nil {
		out.Background = &vision.ImageRegion{Quality: quality(b.Quality), DominantColors: colors(b.DominantColors)}
	}
	return out
}

func boolAttr(value bool, conf *float32) *vision.BoolAttr {
	return &vision.BoolAttr{Value: value, Confidence: f64(conf)}
}

func faceDetails(in []types.FaceDetail) []vision.FaceDetail {
	out := make([]vision.FaceDetail, 0, len(in))
	for _, f := range in {
		d := vision.FaceDetail{
			BoundingBox: box(f.BoundingBox),
			Confidence:  f64(f.Confidence),
			Landmarks:   make([]vision.Landmark, 0, len(f.Landmarks)),
		}
		if f.AgeRange != nil {
			d.AgeRange = &vision.AgeRange{Low: int(aws.ToInt32(f.AgeRange.Low)), High: int(aws.ToInt32(f.AgeRange.High))}
		}
		if f.Smile != nil {
			d.Smile = boolAttr(f.Smile.Value, f.Smile.Confidence)
		}
		if f.Eyeglasses != nil {
			d.Eyeglasses = boolAttr(f.Eyeglasses.Value, f.Eyeglasses.Confidence)
		}
		if f.Sunglasses != nil {
			d.Sunglasses = boolAttr(f.Sunglasses.Value, f.Sunglasses.Confidence)
		}
		if f.Beard != nil {
			d.Beard = boolAttr(f.Beard.Value, f.Beard.Confidence)
		}
		if f.Mustache != nil {
			d.Mustache = boolAttr(f.Mustache.Value, f.Mustache.Confidence)
		}
		if f.EyesOpen != nil {
			d.EyesOpen = boolAttr(f.EyesOpen.Value, f.EyesOpen.Confidence)
		}
		if f.MouthOpen != nil {
			d.MouthOpen = boolAttr(f.MouthOpen.Value, f.MouthOpen.Confidence)
		}
		if f.FaceOccluded != nil {
			d.FaceOccluded = boolAttr(f.FaceOccluded.Value, f.FaceOccluded.Confidence)
		}
		if e := f.EyeDirection; e != nil {
			d.EyeDirection = &vision.EyeDirection{Yaw: f64(e.Yaw), Pitch: f64(e.Pitch), Confidence: f64(e.Confidence)}
		}
		if f.Gender != nil {
			d.Gender = &vision.GenderAttr{Value: string(f.Gender.Value), Confidence: f64(f.Gender.Confidence)}
		}
		for _, e := range f.Emotions {
			d.Emotions = append(d.Emotions, vision.Emotion{Type: string(e.Type), Confidence: f64(e.Confidence)})
		}
		for _, l := range f.Landmarks {
			d.Landmarks = append(d.Landmarks, vision.Landmark{Type: string(l.Type), X: f64(l.X), Y: f64(l.Y)})
		}
		if p := f.Pose; p != nil {
			d.Pose = vision.Pose{Roll: f64(p.Roll), Yaw: f64(p.Yaw), Pitch: f64(p.Pitch)}
		}
		if q := f.Quality; q != nil {
			d.Quality = vision.ImageQuality{Brightness: f64(q.Brightness), Sharpness: f64(q.Sharpness)}
		}
		out = append(out, d)
	}
	return out
}

func textDetections(in []types.TextDetection) []vision.TextDetection {
	out := make([]vision.TextDetection, 0, len(in))
	for _, t := range in {
		d := vision.TextDetection{
			DetectedText: aws.ToString(t.DetectedText),
			Type:         string(t.Type),
			ID:           int(aws.ToInt32(t.Id)),
			Confidence:   f64(t.Confidence),
		}
		if t.ParentId != nil {
			p := int(*t.ParentId)
			d.ParentID = &p
		}
		if g := t.Geometry; g != nil {
			d.Geometry.BoundingBox = box(g.BoundingBox)
			d.Geometry.Polygon = make([]vision.Point, 0, len(g.Polygon))
			for _, p := range g.Polygon {
				d.Geometry.Polygon = append(d.Geometry.Polygon, vision.Point{X: f64(p.X), Y: f64(p.Y)})
			}
		}
		out = append(out, d)
	}
	return out
}

func moderationLabels(in []types.ModerationLabel) []vision.ModerationLabel {
	out := make([]vision.ModerationLabel, 0, len(in))
	for _, m := range in {
		out = append(out, vision.ModerationLabel{
			Name:          aws.ToString(m.Name),
			ParentName:    aws.ToString(m.ParentName),
			Confidence:    f64(m.Confidence),
			TaxonomyLevel: int(aws.ToInt32(m.TaxonomyLevel)),
		})
	}
	return out
}

func contentTypes(in []types.ContentType) []vision.ContentType {
	out := make([]vision.ContentType, 0, len(in))
	for _, c := range in {
		out = append(out, vision.ContentType{Name: aws.ToString(c.Name), Confidence: f64(c.Confidence)})
	}
	return out
}
