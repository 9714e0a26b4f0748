package rekognition

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"
	"golang.org/x/image/draw"

	"github.com/imagerec/imagerec/internal/imageio"
	"github.com/imagerec/imagerec/internal/vision"
)

// This file is the pipeline's face search on AWS: the recognize task
// calls Rekognition's own SearchFacesByImage and IndexFaces, the
// operations imagerec serve answers locally.

const (
	// faceCropMargin widens a face's box by this fraction of its size on
	// every side before it is cut out for SearchFacesByImage, which
	// searches only the largest face of the image it is given: the crop
	// holds the face with the context Rekognition's detector expects.
	faceCropMargin = 0.5
	// minCropSide is the shorter side a crop is scaled up to (Rekognition
	// refuses images under 80 pixels a side and finds faces under about
	// 40 pixels poorly).
	minCropSide = 160
	// maxIndexFaces is IndexFaces' MaxFaces limit in practice: it detects
	// at most 100 faces.
	maxIndexFaces = 100
)

// SearchFaces searches each face of res (DetectFaces' FaceDetails of this
// image) in the collection with SearchFacesByImage, sending the face cut
// out of the image, and then, with opts.Index, adds the image's faces with
// IndexFaces (ExternalImageId opts.ExternalImageID, QualityFilter AUTO).
// Faces[i] is FaceDetails[i]'s search, its SearchedFaceBoundingBox in the
// whole image's coordinates; a face Rekognition does not find again in its
// crop (InvalidParameterException) gets no matches. Matches with
// opts.ExternalImageID (the image's own faces from an earlier run) are
// left out, and when there are any, IndexFaces is not called again:
// Rekognition's IndexFaces is not idempotent, and a retried or re-run
// execution would otherwise add the same faces twice; IndexedFaces are
// then the faces found indexed. An image without faces makes no call. A missing collection is
// a *vision.Error with vision.CodeResourceNotFound.
func (e *Engine) SearchFaces(ctx context.Context, in vision.Input, res *vision.Result, opts vision.FaceSearchOptions) (*vision.FaceSearch, error) {
	opts = opts.WithDefaults()
	out := &vision.FaceSearch{CollectionID: opts.CollectionID, Faces: make([]vision.FaceSearchResult, 0, len(res.FaceDetails))}
	if len(res.FaceDetails) == 0 {
		return out, nil
	}
	img, err := e.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	// A large JPEG is DCT-scaled while decoding, to the smallest scale
	// still NormalizeSide a side (normalize's size): boxes are fractions,
	// and a face loses nothing Rekognition needs at that size.
	im, err := imageio.Decode(ctx, img.bytes, imageio.Options{TargetMaxSide: e.limits.NormalizeSide})
	if err != nil {
		return nil, vision.ImageError(err)
	}
	src := rgba(im)
	var own []vision.CollectionFace
	for i, f := range res.FaceDetails {
		r, mine, err := e.searchFace(ctx, src, f, opts)
		if err != nil {
			return nil, searchError(opts.CollectionID, fmt.Errorf("search face %d of %d: %w", i+1, len(res.FaceDetails), err))
		}
		out.Faces = append(out.Faces, r)
		own = append(own, mine...)
	}
	if !opts.Index {
		return out, nil
	}
	if len(own) > 0 {
		e.log.DebugContext(ctx, "faces already indexed under this ExternalImageId: not indexing again", "external_image_id", opts.ExternalImageID, "faces", len(own))
		out.IndexedFaces = own
		return out, nil
	}
	idx, err := e.api.IndexFaces(ctx, &awsrek.IndexFacesInput{
		CollectionId:    aws.String(opts.CollectionID),
		Image:           &types.Image{Bytes: img.bytes},
		ExternalImageId: aws.String(opts.ExternalImageID),
		MaxFaces:        aws.Int32(int32(min(len(res.FaceDetails), maxIndexFaces))),
		QualityFilter:   types.QualityFilterAuto,
	}, e.callOptions)
	if err != nil {
		return nil, searchError(opts.CollectionID, fmt.Errorf("index faces: %w", err))
	}
	for _, r := range idx.FaceRecords {
		out.IndexedFaces = append(out.IndexedFaces, collectionFace(r.Face))
	}
	return out, nil
}

