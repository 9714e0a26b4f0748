package vision

// This file holds the result document. Field names and units are Amazon
// Rekognition's own (botocore rekognition service-2.json): Confidence is
// 0-100, BoundingBox and Landmark coordinates are fractions of the upright
// image. A section the engine did not run is nil and therefore absent.

// Result is the document stored as <key>.json in the result bucket.
type Result struct {
	Labels                 []Label           `json:"Labels,omitzero"`
	LabelModelVersion      string            `json:"LabelModelVersion,omitempty"`
	ImageProperties        *ImageProperties  `json:"ImageProperties,omitempty"`
	FaceDetails            []FaceDetail      `json:"FaceDetails,omitzero"`
	TextDetections         []TextDetection   `json:"TextDetections,omitzero"`
	TextModelVersion       string            `json:"TextModelVersion,omitempty"`
	ModerationLabels       []ModerationLabel `json:"ModerationLabels,omitzero"`
	ModerationModelVersion string            `json:"ModerationModelVersion,omitempty"`
	ContentTypes           []ContentType     `json:"ContentTypes,omitzero"`
	// FaceSearch holds the face collection search of FaceDetails, when the
	// pipeline was asked for one (--face-collection).
	FaceSearch *FaceSearch `json:"FaceSearch,omitempty"`
	Source     *Source     `json:"Source,omitempty"`
	Image      *ImageInfo  `json:"Image,omitempty"`
	Engine     *EngineInfo `json:"Engine,omitempty"`
	// Timings are milliseconds per step, keyed by one vocabulary for every
	// engine (TimingTotal, TimingDecode, TimingKey).
	Timings map[string]float64 `json:"Timings,omitempty"`
}

// Timings keys. Every engine reports TimingTotal (the whole Recognize),
// TimingDecode (reading the image: the local engine's decode; the AWS
// engine's preparation for the API, a header probe and, when needed, the
// upright re-encode) and TimingKey(feature) for each feature that ran
// (labels_ms, faces_ms, text_ms, moderation_ms). An engine's own steps
// are TimingKey(step) too (the local engine's admission_ms, scan_ms,
// shrink_ms, classifier_ms, scene_ms, properties_ms, verify_ms, people_ms,
// species_ms).
const (
	TimingTotal  = "total_ms"
	TimingDecode = "decode_ms"
)

// TimingKey is the Timings key of a step or feature: its name and "_ms".
func TimingKey(step string) string { return step + "_ms" }

// The lists use omitzero: nil (feature not run) is absent, an empty
// non-nil list (feature ran, found nothing) is present as [].

// Source identifies the uploaded object a result belongs to.
type Source struct {
	// Bucket is empty (absent) for a local file (`imagerec recognize`).
	Bucket    string `json:"Bucket,omitempty"`
	Key       string `json:"Key"`
	ETag      string `json:"ETag,omitempty"`
	Size      int64  `json:"Size"`
	VersionID string `json:"VersionId,omitempty"`
}

// ImageInfo describes the decoded image.
type ImageInfo struct {
	Width  int    `json:"Width"`
	Height int    `json:"Height"`
	Format string `json:"Format"` // jpeg, png, gif, webp, tiff, bmp, heic
	// OrientationCorrection is Rekognition's ROTATE_0|ROTATE_90|ROTATE_180|ROTATE_270
	// derived from EXIF orientation; Width/Height are of the upright image.
	OrientationCorrection string `json:"OrientationCorrection"`
}

// EngineInfo says what produced the result.
type EngineInfo struct {
	Name   string   `json:"Name"`
	Models []string `json:"Models,omitempty"`
}

// BoundingBox is Rekognition's box: fractions of the image width and height.
type BoundingBox struct {
	Width  float64 `json:"Width"`
	Height float64 `json:"Height"`
	Left   float64 `json:"Left"`
	Top    float64 `json:"Top"`
}

// Point is a Polygon vertex in fractions.
type Point struct {
	X float64 `json:"X"`
	Y float64 `json:"Y"`
}

// Label is one DetectLabels label.
type Label struct {
	Name       string     `json:"Name"`
	Confidence float64    `json:"Confidence"`
	Instances  []Instance `json:"Instances"`
	Parents    []NameOnly `json:"Parents"`
	Aliases    []NameOnly `json:"Aliases"`
	Categories []NameOnly `json:"Categories"`
}

