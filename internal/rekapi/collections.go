package rekapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file serves Rekognition's face collection operations over a
// facecollection.Store: CreateCollection, DescribeCollection,
// ListCollections, DeleteCollection, IndexFaces, ListFaces, DeleteFaces,
// SearchFaces, SearchFacesByImage, and the stateless CompareFaces.
//
// Constraint violations (patterns, lengths, ranges of botocore's shapes)
// are ValidationExceptions worded as AWS's ("1 validation error detected:
// Value 'a/b' at 'collectionId' failed to satisfy constraint: ..."); what
// the shapes allow but the operation refuses (an image without a face, a
// FaceId not in the collection) is InvalidParameterException.

// Limits of the operations, from botocore's shapes and Rekognition's quotas.
const (
	maxSearchFaces     = 4096 // SearchFaces/SearchFacesByImage MaxFaces
	maxListResults     = 4096 // ListFaces/ListCollections MaxResults
	defaultListResults = 1000
	maxDeleteFaces     = 4096 // DeleteFaces FaceIds
	maxIndexFaces      = 100  // faces IndexFaces considers (DetectFaces' limit)
	defaultThreshold   = 80   // FaceMatchThreshold, SimilarityThreshold
)

var (
	externalIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-:]{1,255}$`)
	faceIDPattern     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// validationError is AWS's wording of one failed constraint.
func validationError(value any, member, constraint string) *APIError {
	return apiErrorf("ValidationException", http.StatusBadRequest,
		"1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func notFound(id string) *APIError {
	return apiErrorf("ResourceNotFoundException", http.StatusBadRequest, "The collection id: %s does not exist", id)
}

// collectionError turns facecollection's errors into Rekognition's.
func collectionError(id string, err error) error {
	switch {
	case errors.Is(err, facecollection.ErrNotFound):
		return notFound(id)
	case errors.Is(err, facecollection.ErrExists):
		return apiErrorf("ResourceAlreadyExistsException", http.StatusBadRequest, "The collection id: %s already exists", id)
	case errors.Is(err, facecollection.ErrModelVersion):
		return invalidParameter("Request has invalid parameters: %s", strings.TrimPrefix(err.Error(), facecollection.ErrModelVersion.Error()+": "))
	case errors.Is(err, facecollection.ErrDescriptor):
		return invalidParameter("Request has invalid parameters: collection %s was made with another face model; its faces cannot be compared with this one's", id)
	}
	return err
}

// store returns the collections, or an error when none are configured.
func (h *Handler) store() (*facecollection.Store, error) {
	if h.opts.Collections == nil {
		return nil, invalidParameter("Face collections are not available: the local engine needs its face models (run: imagerec models install)")
	}
	return h.opts.Collections, nil
}

func checkCollectionID(id string) error {
	if !facecollection.ValidID(id) {
		return validationError(id, "collectionId", `Member must satisfy regular expression pattern: [a-zA-Z0-9_.\-]+ and have length between 1 and 255`)
	}
	return nil
}

func checkRange(member string, v *int, lo, hi int) error {
	if v != nil && (*v < lo || *v > hi) {
		return validationError(*v, member, fmt.Sprintf("Member must have value between %d and %d", lo, hi))
	}
	return nil
}

func checkThreshold(member string, v *float64) error {
	if v != nil && (*v < 0 || *v > 100) {
		return validationError(*v, member, "Member must have value between 0 and 100")
	}
	return nil
}

// ------------------------------------------------------------ collections

// collectionRequest decodes body into req, then finds the collections and
// checks the collection id (id reads it from req): the order in which
// every collection operation reports a bad request, a server without
// face models and a malformed CollectionId.
func (h *Handler) collectionRequest(body []byte, req any, id func() string) (*facecollection.Store, error) {
	if err := decode(body, req); err != nil {
		return nil, err
	}
	s, err := h.store()
	if err != nil {
		return nil, err
	}
	if err := checkCollectionID(id()); err != nil {
		return nil, err
	}
	return s, nil
}

// CreateCollectionRequest is Rekognition's request (Tags are accepted and
// not kept).
type CreateCollectionRequest struct {
	CollectionID string            `json:"CollectionId"`
	Tags         map[string]string `json:"Tags"`
}

// CreateCollectionResponse is Rekognition's response.
type CreateCollectionResponse struct {
	StatusCode       int    `json:"StatusCode"`
	CollectionArn    string `json:"CollectionArn"`
	FaceModelVersion string `json:"FaceModelVersion"`
}

func (h *Handler) createCollection(_ context.Context, body []byte) (any, error) {
	var req CreateCollectionRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	info, err := s.Create(req.CollectionID)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	return CreateCollectionResponse{StatusCode: 200, CollectionArn: info.ARN, FaceModelVersion: info.FaceModelVersion}, nil
}

// CollectionRequest names a collection (DescribeCollection,
// DeleteCollection).
type CollectionRequest struct {
	CollectionID string `json:"CollectionId"`
}

// DescribeCollectionResponse is Rekognition's response.
type DescribeCollectionResponse struct {
	FaceCount         int64   `json:"FaceCount"`
	FaceModelVersion  string  `json:"FaceModelVersion"`
	CollectionARN     string  `json:"CollectionARN"`
	CreationTimestamp float64 `json:"CreationTimestamp"`
	UserCount         int64   `json:"UserCount"`
}

func (h *Handler) describeCollection(_ context.Context, body []byte) (any, error) {
	var req CollectionRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	info, err := s.Describe(req.CollectionID)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	return DescribeCollectionResponse{
		FaceCount: info.FaceCount, FaceModelVersion: info.FaceModelVersion, CollectionARN: info.ARN,
		CreationTimestamp: float64(info.Created.UnixMilli()) / 1000,
	}, nil
}

// StatusResponse is DeleteCollection's response.
type StatusResponse struct {
	StatusCode int `json:"StatusCode"`
}

func (h *Handler) deleteCollection(_ context.Context, body []byte) (any, error) {
	var req CollectionRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	if err := s.Delete(req.CollectionID); err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	return StatusResponse{StatusCode: 200}, nil
}

// ListRequest is ListCollections' request.
type ListRequest struct {
	NextToken  *string `json:"NextToken"`
	MaxResults *int    `json:"MaxResults"`
}

// ListCollectionsResponse is Rekognition's response.
type ListCollectionsResponse struct {
	CollectionIDs     []string `json:"CollectionIds"`
	NextToken         string   `json:"NextToken,omitempty"`
	FaceModelVersions []string `json:"FaceModelVersions"`
}

// page returns the items after the NextToken's, at most max, and the
// next token.
func page[T any](items []T, key func(T) string, token *string, maxResults *int) ([]T, string, error) {
	start := 0
	if token != nil && *token != "" {
		after, err := base64.RawURLEncoding.DecodeString(*token)
		if err != nil || len(after) == 0 {
			return nil, "", apiErrorf("InvalidPaginationTokenException", http.StatusBadRequest, "Invalid pagination token")
		}
		start, _ = slices.BinarySearchFunc(items, string(after), func(it T, k string) int { return strings.Compare(key(it), k) })
		if start < len(items) && key(items[start]) == string(after) {
			start++
		}
	}
	n := defaultListResults
	if maxResults != nil && *maxResults > 0 {
		n = *maxResults
	}
	end := min(len(items), start+n)
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

func (h *Handler) listCollections(_ context.Context, body []byte) (any, error) {
	var req ListRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	s, err := h.store()
	if err != nil {
		return nil, err
	}
	if err := checkRange("maxResults", req.MaxResults, 0, maxListResults); err != nil {
		return nil, err
	}
	infos, next, err := page(s.List(), func(i facecollection.Info) string { return i.ID }, req.NextToken, req.MaxResults)
	if err != nil {
		return nil, err
	}
	out := ListCollectionsResponse{CollectionIDs: []string{}, FaceModelVersions: []string{}, NextToken: next}
	for _, i := range infos {
		out.CollectionIDs = append(out.CollectionIDs, i.ID)
		out.FaceModelVersions = append(out.FaceModelVersions, i.FaceModelVersion)
	}
	return out, nil
}

// ------------------------------------------------------------------ faces

// facesOf recognises img's faces with descriptors; the attributes in omit
// are not read.
func (h *Handler) facesOf(ctx context.Context, img *Image, omit []string) (*vision.Result, error) {
	res, err := h.recognize(ctx, img, vision.FeatureFaces, vision.Options{FaceDescriptors: true, OmitFaceAttributes: omit})
	if err != nil {
		return nil, err
	}
	for _, f := range res.FaceDetails {
		if f.Descriptor == nil {
			return nil, invalidParameter("Face collections are not available: the engine computes no face descriptors (faceres.onnx is not installed)")
		}
	}
	return res, nil
}

var errNoFaces = invalidParameter("There are no faces in the image. Should be at least 1.")

// IndexFacesRequest is Rekognition's request.
type IndexFacesRequest struct {
	CollectionID        string   `json:"CollectionId"`
	Image               *Image   `json:"Image"`
	ExternalImageID     *string  `json:"ExternalImageId"`
	DetectionAttributes []string `json:"DetectionAttributes"`
	MaxFaces            *int     `json:"MaxFaces"`
	QualityFilter       *string  `json:"QualityFilter"`
}

// FaceRecord is one indexed face.
type FaceRecord struct {
	Face       facecollection.Face `json:"Face"`
	FaceDetail vision.FaceDetail   `json:"FaceDetail"`
}

// UnindexedFace is a face IndexFaces left out, with the reasons.
type UnindexedFace struct {
	Reasons    []string          `json:"Reasons"`
	FaceDetail vision.FaceDetail `json:"FaceDetail"`
}

// IndexFacesResponse is Rekognition's response.
type IndexFacesResponse struct {
	FaceRecords           []FaceRecord    `json:"FaceRecords"`
	OrientationCorrection string          `json:"OrientationCorrection,omitempty"`
	FaceModelVersion      string          `json:"FaceModelVersion"`
	UnindexedFaces        []UnindexedFace `json:"UnindexedFaces"`
}

func (h *Handler) indexFaces(ctx context.Context, body []byte) (any, error) {
	var req IndexFacesRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	if e := req.ExternalImageID; e != nil && !externalIDPattern.MatchString(*e) {
		return nil, validationError(*e, "externalImageId", `Member must satisfy regular expression pattern: [a-zA-Z0-9_.\-:]+ and have length between 1 and 255`)
	}
	if err := checkRange("maxFaces", req.MaxFaces, 1, 1<<31-1); err != nil {
		return nil, err
	}
	filter, err := qualityFilter(req.QualityFilter, facecollection.QualityAuto)
	if err != nil {
		return nil, err
	}
	keep, omit, err := attributeFilter(req.DetectionAttributes)
	if err != nil {
		return nil, err
	}
	if err := s.Comparable(req.CollectionID); err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	res, err := h.facesOf(ctx, req.Image, omit)
	if err != nil {
		return nil, err
	}
	maxFaces := maxIndexFaces
	if req.MaxFaces != nil {
		maxFaces = min(maxFaces, *req.MaxFaces)
	}
	imageID := facecollection.NewID()
	out := IndexFacesResponse{FaceRecords: []FaceRecord{}, UnindexedFaces: []UnindexedFace{}, FaceModelVersion: s.FaceModelVersion(), OrientationCorrection: orientation(res)}
	var add []facecollection.Face
	for _, f := range res.FaceDetails { // largest first
		reasons := filter.Reasons(f, res.Image)
		if len(reasons) == 0 && len(add) >= maxFaces {
			reasons = []string{"EXCEEDS_MAX_FACES"}
		}
		detail := keep(f)
		if len(reasons) > 0 {
			out.UnindexedFaces = append(out.UnindexedFaces, UnindexedFace{Reasons: reasons, FaceDetail: detail})
			continue
		}
		face := facecollection.Face{CollectionFace: vision.CollectionFace{
			FaceID: facecollection.NewID(), BoundingBox: f.BoundingBox, ImageID: imageID,
			Confidence: f.Confidence, IndexFacesModelVersion: s.FaceModelVersion(),
		}, Descriptor: f.Descriptor}
		if req.ExternalImageID != nil {
			face.ExternalImageID = *req.ExternalImageID
		}
		add = append(add, face)
		rec := face
		rec.Descriptor = nil
		out.FaceRecords = append(out.FaceRecords, FaceRecord{Face: rec, FaceDetail: detail})
	}
	if len(add) > 0 {
		if err := s.Add(req.CollectionID, add); err != nil {
			return nil, collectionError(req.CollectionID, err)
		}
	}
	return out, nil
}

// orientation is Rekognition's OrientationCorrection as DetectFaces
// reports it (see detectFaces).
func orientation(res *vision.Result) string {
	if res.Image != nil && res.Image.OrientationCorrection == "ROTATE_0" {
		return "ROTATE_0"
	}
	return ""
}

// attributeFilter parses DetectionAttributes / Attributes: it returns
// what keeps the asked-for members of a FaceDetail (DEFAULT when empty)
// and the attributes it clears, which the engine need not compute
// (vision.Options.OmitFaceAttributes).
func attributeFilter(attrs []string) (func(vision.FaceDetail) vision.FaceDetail, []string, error) {
	var keep []string
	all := false
	for _, a := range attrs {
		switch {
		case a == "ALL":
			all = true
		case a == "DEFAULT":
		case faceAttributes[a] != nil:
			keep = append(keep, a)
		default:
			return nil, nil, invalidParameter("Request has invalid parameters: Attributes: %q is not a face attribute", a)
		}
	}
	var omit []string
	if !all {
		omit = omitFaceAttributes(keep...)
	}
	return func(f vision.FaceDetail) vision.FaceDetail {
		for _, name := range omit {
			faceAttributes[name](&f)
		}
		f.Landmarks = nonNil(f.Landmarks)
		f.Descriptor = nil
		return f
	}, omit, nil
}

// omitFaceAttributes is every attribute beyond DEFAULT but keep, sorted.
func omitFaceAttributes(keep ...string) []string {
	var omit []string
	for name := range faceAttributes {
		if !slices.Contains(keep, name) {
			omit = append(omit, name)
		}
	}
	slices.Sort(omit)
	return omit
}

// ListFacesRequest is Rekognition's request (UserId is refused: users are
// not kept).
type ListFacesRequest struct {
	CollectionID string   `json:"CollectionId"`
	NextToken    *string  `json:"NextToken"`
	MaxResults   *int     `json:"MaxResults"`
	UserID       *string  `json:"UserId"`
	FaceIDs      []string `json:"FaceIds"`
}

// ListFacesResponse is Rekognition's response.
type ListFacesResponse struct {
	Faces            []facecollection.Face `json:"Faces"`
	NextToken        string                `json:"NextToken,omitempty"`
	FaceModelVersion string                `json:"FaceModelVersion"`
}

func (h *Handler) listFaces(_ context.Context, body []byte) (any, error) {
	var req ListFacesRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	if err := checkRange("maxResults", req.MaxResults, 0, maxListResults); err != nil {
		return nil, err
	}
	if len(req.FaceIDs) > maxDeleteFaces {
		return nil, validationError(len(req.FaceIDs), "faceIds", "Member must have length less than or equal to 4096")
	}
	for _, id := range req.FaceIDs {
		if !faceIDPattern.MatchString(id) {
			return nil, validationError(id, "faceIds", "Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
		}
	}
	if req.UserID != nil {
		return nil, invalidParameter("Request has invalid parameters: UserId: users are not supported by this endpoint")
	}
	info, err := s.Describe(req.CollectionID)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	faces, err := s.Faces(req.CollectionID)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	if len(req.FaceIDs) > 0 {
		faces = slices.DeleteFunc(faces, func(f facecollection.Face) bool { return !slices.Contains(req.FaceIDs, f.FaceID) })
	}
	got, next, err := page(faces, func(f facecollection.Face) string { return f.FaceID }, req.NextToken, req.MaxResults)
	if err != nil {
		return nil, err
	}
	return ListFacesResponse{Faces: nonNil(got), NextToken: next, FaceModelVersion: info.FaceModelVersion}, nil
}

// DeleteFacesRequest is Rekognition's request.
type DeleteFacesRequest struct {
	CollectionID string   `json:"CollectionId"`
	FaceIDs      []string `json:"FaceIds"`
}

// UnsuccessfulFaceDeletion is a face DeleteFaces did not delete.
type UnsuccessfulFaceDeletion struct {
	FaceID  string   `json:"FaceId"`
	Reasons []string `json:"Reasons"`
}

// DeleteFacesResponse is Rekognition's response.
type DeleteFacesResponse struct {
	DeletedFaces              []string                   `json:"DeletedFaces"`
	UnsuccessfulFaceDeletions []UnsuccessfulFaceDeletion `json:"UnsuccessfulFaceDeletions"`
}

func (h *Handler) deleteFaces(_ context.Context, body []byte) (any, error) {
	var req DeleteFacesRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	if len(req.FaceIDs) < 1 || len(req.FaceIDs) > maxDeleteFaces {
		return nil, validationError(len(req.FaceIDs), "faceIds", "Member must have length between 1 and 4096")
	}
	for _, id := range req.FaceIDs {
		if !faceIDPattern.MatchString(id) {
			return nil, validationError(id, "faceIds", "Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
		}
	}
	deleted, missing, err := s.DeleteFaces(req.CollectionID, req.FaceIDs)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	out := DeleteFacesResponse{DeletedFaces: nonNil(deleted), UnsuccessfulFaceDeletions: []UnsuccessfulFaceDeletion{}}
	for _, id := range missing {
		out.UnsuccessfulFaceDeletions = append(out.UnsuccessfulFaceDeletions, UnsuccessfulFaceDeletion{FaceID: id, Reasons: []string{"FACE_NOT_FOUND"}})
	}
	return out, nil
}

// FaceMatch is one search result (Rekognition's FaceMatch).
type FaceMatch = vision.FaceMatch

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func faceMatches(ms []facecollection.Match) []FaceMatch {
	out := make([]FaceMatch, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.FaceMatch())
	}
	return out
}

// SearchFacesRequest is Rekognition's request.
type SearchFacesRequest struct {
	CollectionID       string   `json:"CollectionId"`
	FaceID             string   `json:"FaceId"`
	MaxFaces           *int     `json:"MaxFaces"`
	FaceMatchThreshold *float64 `json:"FaceMatchThreshold"`
}

// SearchFacesResponse is Rekognition's response.
type SearchFacesResponse struct {
	SearchedFaceID   string      `json:"SearchedFaceId"`
	FaceMatches      []FaceMatch `json:"FaceMatches"`
	FaceModelVersion string      `json:"FaceModelVersion"`
}

func searchParams(maxFaces *int, threshold *float64) (int, float64, error) {
	if err := checkRange("maxFaces", maxFaces, 1, maxSearchFaces); err != nil {
		return 0, 0, err
	}
	if err := checkThreshold("faceMatchThreshold", threshold); err != nil {
		return 0, 0, err
	}
	n, t := maxSearchFaces, float64(defaultThreshold)
	if maxFaces != nil {
		n = *maxFaces
	}
	if threshold != nil {
		t = *threshold
	}
	return n, t, nil
}

func (h *Handler) searchFaces(_ context.Context, body []byte) (any, error) {
	var req SearchFacesRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	if !faceIDPattern.MatchString(req.FaceID) {
		return nil, validationError(req.FaceID, "faceId", "Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
	}
	n, t, err := searchParams(req.MaxFaces, req.FaceMatchThreshold)
	if err != nil {
		return nil, err
	}
	face, err := s.Face(req.CollectionID, req.FaceID)
	if errors.Is(err, facecollection.ErrFaceNotFound) {
		return nil, invalidParameter("Request has invalid parameters: face %s is not in collection %s", req.FaceID, req.CollectionID)
	}
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	ms, err := s.Search(req.CollectionID, face.Descriptor, n, t, req.FaceID)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	info, err := s.Describe(req.CollectionID)
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	return SearchFacesResponse{SearchedFaceID: req.FaceID, FaceMatches: faceMatches(ms), FaceModelVersion: info.FaceModelVersion}, nil
}

// SearchFacesByImageRequest is Rekognition's request.
type SearchFacesByImageRequest struct {
	CollectionID       string   `json:"CollectionId"`
	Image              *Image   `json:"Image"`
	MaxFaces           *int     `json:"MaxFaces"`
	FaceMatchThreshold *float64 `json:"FaceMatchThreshold"`
	QualityFilter      *string  `json:"QualityFilter"`
}

// SearchFacesByImageResponse is Rekognition's response, the shape the
// pipeline's FaceSearch holds per face.
type SearchFacesByImageResponse = vision.FaceSearchResult

func (h *Handler) searchFacesByImage(ctx context.Context, body []byte) (any, error) {
	var req SearchFacesByImageRequest
	s, err := h.collectionRequest(body, &req, func() string { return req.CollectionID })
	if err != nil {
		return nil, err
	}
	n, t, err := searchParams(req.MaxFaces, req.FaceMatchThreshold)
	if err != nil {
		return nil, err
	}
	filter, err := qualityFilter(req.QualityFilter, facecollection.QualityNone)
	if err != nil {
		return nil, err
	}
	info, err := s.Describe(req.CollectionID)
	if err == nil {
		err = s.Comparable(req.CollectionID)
	}
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	res, err := h.facesOf(ctx, req.Image, omitFaceAttributes()) // box, confidence, quality, pose and descriptor only
	if err != nil {
		return nil, err
	}
	// The largest face is searched (FaceDetails are largest first).
	if len(res.FaceDetails) == 0 {
		return nil, errNoFaces
	}
	f := res.FaceDetails[0]
	if r := filter.Reasons(f, res.Image); len(r) > 0 {
		return nil, invalidParameter("The largest face in the image does not meet the quality bar (%s)", strings.Join(r, ", "))
	}
	ms, err := s.Search(req.CollectionID, f.Descriptor, n, t, "")
	if err != nil {
		return nil, collectionError(req.CollectionID, err)
	}
	return SearchFacesByImageResponse{
		SearchedFaceBoundingBox: f.BoundingBox, SearchedFaceConfidence: f.Confidence,
		FaceMatches: faceMatches(ms), FaceModelVersion: info.FaceModelVersion,
	}, nil
}

// qualityFilter parses a QualityFilter parameter.
func qualityFilter(v *string, def string) (facecollection.QualityBar, error) {
	name := def
	if v != nil {
		name = *v
	}
	b, ok := facecollection.Quality(name)
	if !ok {
		return facecollection.QualityBar{}, validationError(name, "qualityFilter", "Member must satisfy enum value set: [NONE, AUTO, LOW, MEDIUM, HIGH]")
	}
	return b, nil
}

// ---------------------------------------------------------- CompareFaces

// CompareFacesRequest is Rekognition's request.
type CompareFacesRequest struct {
	SourceImage         *Image   `json:"SourceImage"`
	TargetImage         *Image   `json:"TargetImage"`
	SimilarityThreshold *float64 `json:"SimilarityThreshold"`
	QualityFilter       *string  `json:"QualityFilter"`
}

// ComparedFace is Rekognition's ComparedFace.
type ComparedFace struct {
	BoundingBox vision.BoundingBox  `json:"BoundingBox"`
	Confidence  float64             `json:"Confidence"`
	Landmarks   []vision.Landmark   `json:"Landmarks"`
	Pose        vision.Pose         `json:"Pose"`
	Quality     vision.ImageQuality `json:"Quality"`
	Emotions    []vision.Emotion    `json:"Emotions,omitempty"`
	Smile       *vision.BoolAttr    `json:"Smile,omitempty"`
}

func comparedFace(f vision.FaceDetail) ComparedFace {
	return ComparedFace{BoundingBox: f.BoundingBox, Confidence: f.Confidence, Landmarks: nonNil(f.Landmarks), Pose: f.Pose, Quality: f.Quality, Emotions: f.Emotions, Smile: f.Smile}
}

// ComparedSourceImageFace is the face CompareFaces compared.
type ComparedSourceImageFace struct {
	BoundingBox vision.BoundingBox `json:"BoundingBox"`
	Confidence  float64            `json:"Confidence"`
}

// CompareFacesMatch is one target face that matched.
type CompareFacesMatch struct {
	Similarity float64      `json:"Similarity"`
	Face       ComparedFace `json:"Face"`
}

// CompareFacesResponse is Rekognition's response.
type CompareFacesResponse struct {
	SourceImageFace                  ComparedSourceImageFace `json:"SourceImageFace"`
	FaceMatches                      []CompareFacesMatch     `json:"FaceMatches"`
	UnmatchedFaces                   []ComparedFace          `json:"UnmatchedFaces"`
	SourceImageOrientationCorrection string                  `json:"SourceImageOrientationCorrection,omitempty"`
	TargetImageOrientationCorrection string                  `json:"TargetImageOrientationCorrection,omitempty"`
}

func (h *Handler) compareFaces(ctx context.Context, body []byte) (any, error) {
	var req CompareFacesRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := checkThreshold("similarityThreshold", req.SimilarityThreshold); err != nil {
		return nil, err
	}
	filter, err := qualityFilter(req.QualityFilter, facecollection.QualityNone)
	if err != nil {
		return nil, err
	}
	threshold := float64(defaultThreshold)
	if req.SimilarityThreshold != nil {
		threshold = *req.SimilarityThreshold
	}
	src, err := h.facesOf(ctx, req.SourceImage, omitFaceAttributes())
	if err != nil {
		return nil, err
	}
	if len(src.FaceDetails) == 0 {
		return nil, errNoFaces
	}
	tgt, err := h.facesOf(ctx, req.TargetImage, omitFaceAttributes(vision.FaceAttrEmotions, vision.FaceAttrSmile)) // comparedFace's
	if err != nil {
		return nil, err
	}
	if len(tgt.FaceDetails) == 0 {
		return nil, errNoFaces
	}
	s := src.FaceDetails[0] // the largest
	out := CompareFacesResponse{
		SourceImageFace:                  ComparedSourceImageFace{BoundingBox: s.BoundingBox, Confidence: s.Confidence},
		FaceMatches:                      []CompareFacesMatch{},
		UnmatchedFaces:                   []ComparedFace{},
		SourceImageOrientationCorrection: orientation(src),
		TargetImageOrientationCorrection: orientation(tgt),
	}
	for _, t := range tgt.FaceDetails {
		if len(filter.Reasons(t, tgt.Image)) > 0 {
			continue
		}
		cos, err := facecollection.Cosine(s.Descriptor, t.Descriptor)
		if err != nil {
			return nil, err
		}
		if sim := facecollection.Similarity(cos); sim >= threshold {
			out.FaceMatches = append(out.FaceMatches, CompareFacesMatch{Similarity: round3(sim), Face: comparedFace(t)})
		} else {
			out.UnmatchedFaces = append(out.UnmatchedFaces, comparedFace(t))
		}
	}
	slices.SortStableFunc(out.FaceMatches, func(a, b CompareFacesMatch) int {
		switch {
		case a.Similarity > b.Similarity:
			return -1
		case a.Similarity < b.Similarity:
			return 1
		}
		return 0
	})
	return out, nil
}