// searchFace runs SearchFacesByImage on f cut out of src. It returns
// apart the matches that are the image's own faces (opts.ExternalImageID).
func (e *Engine) searchFace(ctx context.Context, src *image.RGBA, f vision.FaceDetail, opts vision.FaceSearchOptions) (vision.FaceSearchResult, []vision.CollectionFace, error) {
	r := vision.FaceSearchResult{SearchedFaceBoundingBox: f.BoundingBox, SearchedFaceConfidence: f.Confidence, FaceMatches: []vision.FaceMatch{}}
	crop, rect := faceCrop(src, f.BoundingBox)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, crop, &jpeg.Options{Quality: e.limits.JPEGQuality}); err != nil {
		return r, nil, fmt.Errorf("encode face crop: %w", err)
	}
	found, err := e.api.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{
		CollectionId:       aws.String(opts.CollectionID),
		Image:              &types.Image{Bytes: buf.Bytes()},
		MaxFaces:           aws.Int32(int32(opts.MaxMatches)),
		FaceMatchThreshold: aws.Float32(float32(opts.Threshold)),
		QualityFilter:      types.QualityFilterNone,
	}, e.callOptions)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == vision.CodeInvalidParameter {
		// "There are no faces in the image": DetectFaces found one here,
		// the search's detector not in the crop. Nothing to match.
		e.log.DebugContext(ctx, "face not searchable", "error", err)
		return r, nil, nil
	}
	if err != nil {
		return r, nil, err
	}
	if found.SearchedFaceBoundingBox != nil {
		r.SearchedFaceBoundingBox = uncrop(box(found.SearchedFaceBoundingBox), rect, src.Bounds())
		r.SearchedFaceConfidence = f64(found.SearchedFaceConfidence)
	}
	r.FaceModelVersion = aws.ToString(found.FaceModelVersion)
	var own []vision.CollectionFace
	for _, m := range found.FaceMatches {
		face := collectionFace(m.Face)
		if opts.ExternalImageID != "" && face.ExternalImageID == opts.ExternalImageID {
			own = append(own, face)
			continue
		}
		r.FaceMatches = append(r.FaceMatches, vision.FaceMatch{Similarity: f64(m.Similarity), Face: face})
	}
	return r, own, nil
}

// faceCrop cuts the face b (fractions of src) out of src with
// faceCropMargin around it, scaled up to minCropSide when smaller, and
// returns it with the rectangle of src it covers.
func faceCrop(src *image.RGBA, b vision.BoundingBox) (image.Image, image.Rectangle) {
	w, h := float64(src.Bounds().Dx()), float64(src.Bounds().Dy())
	mx, my := b.Width*faceCropMargin, b.Height*faceCropMargin
	rect := image.Rect(
		int((b.Left-mx)*w), int((b.Top-my)*h),
		int((b.Left+b.Width+mx)*w+0.5), int((b.Top+b.Height+my)*h+0.5),
	).Intersect(src.Bounds())
	if rect.Empty() {
		rect = src.Bounds()
	}
	sub := src.SubImage(rect)
	short := min(rect.Dx(), rect.Dy())
	if short >= minCropSide {
		return sub, rect
	}
	scale := float64(minCropSide) / float64(short)
	out := image.NewRGBA(image.Rect(0, 0, int(float64(rect.Dx())*scale+0.5), int(float64(rect.Dy())*scale+0.5)))
	draw.ApproxBiLinear.Scale(out, out.Bounds(), sub, rect, draw.Src, nil)
	return out, rect
}

// uncrop turns a box in fractions of the crop rect into fractions of the
// whole image.
func uncrop(b vision.BoundingBox, rect, whole image.Rectangle) vision.BoundingBox {
	w, h := float64(whole.Dx()), float64(whole.Dy())
	cw, ch := float64(rect.Dx()), float64(rect.Dy())
	return vision.BoundingBox{
		Width:  b.Width * cw / w,
		Height: b.Height * ch / h,
		Left:   (float64(rect.Min.X) + b.Left*cw) / w,
		Top:    (float64(rect.Min.Y) + b.Top*ch) / h,
	}
}

func collectionFace(f *types.Face) vision.CollectionFace {
	if f == nil {
		return vision.CollectionFace{}
	}
	return vision.CollectionFace{
		FaceID:                 aws.ToString(f.FaceId),
		BoundingBox:            box(f.BoundingBox),
		ImageID:                aws.ToString(f.ImageId),
		ExternalImageID:        aws.ToString(f.ExternalImageId),
		Confidence:             f64(f.Confidence),
		IndexFacesModelVersion: aws.ToString(f.IndexFacesModelVersion),
	}
}

// searchError makes a missing collection a *vision.Error with Rekognition's
// code: retrying cannot make it exist. Anything else (throttling after the
// retries, access denied, the network) is returned wrapped, transient for
// the caller.
func searchError(id string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == vision.CodeResourceNotFound {
		msg := ae.ErrorMessage()
		if msg == "" {
			msg = "The collection id: " + id + " does not exist"
		}
		return &vision.Error{Code: vision.CodeResourceNotFound, Message: msg, Err: err}
	}
	return fmt.Errorf("face collection %s: %w", id, err)
}
