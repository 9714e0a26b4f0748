package facecollection

import (
	"context"
	"errors"
	"fmt"

	"github.com/imagerec/imagerec/internal/vision"
)

// This file is the pipeline's face search over a Store (imagerec serve
// --face-collection): what Rekognition's SearchFacesByImage and IndexFaces
// do on AWS, for every face of an image the engine already recognised.

// SearchFaces searches each of res.FaceDetails in the collection
// opts.CollectionID with the descriptor the engine computed for it
// (vision.Options.FaceDescriptors), one SearchFacesByImage-shaped result
// per face in the same order. With opts.Index, the faces that pass
// IndexFaces' default quality filter (AUTO) are then added, with
// opts.ExternalImageID and one new ImageId, in the same durable change
// that removes the faces an earlier run indexed under that
// ExternalImageId: a retried or re-uploaded image is indexed once.
// Faces indexed under opts.ExternalImageID are never returned as
// matches (an image does not match itself).
//
// An image without faces does not touch the collection. A missing
// collection is a *vision.Error with vision.CodeResourceNotFound; a
// collection made with another face model, CodeInvalidParameter.
func (s *Store) SearchFaces(_ context.Context, _ vision.Input, res *vision.Result, opts vision.FaceSearchOptions) (*vision.FaceSearch, error) {
	opts = opts.WithDefaults()
	id := opts.CollectionID
	out := &vision.FaceSearch{CollectionID: id, Faces: make([]vision.FaceSearchResult, 0, len(res.FaceDetails))}
	if len(res.FaceDetails) == 0 {
		return out, nil
	}
	info, err := s.Describe(id)
	if err == nil {
		err = s.Comparable(id)
	}
	if err != nil {
		return nil, searchError(id, err)
	}
	own := func(f *Face) bool { return opts.ExternalImageID != "" && f.ExternalImageID == opts.ExternalImageID }
	bar, _ := Quality(QualityAuto)
	imageID := NewID()
	var add []Face
	for i, f := range res.FaceDetails {
		if f.Descriptor == nil {
			return nil, fmt.Errorf("search face %d of %d in collection %s: the engine computed no descriptor", i+1, len(res.FaceDetails), id)
		}
		ms, err := s.search(id, f.Descriptor, opts.MaxMatches, opts.Threshold, own)
		if err != nil {
			return nil, searchError(id, err)
		}
		r := vision.FaceSearchResult{
			SearchedFaceBoundingBox: f.BoundingBox, SearchedFaceConfidence: f.Confidence,
			FaceMatches: make([]vision.FaceMatch, 0, len(ms)), FaceModelVersion: info.FaceModelVersion,
		}
		for _, m := range ms {
			r.FaceMatches = append(r.FaceMatches, m.FaceMatch())
		}
		out.Faces = append(out.Faces, r)
		if opts.Index && len(bar.Reasons(f, res.Image)) == 0 {
			add = append(add, Face{CollectionFace: vision.CollectionFace{
				FaceID: NewID(), BoundingBox: f.BoundingBox, ImageID: imageID, ExternalImageID: opts.ExternalImageID,
				Confidence: f.Confidence, IndexFacesModelVersion: info.FaceModelVersion,
			}, Descriptor: f.Descriptor})
		}
	}
	if !opts.Index {
		return out, nil
	}
	if err := s.replaceImage(id, opts.ExternalImageID, add); err != nil {
		return nil, searchError(id, err)
	}
	for _, f := range add {
		out.IndexedFaces = append(out.IndexedFaces, f.CollectionFace)
	}
	return out, nil
}

// replaceImage adds faces and removes, in the same change, the faces
// stored under externalID before (none when externalID is empty).
func (s *Store) replaceImage(id, externalID string, add []Face) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	var del []string
	if externalID != "" {
		c.mu.RLock()
		for _, f := range c.faces {
			if f.ExternalImageID == externalID {
				del = append(del, f.FaceID)
			}
		}
		c.mu.RUnlock()
	}
	if len(add) == 0 && len(del) == 0 {
		return nil
	}
	return c.apply(add, del)
}

// searchError gives the pipeline Rekognition's codes for what is not the
// moment's fault: retrying cannot make a deleted collection exist, nor a
// collection of another face model comparable.
func searchError(id string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return &vision.Error{Code: vision.CodeResourceNotFound, Message: fmt.Sprintf("The collection id: %s does not exist", id), Err: err}
	case errors.Is(err, ErrModelVersion):
		return &vision.Error{Code: vision.CodeInvalidParameter, Message: err.Error(), Err: err}
	case errors.Is(err, ErrDescriptor):
		return &vision.Error{Code: vision.CodeInvalidParameter, Message: fmt.Sprintf("collection %s was made with another face model; its faces cannot be compared with this one's", id), Err: err}
	}
	return fmt.Errorf("face collection %s: %w", id, err)
}
