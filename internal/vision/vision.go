package vision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/imagerec/imagerec/internal/imageio"
)

// Recognizer analyses one image. Implementations: onnx (local models) and
// rekognition (Amazon Rekognition through aws-sdk-go-v2).
//
// Recognize returns an *Error whose Code is one of the Code* constants when
// the image itself cannot be analysed (wrong format, too large...). Any other
// error is transient or internal.
type Recognizer interface {
	Recognize(ctx context.Context, img Input, opts Options) (*Result, error)
}

// Input is one image to recognise.
type Input struct {
	// Bytes holds the encoded image file as uploaded.
	Bytes []byte
	// Name is a file name or object key used in messages only.
	Name string
}

// Feature selects one Rekognition API's worth of analysis.
type Feature string

// The features, named after the Rekognition operation they mirror.
const (
	FeatureLabels     Feature = "labels"     // DetectLabels (GENERAL_LABELS + IMAGE_PROPERTIES)
	FeatureFaces      Feature = "faces"      // DetectFaces (Attributes ALL)
	FeatureText       Feature = "text"       // DetectText
	FeatureModeration Feature = "moderation" // DetectModerationLabels
)

// AllFeatures lists every feature in a stable order.
var AllFeatures = []Feature{FeatureLabels, FeatureFaces, FeatureText, FeatureModeration}

// ParseFeatures parses a comma-separated list such as "labels,faces".
// An empty string means all features.
func ParseFeatures(s string) ([]Feature, error) {
	if s == "" || s == "all" {
		return append([]Feature(nil), AllFeatures...), nil
	}
	var out []Feature
	seen := map[Feature]bool{}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			continue
		}
		f := Feature(s[start:i])
		start = i + 1
		if f == "" {
			continue
		}
		ok := false
		for _, k := range AllFeatures {
			if f == k {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown feature %q (want labels, faces, text, moderation or all)", f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no features selected")
	}
	return out, nil
}

// Options are the request parameters Rekognition accepts, with its defaults
// applied when zero.
type Options struct {
	// Features to run; nil means all.
	Features []Feature
	// MaxLabels caps Labels (DetectLabels MaxLabels); 0 means 1000.
	MaxLabels int
	// MinConfidence for Labels (default 55).
	MinConfidence float64
	// ModerationMinConfidence for ModerationLabels (default 50).
	ModerationMinConfidence float64
	// TextMinConfidence for TextDetections (default 0: Rekognition's
	// WordFilter.MinConfidence is unset by default).
	TextMinConfidence float64
	// MaxDominantColors for ImageProperties (default 10).
	MaxDominantColors int
	// FaceDescriptors asks for each face's identity embedding
	// (FaceDetail.Descriptor), which face collections compare. Engines
	// that cannot compute one leave it nil.
	FaceDescriptors bool
	// OmitFaceAttributes names FaceDetail attributes the caller will not
	// read, in the names of Rekognition's DetectFaces Attributes
	// (AGE_RANGE, GENDER, EMOTIONS, SMILE, EYES_OPEN...): an engine may
	// leave them out where that saves work (the local engine does not run
	// a model that only omitted attributes need). Nil asks for every
	// attribute.
	OmitFaceAttributes []string
	// OmitImageProperties says the caller will not read ImageProperties
	// or the label instances' DominantColors (DetectLabels without its
	// IMAGE_PROPERTIES feature): an engine may leave them out.
	OmitImageProperties bool
}

// Names of the FaceDetail attributes in Rekognition's DetectFaces
// Attributes, for Options.OmitFaceAttributes (rekapi knows the rest).
const (
	FaceAttrAgeRange = "AGE_RANGE"
	FaceAttrGender   = "GENDER"
	FaceAttrEmotions = "EMOTIONS"
	FaceAttrSmile    = "SMILE"
)