// NameOnly is Rekognition's {Name} element of Parents, Aliases and Categories.
type NameOnly struct {
	Name string `json:"Name"`
}

// Instance is one located occurrence of a Label.
type Instance struct {
	BoundingBox    BoundingBox     `json:"BoundingBox"`
	Confidence     float64         `json:"Confidence"`
	DominantColors []DominantColor `json:"DominantColors,omitempty"`
}

// ImageProperties is DetectLabels' IMAGE_PROPERTIES feature.
type ImageProperties struct {
	Quality        ImageQuality    `json:"Quality"`
	DominantColors []DominantColor `json:"DominantColors"`
	Foreground     *ImageRegion    `json:"Foreground,omitempty"`
	Background     *ImageRegion    `json:"Background,omitempty"`
}

// ImageQuality values are 0-100.
type ImageQuality struct {
	Brightness float64 `json:"Brightness"`
	Sharpness  float64 `json:"Sharpness"`
	Contrast   float64 `json:"Contrast,omitempty"`
}

// ImageRegion is the Foreground or Background part of ImageProperties.
type ImageRegion struct {
	Quality        ImageQuality    `json:"Quality"`
	DominantColors []DominantColor `json:"DominantColors"`
}

// DominantColor is one colour cluster.
type DominantColor struct {
	Red             int     `json:"Red"`
	Green           int     `json:"Green"`
	Blue            int     `json:"Blue"`
	HexCode         string  `json:"HexCode"`
	CSSColor        string  `json:"CSSColor"`
	SimplifiedColor string  `json:"SimplifiedColor"`
	PixelPercent    float64 `json:"PixelPercent"`
}

// FaceDetail is one DetectFaces face (Attributes ALL).
type FaceDetail struct {
	BoundingBox BoundingBox `json:"BoundingBox"`
	AgeRange    *AgeRange   `json:"AgeRange,omitempty"`
	Smile       *BoolAttr   `json:"Smile,omitempty"`
	Eyeglasses  *BoolAttr   `json:"Eyeglasses,omitempty"`
	Sunglasses  *BoolAttr   `json:"Sunglasses,omitempty"`
	Gender      *GenderAttr `json:"Gender,omitempty"`
	Beard       *BoolAttr   `json:"Beard,omitempty"`
	Mustache    *BoolAttr   `json:"Mustache,omitempty"`
	EyesOpen    *BoolAttr   `json:"EyesOpen,omitempty"`
	MouthOpen   *BoolAttr   `json:"MouthOpen,omitempty"`
	// EyeDirection is where the eyes look, relative to the head.
	EyeDirection *EyeDirection `json:"EyeDirection,omitempty"`
	Emotions     []Emotion     `json:"Emotions,omitempty"`
	Landmarks    []Landmark    `json:"Landmarks"`
	Pose         Pose          `json:"Pose"`
	Quality      ImageQuality  `json:"Quality"`
	Confidence   float64       `json:"Confidence"`
	// FaceOccluded: no local model predicts it; the AWS engine passes
	// Rekognition's through.
	FaceOccluded *BoolAttr `json:"FaceOccluded,omitempty"`
	// Descriptor is the face's identity embedding (unit length; the dot
	// product of two is their cosine similarity), computed only when
	// Options.FaceDescriptors asks for it, for face collections. It is
	// never part of a result document.
	Descriptor []float32 `json:"-"`
}

// AgeRange is an estimated age span in years.
type AgeRange struct {
	Low  int `json:"Low"`
	High int `json:"High"`
}

// BoolAttr is a yes/no face attribute with confidence.
type BoolAttr struct {
	Value      bool    `json:"Value"`
	Confidence float64 `json:"Confidence"`
}

// GenderAttr is Rekognition's Gender {Value: Male|Female}.
type GenderAttr struct {
	Value      string  `json:"Value"`
	Confidence float64 `json:"Confidence"`
}

// Emotion types, Rekognition's names.
const (
	EmotionHappy     = "HAPPY"
	EmotionSad       = "SAD"
	EmotionAngry     = "ANGRY"
	EmotionConfused  = "CONFUSED"
	EmotionDisgusted = "DISGUSTED"
	EmotionSurprised = "SURPRISED"
	EmotionCalm      = "CALM"
	EmotionFear      = "FEAR"
)

