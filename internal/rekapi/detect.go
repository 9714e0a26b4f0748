package rekapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/vision"
)

// Image is the request's image: Bytes (base64 in JSON) or S3Object.
type Image struct {
	Bytes    []byte    `json:"Bytes,omitempty"`
	S3Object *S3Object `json:"S3Object,omitempty"`
}

// S3Object names an object in the local store.
type S3Object struct {
	Bucket  string `json:"Bucket"`
	Name    string `json:"Name"`
	Version string `json:"Version,omitempty"`
}

// image returns the request image's bytes and a name for logs.
func (h *Handler) image(ctx context.Context, img *Image) (vision.Input, error) {
	switch {
	case img == nil || (img.Bytes == nil && img.S3Object == nil):
		return vision.Input{}, invalidParameter("Request has invalid parameters: Image must contain Bytes or S3Object")
	case img.Bytes != nil && img.S3Object != nil:
		return vision.Input{}, invalidParameter("Request has invalid parameters: Image must contain either Bytes or S3Object, not both")
	case img.Bytes != nil:
		if len(img.Bytes) == 0 {
			return vision.Input{}, invalidParameter("Request has invalid parameters: Image.Bytes is empty")
		}
		if len(img.Bytes) > h.opts.MaxBytes {
			return vision.Input{}, vision.Errorf(vision.CodeImageTooLarge, "Image size is too large: %d bytes, at most %d are allowed as Image.Bytes", len(img.Bytes), h.opts.MaxBytes)
		}
		return vision.Input{Bytes: img.Bytes, Name: "Image.Bytes"}, nil
	}
	o := img.S3Object
	name := "s3://" + o.Bucket + "/" + o.Name
	if o.Bucket == "" || o.Name == "" {
		return vision.Input{}, invalidParameter("Request has invalid parameters: S3Object needs Bucket and Name")
	}
	if h.objects == nil {
		return vision.Input{}, vision.Errorf(vision.CodeInvalidS3Object, "Unable to get object metadata from S3. No object store is configured")
	}
	body, info, err := h.objects.GetObject(ctx, o.Bucket, o.Name)
	if errors.Is(err, objstore.ErrNoSuchKey) || errors.Is(err, objstore.ErrNoSuchBucket) || errors.Is(err, objstore.ErrInvalidBucketName) || errors.Is(err, objstore.ErrInvalidKey) {
		return vision.Input{}, &vision.Error{Code: vision.CodeInvalidS3Object, Message: "Unable to get object metadata from S3. Check object key, region and/or access permissions.", Err: err}
	}
	if err != nil {
		return vision.Input{}, fmt.Errorf("get object %q: %w", name, err)
	}
	defer body.Close()
	if o.Version != "" && o.Version != info.VersionID {
		return vision.Input{}, vision.Errorf(vision.CodeInvalidS3Object, "Unable to get object metadata from S3. Version %q of %s does not exist", o.Version, name)
	}
	if info.Size > h.opts.MaxS3Bytes {
		return vision.Input{}, vision.Errorf(vision.CodeImageTooLarge, "Image size is too large: %s is %d bytes, at most %d are allowed", name, info.Size, h.opts.MaxS3Bytes)
	}
	data, err := io.ReadAll(io.LimitReader(body, h.opts.MaxS3Bytes+1))
	if err != nil {
		return vision.Input{}, fmt.Errorf("read object %q: %w", name, err)
	}
	if int64(len(data)) > h.opts.MaxS3Bytes {
		return vision.Input{}, vision.Errorf(vision.CodeImageTooLarge, "Image size is too large: %s is over %d bytes", name, h.opts.MaxS3Bytes)
	}
	return vision.Input{Bytes: data, Name: name}, nil
}

// explicit keeps an explicit 0 from meaning "the default" to the engine.
func explicit(v float64) float64 {
	if v <= 0 {
		return math.SmallestNonzeroFloat64
	}
	return v
}

func checkPercent(name string, v *float64) error {
	if v != nil && (*v < 0 || *v > 100) {
		return invalidParameter("Request has invalid parameters: %s must be between 0 and 100, got %g", name, *v)
	}
	return nil
}

// recognize runs one feature of the engine.
func (h *Handler) recognize(ctx context.Context, img *Image, f vision.Feature, opts vision.Options) (*vision.Result, error) {
	in, err := h.image(ctx, img)
	if err != nil {
		return nil, err
	}
	opts.Features = []vision.Feature{f}
	res, err := h.rec.Recognize(ctx, in, opts)
	if err != nil {
		return nil, fmt.Errorf("recognize %s: %w", in.Name, err)
	}
	return res, nil
}

