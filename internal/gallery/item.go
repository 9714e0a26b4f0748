package gallery

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/pipeline"
)

// Label is a label as the gallery shows it.
type Label struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

// MaxLabels is how many of an item's labels (the most confident) an Item
// carries for display; search looks at all of them.
const MaxLabels = 5

// Item is one uploaded object and its document.
type Item struct {
	// Key and Bucket name the uploaded object; Document is the key of its
	// document in the result bucket.
	Key      string `json:"key"`
	Bucket   string `json:"bucket,omitempty"`
	Document string `json:"document"`
	// Modified is when the document was written: the gallery's order.
	Modified time.Time `json:"modified"`
	// ETag and VersionID are the object version the document describes.
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	// Execution is the name of the execution that made the document.
	Execution string `json:"execution,omitempty"`
	// Failed is set for an error document, with its Error code and
	// Message.
	Failed  bool   `json:"failed,omitempty"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// Width and Height are the upright image's size (0 when failed).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Labels are the MaxLabels most confident labels, the most specific
	// first (a label that is another's parent comes after the others).
	Labels []Label `json:"labels,omitempty"`
	// Faces and TextLines count the faces and lines of text found.
	Faces     int `json:"faces,omitempty"`
	TextLines int `json:"textLines,omitempty"`
	// Moderation names the moderation labels (flagged when not empty).
	Moderation []string `json:"moderation,omitempty"`

	// terms are the lower-case label names, aliases and parents searched.
	terms []string
}

// ErrNotDocument is returned by Summarize for a key in the result bucket
// that is not a result or error document (imagerec's own _imagerec/
// objects, stray files).
var ErrNotDocument = errors.New("not a result or error document")

// UploadKey returns the uploaded object's key a document key belongs to,
// and whether the document is an error document.
func UploadKey(docKey string) (key string, failed bool, err error) {
	switch {
	case strings.HasPrefix(docKey, "_imagerec/"):
		return "", false, ErrNotDocument
	case strings.HasSuffix(docKey, pipeline.ErrorSuffix) && len(docKey) > len(pipeline.ErrorSuffix):
		return strings.TrimSuffix(docKey, pipeline.ErrorSuffix), true, nil
	case strings.HasSuffix(docKey, pipeline.ResultSuffix) && len(docKey) > len(pipeline.ResultSuffix):
		return strings.TrimSuffix(docKey, pipeline.ResultSuffix), false, nil
	}
	return "", false, ErrNotDocument
}

type nameOnly struct {
	Name string `json:"Name"`
}

// resultDoc is the part of a result document (vision.Result) the gallery
// reads.
type resultDoc struct {
	Labels []struct {
		Name       string     `json:"Name"`
		Confidence float64    `json:"Confidence"`
		Parents    []nameOnly `json:"Parents"`
		Aliases    []nameOnly `json:"Aliases"`
	} `json:"Labels"`
	FaceDetails    []struct{} `json:"FaceDetails"`
	TextDetections []struct {
		Type string `json:"Type"`
	} `json:"TextDetections"`
	ModerationLabels []nameOnly `json:"ModerationLabels"`
	Source           *struct {
		Bucket    string `json:"Bucket"`
		Key       string `json:"Key"`
		ETag      string `json:"ETag"`
		VersionID string `json:"VersionId"`
	} `json:"Source"`
	Image *struct {
		Width  int `json:"Width"`
		Height int `json:"Height"`
	} `json:"Image"`
}

// Summarize reads the document stored at docKey (modified at modified)
// into an Item. It returns ErrNotDocument for a key that names no
// document, and a decoding error for a document that is not the JSON it
// should be.
func Summarize(docKey string, modified time.Time, body []byte) (Item, error) {
	key, failed, err := UploadKey(docKey)
	if err != nil {
		return Item{}, err
	}
	it := Item{Key: key, Document: docKey, Modified: modified.UTC(), Failed: failed}
	if failed {
		var d pipeline.ErrorDocument
		if err := json.Unmarshal(body, &d); err != nil {
			return Item{}, fmt.Errorf("error document %q: %w", docKey, err)
		}
		it.Bucket, it.ETag, it.VersionID = d.Source.Bucket, d.Source.ETag, d.Source.VersionID
		it.Error, it.Message = d.Error, d.Message
		if it.Error == "" {
			it.Error = "UnknownError"
		}
		if i := strings.LastIndex(d.Execution, ":"); i >= 0 {
			it.Execution = d.Execution[i+1:]
		}
	} else {
		var d resultDoc
		if err := json.Unmarshal(body, &d); err != nil {
			return Item{}, fmt.Errorf("result document %q: %w", docKey, err)
		}
		summarizeResult(&it, &d)
	}
	if it.Execution == "" && it.Bucket != "" {
		it.Execution = pipeline.ExecutionName(pipeline.Source{Bucket: it.Bucket, Key: it.Key, ETag: it.ETag, VersionID: it.VersionID})
	}
	return it, nil
}

func summarizeResult(it *Item, d *resultDoc) {
	if d.Source != nil {
		it.Bucket, it.ETag, it.VersionID = d.Source.Bucket, d.Source.ETag, d.Source.VersionID
	}
	if d.Image != nil {
		it.Width, it.Height = d.Image.Width, d.Image.Height
	}
	seen := map[string]bool{}
	term := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !seen[s] {
			seen[s] = true
			it.terms = append(it.terms, s)
		}
	}
	// The gallery shows the most specific labels: a label that is the
	// parent of another (Vehicle for Car) is searched but not shown,
	// unless nothing else is left.
	parents := map[string]bool{}
	for _, l := range d.Labels {
		for _, p := range l.Parents {
			parents[p.Name] = true
		}
	}
	var shown, rest []Label
	for _, l := range d.Labels {
		lb := Label{Name: l.Name, Confidence: l.Confidence}
		if parents[l.Name] {
			rest = append(rest, lb)
		} else {
			shown = append(shown, lb)
		}
		term(l.Name)
		for _, p := range l.Parents {
			term(p.Name)
		}
		for _, a := range l.Aliases {
			term(a.Name)
		}
	}
	byConfidence := func(ls []Label) {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].Confidence > ls[j].Confidence })
	}
	byConfidence(shown)
	byConfidence(rest)
	it.Labels = append(shown, rest...)
	if len(it.Labels) > MaxLabels {
		it.Labels = it.Labels[:MaxLabels:MaxLabels]
	}
	it.Faces = len(d.FaceDetails)
	for _, t := range d.TextDetections {
		if t.Type == "LINE" {
			it.TextLines++
		}
	}
	for _, m := range d.ModerationLabels {
		it.Moderation = append(it.Moderation, m.Name)
	}
}

// matches reports whether every word of words is part of one of the
// item's terms.
func (it *Item) matches(words []string) bool {
	for _, w := range words {
		found := false
		for _, t := range it.terms {
			if strings.Contains(t, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