// OmitsFaceAttributes reports whether every one of attrs is in
// OmitFaceAttributes.
func (o Options) OmitsFaceAttributes(attrs ...string) bool {
	for _, a := range attrs {
		if !slices.Contains(o.OmitFaceAttributes, a) {
			return false
		}
	}
	return true
}

// Has reports whether f is selected.
func (o Options) Has(f Feature) bool {
	if len(o.Features) == 0 {
		return true
	}
	for _, g := range o.Features {
		if g == f {
			return true
		}
	}
	return false
}

// WithDefaults returns o with Rekognition's defaults filled in.
func (o Options) WithDefaults() Options {
	if o.MaxLabels <= 0 {
		o.MaxLabels = 1000
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = 55
	}
	if o.ModerationMinConfidence <= 0 {
		o.ModerationMinConfidence = 50
	}
	if o.MaxDominantColors <= 0 {
		o.MaxDominantColors = 10
	}
	return o
}

// MinImageSide is Amazon Rekognition's minimum image width and height, in
// pixels ("The minimum image dimensions is 80 pixels for both height and
// width", Rekognition's Guidelines and quotas). Smaller images get
// InvalidParameterException.
const MinImageSide = 80

// Rekognition-style error codes for images that cannot be analysed.
const (
	CodeInvalidImageFormat = "InvalidImageFormatException"
	CodeImageTooLarge      = "ImageTooLargeException"
	CodeInvalidParameter   = "InvalidParameterException"
	CodeInvalidS3Object    = "InvalidS3ObjectException"
	// CodeResourceNotFound: the face collection to search does not exist.
	CodeResourceNotFound = "ResourceNotFoundException"
)

// Error is an image-level failure with a Rekognition error code.
// It is not retryable: the same bytes give the same error.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Rekognition error code carried by err, or "" if err is
// not an image-level error.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// imageCodes maps imageio's failure codes to Rekognition's.
var imageCodes = map[imageio.Code]string{
	imageio.CodeInvalidFormat: CodeInvalidImageFormat,
	imageio.CodeTooLarge:      CodeImageTooLarge,
	imageio.CodeTooSmall:      CodeInvalidParameter,
}

// ImageError is how an engine reports a decoding failure at its edge: an
// *imageio.Error in err's chain becomes an *Error with Rekognition's code
// and imageio's message (and cause); any other err is returned as it is.
func ImageError(err error) error {
	var ie *imageio.Error
	if !errors.As(err, &ie) {
		return err
	}
	code, ok := imageCodes[ie.Code]
	if !ok {
		code = CodeInvalidImageFormat
	}
	return &Error{Code: code, Message: ie.Message, Err: ie.Err}
}

// FaceSearchOptions ask for a recognised image's faces to be searched in
// a face collection (SearchFacesByImage per face) and optionally added to
// it (IndexFaces).
type FaceSearchOptions struct {
	CollectionID string
	// Index adds the faces to the collection after searching.
	Index bool
	// ExternalImageID names the image in the collection (Rekognition's
	// pattern [a-zA-Z0-9_.\-:]+; see ExternalImageID).
	ExternalImageID string
	// Threshold is the lowest Similarity matched (default 80, Rekognition's).
	Threshold float64
	// MaxMatches per face (default 10).
	MaxMatches int
}

// WithDefaults fills in Rekognition's defaults.
func (o FaceSearchOptions) WithDefaults() FaceSearchOptions {
	if o.Threshold <= 0 {
		o.Threshold = 80
	}
	if o.MaxMatches <= 0 {
		o.MaxMatches = 10
	}
	return o
}

// ExternalImageID turns an object key into a valid ExternalImageId: "/"
// becomes ":" (Rekognition refuses slashes), any other character outside
// [a-zA-Z0-9_.-:] becomes "_", and the result is cut to 255 bytes.
func ExternalImageID(key string) string {
	b := []byte(key)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-', c == ':':
		case c == '/':
			b[i] = ':'
		default:
			b[i] = '_'
		}
	}
	if len(b) > 255 {
		b = b[:255]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