// ---------------------------------------------------------------- labels

// DetectLabelsRequest is the subset of Rekognition's request served.
type DetectLabelsRequest struct {
	Image         *Image   `json:"Image"`
	MaxLabels     *int     `json:"MaxLabels"`
	MinConfidence *float64 `json:"MinConfidence"`
	Features      []string `json:"Features"`
	Settings      *struct {
		GeneralLabels *struct {
			LabelInclusionFilters         []string
			LabelExclusionFilters         []string
			LabelCategoryInclusionFilters []string
			LabelCategoryExclusionFilters []string
		}
		ImageProperties *struct {
			MaxDominantColors *int
		}
	} `json:"Settings"`
}

// DetectLabelsResponse is Rekognition's response.
type DetectLabelsResponse struct {
	Labels            []vision.Label          `json:"Labels"`
	LabelModelVersion string                  `json:"LabelModelVersion,omitempty"`
	ImageProperties   *vision.ImageProperties `json:"ImageProperties,omitempty"`
}

func (h *Handler) detectLabels(ctx context.Context, body []byte) (any, error) {
	var req DetectLabelsRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	general, props := len(req.Features) == 0, false
	for _, f := range req.Features {
		switch f {
		case "GENERAL_LABELS":
			general = true
		case "IMAGE_PROPERTIES":
			props = true
		default:
			return nil, invalidParameter("Request has invalid parameters: Features: %q is not one of GENERAL_LABELS, IMAGE_PROPERTIES", f)
		}
	}
	if req.MaxLabels != nil && *req.MaxLabels < 0 {
		return nil, invalidParameter("Request has invalid parameters: MaxLabels must be at least 0")
	}
	if err := checkPercent("MinConfidence", req.MinConfidence); err != nil {
		return nil, err
	}
	opts := vision.Options{}.WithDefaults()
	opts.OmitImageProperties = !props // the response carries neither ImageProperties nor instance colours
	if req.MinConfidence != nil {
		opts.MinConfidence = explicit(*req.MinConfidence)
	}
	if req.MaxLabels != nil {
		opts.MaxLabels = *req.MaxLabels
	}
	var filters labelFilters
	if s := req.Settings; s != nil {
		if ip := s.ImageProperties; ip != nil && ip.MaxDominantColors != nil {
			if n := *ip.MaxDominantColors; n < 0 || n > 20 {
				return nil, invalidParameter("Request has invalid parameters: MaxDominantColors must be between 0 and 20, got %d", n)
			} else if n > 0 {
				opts.MaxDominantColors = n
			}
		}
		if g := s.GeneralLabels; g != nil {
			filters = labelFilters{g.LabelInclusionFilters, g.LabelExclusionFilters, g.LabelCategoryInclusionFilters, g.LabelCategoryExclusionFilters}
			opts.MaxLabels = 0 // filter first, then cap
		}
	}
	res, err := h.recognize(ctx, req.Image, vision.FeatureLabels, opts)
	if err != nil {
		return nil, err
	}
	out := DetectLabelsResponse{Labels: []vision.Label{}, LabelModelVersion: res.LabelModelVersion}
	if general {
		for _, l := range res.Labels {
			if l.Confidence < opts.MinConfidence || !filters.keep(l) {
				continue
			}
			if req.MaxLabels != nil && len(out.Labels) >= *req.MaxLabels {
				break
			}
			out.Labels = append(out.Labels, label(l, props, opts.MaxDominantColors))
		}
	}
	if props && res.ImageProperties != nil {
		out.ImageProperties = imageProperties(*res.ImageProperties, opts.MaxDominantColors)
	}
	return out, nil
}

// labelFilters are Settings.GeneralLabels.
type labelFilters struct {
	include, exclude, includeCat, excludeCat []string
}

func (f labelFilters) keep(l vision.Label) bool {
	if len(f.include) > 0 && !slices.Contains(f.include, l.Name) {
		return false
	}
	if slices.Contains(f.exclude, l.Name) {
		return false
	}
	inCat := func(cats []string) bool {
		for _, c := range l.Categories {
			if slices.Contains(cats, c.Name) {
				return true
			}
		}
		return false
	}
	if len(f.includeCat) > 0 && !inCat(f.includeCat) {
		return false
	}
	return !inCat(f.excludeCat)
}