// Emotion is one emotion with confidence.
type Emotion struct {
	Type       string  `json:"Type"`
	Confidence float64 `json:"Confidence"`
}

// Landmark is a facial point; X and Y are fractions of the image.
// Types follow Rekognition: eyeLeft, eyeRight, nose, mouthLeft, mouthRight,
// leftEyeBrowLeft ... (only those the model locates are reported).
type Landmark struct {
	Type string  `json:"Type"`
	X    float64 `json:"X"`
	Y    float64 `json:"Y"`
}

// EyeDirection is the gaze in degrees, relative to the head pose.
type EyeDirection struct {
	Yaw        float64 `json:"Yaw"`
	Pitch      float64 `json:"Pitch"`
	Confidence float64 `json:"Confidence"`
}

// Pose is head rotation in degrees.
type Pose struct {
	Roll  float64 `json:"Roll"`
	Yaw   float64 `json:"Yaw"`
	Pitch float64 `json:"Pitch"`
}

// Text detection types.
const (
	TextLine = "LINE"
	TextWord = "WORD"
)

// TextDetection is one DetectText LINE or WORD.
type TextDetection struct {
	DetectedText string   `json:"DetectedText"`
	Type         string   `json:"Type"`
	ID           int      `json:"Id"`
	ParentID     *int     `json:"ParentId,omitempty"`
	Confidence   float64  `json:"Confidence"`
	Geometry     Geometry `json:"Geometry"`
}

// Geometry locates a text detection.
type Geometry struct {
	BoundingBox BoundingBox `json:"BoundingBox"`
	Polygon     []Point     `json:"Polygon"`
}

// ModerationLabel is one DetectModerationLabels label.
type ModerationLabel struct {
	Name          string  `json:"Name"`
	ParentName    string  `json:"ParentName"`
	Confidence    float64 `json:"Confidence"`
	TaxonomyLevel int     `json:"TaxonomyLevel"`
}

// Content types of DetectModerationLabels' ContentTypes.
const (
	ContentAnimated    = "Animated"    // video games, cartoons, comics, anime
	ContentIllustrated = "Illustrated" // drawings, paintings, sketches
)

// ContentType is one DetectModerationLabels content type: what kind of
// image it is rather than what it shows.
type ContentType struct {
	Name       string  `json:"Name"`
	Confidence float64 `json:"Confidence"`
}

// FaceSearch is the search of an image's faces in a face collection.
type FaceSearch struct {
	CollectionID string `json:"CollectionId"`
	// Faces has one entry per FaceDetails entry, in the same order, each
	// shaped as Rekognition's SearchFacesByImage response for that face.
	Faces []FaceSearchResult `json:"Faces"`
	// IndexedFaces are the faces added to the collection (--index-faces),
	// as IndexFaces' FaceRecords[].Face; empty when none were indexed.
	IndexedFaces []CollectionFace `json:"IndexedFaces,omitempty"`
}

// FaceSearchResult is SearchFacesByImage's response for one face.
type FaceSearchResult struct {
	SearchedFaceBoundingBox BoundingBox `json:"SearchedFaceBoundingBox"`
	SearchedFaceConfidence  float64     `json:"SearchedFaceConfidence"`
	FaceMatches             []FaceMatch `json:"FaceMatches"`
	FaceModelVersion        string      `json:"FaceModelVersion"`
}

// FaceMatch is a collection face that matched, with its Similarity (0-100).
type FaceMatch struct {
	Similarity float64        `json:"Similarity"`
	Face       CollectionFace `json:"Face"`
}

// CollectionFace is Rekognition's Face: a face stored in a collection.
type CollectionFace struct {
	FaceID                 string      `json:"FaceId"`
	BoundingBox            BoundingBox `json:"BoundingBox"`
	ImageID                string      `json:"ImageId"`
	ExternalImageID        string      `json:"ExternalImageId,omitempty"`
	Confidence             float64     `json:"Confidence"`
	IndexFacesModelVersion string      `json:"IndexFacesModelVersion,omitempty"`
}