// label copies l with Rekognition's empty lists instead of nulls; instance
// colours are part of IMAGE_PROPERTIES.
func label(l vision.Label, props bool, maxColors int) vision.Label {
	out := l
	out.Instances = make([]vision.Instance, 0, len(l.Instances))
	for _, in := range l.Instances {
		if props {
			in.DominantColors = firstColors(in.DominantColors, maxColors)
		} else {
			in.DominantColors = nil
		}
		out.Instances = append(out.Instances, in)
	}
	out.Parents = nonNil(l.Parents)
	out.Aliases = nonNil(l.Aliases)
	out.Categories = nonNil(l.Categories)
	return out
}

func imageProperties(p vision.ImageProperties, maxColors int) *vision.ImageProperties {
	p.DominantColors = nonNil(firstColors(p.DominantColors, maxColors))
	if p.Foreground != nil {
		fg := *p.Foreground
		fg.DominantColors = nonNil(firstColors(fg.DominantColors, maxColors))
		p.Foreground = &fg
	}
	if p.Background != nil {
		bg := *p.Background
		bg.DominantColors = nonNil(firstColors(bg.DominantColors, maxColors))
		p.Background = &bg
	}
	return &p
}

func firstColors(c []vision.DominantColor, n int) []vision.DominantColor {
	if n > 0 && len(c) > n {
		return c[:n]
	}
	return c
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ----------------------------------------------------------------- faces

// DetectFacesRequest is Rekognition's request.
type DetectFacesRequest struct {
	Image      *Image   `json:"Image"`
	Attributes []string `json:"Attributes"`
}

// DetectFacesResponse is Rekognition's response.
type DetectFacesResponse struct {
	FaceDetails           []vision.FaceDetail `json:"FaceDetails"`
	OrientationCorrection string              `json:"OrientationCorrection,omitempty"`
}

// faceAttributes are the single attributes Attributes may name, each
// clearing one FaceDetail member when not asked for.
var faceAttributes = map[string]func(*vision.FaceDetail){
	vision.FaceAttrAgeRange: func(f *vision.FaceDetail) { f.AgeRange = nil },
	"BEARD":                 func(f *vision.FaceDetail) { f.Beard = nil },
	vision.FaceAttrEmotions: func(f *vision.FaceDetail) { f.Emotions = nil },
	"EYEGLASSES":            func(f *vision.FaceDetail) { f.Eyeglasses = nil },
	"EYES_OPEN":             func(f *vision.FaceDetail) { f.EyesOpen = nil },
	vision.FaceAttrGender:   func(f *vision.FaceDetail) { f.Gender = nil },
	"MOUTH_OPEN":            func(f *vision.FaceDetail) { f.MouthOpen = nil },
	"MUSTACHE":              func(f *vision.FaceDetail) { f.Mustache = nil },
	vision.FaceAttrSmile:    func(f *vision.FaceDetail) { f.Smile = nil },
	"SUNGLASSES":            func(f *vision.FaceDetail) { f.Sunglasses = nil },
	"EYE_DIRECTION":         func(f *vision.FaceDetail) { f.EyeDirection = nil },
	"FACE_OCCLUDED":         func(f *vision.FaceDetail) { f.FaceOccluded = nil },
}

func (h *Handler) detectFaces(ctx context.Context, body []byte) (any, error) {
	var req DetectFacesRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	keep, omit, err := attributeFilter(req.Attributes)
	if err != nil {
		return nil, err
	}
	res, err := h.recognize(ctx, req.Image, vision.FeatureFaces, vision.Options{OmitFaceAttributes: omit})
	if err != nil {
		return nil, err
	}
	out := DetectFacesResponse{FaceDetails: make([]vision.FaceDetail, 0, len(res.FaceDetails))}
	for _, f := range res.FaceDetails {
		out.FaceDetails = append(out.FaceDetails, keep(f))
	}
	// Rekognition leaves OrientationCorrection null when it used the EXIF
	// orientation; the engines always do, so it is reported only for
	// images that needed no rotation.
	out.OrientationCorrection = orientation(res)
	return out, nil
}

// ------------------------------------------------------------------ text

// DetectTextRequest is Rekognition's request.
type DetectTextRequest struct {
	Image   *Image `json:"Image"`
	Filters *struct {
		WordFilter *struct {
			MinConfidence        *float64
			MinBoundingBoxHeight *float64
			MinBoundingBoxWidth  *float64
		}
		RegionsOfInterest []struct {
			BoundingBox *vision.BoundingBox
			Polygon     []vision.Point
		}
	} `json:"Filters"`
}

// DetectTextResponse is Rekognition's response.
type DetectTextResponse struct {
	TextDetections   []vision.TextDetection `json:"TextDetections"`
	TextModelVersion string                 `json:"TextModelVersion,omitempty"`
}

func (h *Handler) detectText(ctx context.Context, body []byte) (any, error) {
	var req DetectTextRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	var minConf, minH, minW float64
	var regions []vision.BoundingBox
	if f := req.Filters; f != nil {
		if wf := f.WordFilter; wf != nil {
			if err := checkPercent("MinConfidence", wf.MinConfidence); err != nil {
				return nil, err
			}
			minConf, minH, minW = deref(wf.MinConfidence), deref(wf.MinBoundingBoxHeight), deref(wf.MinBoundingBoxWidth)
			if minH < 0 || minH > 1 || minW < 0 || minW > 1 {
				return nil, invalidParameter("Request has invalid parameters: MinBoundingBoxHeight and MinBoundingBoxWidth are fractions between 0 and 1")
			}
		}
		if len(f.RegionsOfInterest) > 10 {
			return nil, invalidParameter("Request has invalid parameters: at most 10 RegionsOfInterest")
		}
		for _, r := range f.RegionsOfInterest {
			switch {
			case r.BoundingBox != nil:
				regions = append(regions, *r.BoundingBox)
			case len(r.Polygon) > 0:
				regions = append(regions, polygonBox(r.Polygon))
			default:
				return nil, invalidParameter("Request has invalid parameters: a RegionOfInterest needs BoundingBox or Polygon")
			}
		}
	}
	res, err := h.recognize(ctx, req.Image, vision.FeatureText, vision.Options{TextMinConfidence: minConf})
	if err != nil {
		return nil, err
	}
	out := DetectTextResponse{TextDetections: []vision.TextDetection{}, TextModelVersion: res.TextModelVersion}
	for _, t := range res.TextDetections {
		b := t.Geometry.BoundingBox
		if t.Type == vision.TextWord && (t.Confidence < minConf || b.Height < minH || b.Width < minW) {
			continue
		}
		if len(regions) > 0 && !inAnyRegion(b, regions) {
			continue
		}
		t.Geometry.Polygon = nonNil(t.Geometry.Polygon)
		out.TextDetections = append(out.TextDetections, t)
	}
	return out, nil
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func polygonBox(pts []vision.Point) vision.BoundingBox {
	minX, minY, maxX, maxY := pts[0].X, pts[0].Y, pts[0].X, pts[0].Y
	for _, p := range pts[1:] {
		minX, minY, maxX, maxY = min(minX, p.X), min(minY, p.Y), max(maxX, p.X), max(maxY, p.Y)
	}
	return vision.BoundingBox{Left: minX, Top: minY, Width: maxX - minX, Height: maxY - minY}
}

// inAnyRegion reports whether the centre of b lies in one of the regions.
func inAnyRegion(b vision.BoundingBox, regions []vision.BoundingBox) bool {
	cx, cy := b.Left+b.Width/2, b.Top+b.Height/2
	for _, r := range regions {
		if cx >= r.Left && cx <= r.Left+r.Width && cy >= r.Top && cy <= r.Top+r.Height {
			return true
		}
	}
	return false
}

// ------------------------------------------------------------ moderation

// DetectModerationLabelsRequest is Rekognition's request.
type DetectModerationLabelsRequest struct {
	Image         *Image   `json:"Image"`
	MinConfidence *float64 `json:"MinConfidence"`
}

// DetectModerationLabelsResponse is Rekognition's response.
type DetectModerationLabelsResponse struct {
	ModerationLabels       []vision.ModerationLabel `json:"ModerationLabels"`
	ModerationModelVersion string                   `json:"ModerationModelVersion,omitempty"`
	ContentTypes           []vision.ContentType     `json:"ContentTypes"`
}

func (h *Handler) detectModerationLabels(ctx context.Context, body []byte) (any, error) {
	var req DetectModerationLabelsRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkPercent("MinConfidence", req.MinConfidence); err != nil {
		return nil, err
	}
	opts := vision.Options{}.WithDefaults()
	if req.MinConfidence != nil {
		opts.ModerationMinConfidence = explicit(*req.MinConfidence)
	}
	res, err := h.recognize(ctx, req.Image, vision.FeatureModeration, opts)
	if err != nil {
		return nil, err
	}
	out := DetectModerationLabelsResponse{ModerationLabels: []vision.ModerationLabel{}, ModerationModelVersion: res.ModerationModelVersion, ContentTypes: []vision.ContentType{}}
	for _, m := range res.ModerationLabels {
		if m.Confidence >= opts.ModerationMinConfidence {
			out.ModerationLabels = append(out.ModerationLabels, m)
		}
	}
	for _, c := range res.ContentTypes {
		if c.Confidence >= opts.ModerationMinConfidence {
			out.ContentTypes = append(out.ContentTypes, c)
		}
	}
	return out, nil
}
