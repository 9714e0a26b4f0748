package rekapi_test

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrek "github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"

	"github.com/imagerec/imagerec/internal/facecollection"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/rekapi"
	"github.com/imagerec/imagerec/internal/sigv4"
	"github.com/imagerec/imagerec/internal/vision"
)

const testDim = 32

// peopleRecognizer stands in for the engine: an image's bytes name the
// people in it ("alice,bob"), each person's descriptor is a fixed random
// unit vector, and "low:" before a name makes that face a poor one
// (confidence 50). It lets the collection operations be tested without
// models; the e2e tests in cmd/imagerec run them on real photos.
type peopleRecognizer struct{}

func personVector(name string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	v := make([]float32, testDim)
	var n float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		n += float64(v[i] * v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

func (peopleRecognizer) Recognize(_ context.Context, in vision.Input, opts vision.Options) (*vision.Result, error) {
	res := &vision.Result{Image: &vision.ImageInfo{Width: 1000, Height: 800, Format: "jpeg", OrientationCorrection: "ROTATE_0"}, FaceDetails: []vision.FaceDetail{}}
	if string(in.Bytes) == "nobody" {
		return res, nil
	}
	for i, name := range strings.Split(string(in.Bytes), ",") {
		conf := 99.5
		if n, ok := strings.CutPrefix(name, "low:"); ok {
			name, conf = n, 50
		}
		f := vision.FaceDetail{
			BoundingBox: vision.BoundingBox{Left: 0.1 + 0.2*float64(i), Top: 0.2, Width: 0.15 - 0.01*float64(i), Height: 0.2},
			Confidence:  conf, Quality: vision.ImageQuality{Brightness: 60, Sharpness: 80},
			Landmarks: []vision.Landmark{{Type: "eyeLeft", X: 0.15, Y: 0.25}},
			Smile:     &vision.BoolAttr{Value: true, Confidence: 90},
		}
		if opts.FaceDescriptors {
			f.Descriptor = personVector(name)
		}
		res.FaceDetails = append(res.FaceDetails, f)
	}
	return res, nil
}

type collFixture struct {
	client *awsrek.Client
	raw    *recorder
}

func newCollFixture(t *testing.T, withStore bool) *collFixture {
	t.Helper()
	var store *facecollection.Store
	if withStore {
		var err error
		store, err = facecollection.Open(t.TempDir(), facecollection.Options{FaceModelVersion: "test-faces-1", Dim: testDim, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	verifier := sigv4.New([]sigv4.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}}, nil)
	raw := &recorder{next: rekapi.New(peopleRecognizer{}, memstore.New(), rekapi.Options{Verifier: verifier, Collections: store}), bodies: map[string][]byte{}, status: map[string]int{}}
	srv := httptest.NewServer(raw)
	t.Cleanup(srv.Close)
	return &collFixture{client: newClient(srv.URL, testKeyID), raw: raw}
}

// checkShape checks the last raw response of op against Rekognition's
// output shape.
func (f *collFixture) checkShape(t *testing.T, op string) {
	t.Helper()
	shapes := loadShapes(t)
	f.raw.mu.Lock()
	body := f.raw.bodies[op]
	f.raw.mu.Unlock()
	if probs := shapes.Check(shapes.Operations[op].Output, body); len(probs) > 0 {
		t.Errorf("%s response %s does not match Rekognition's shape:\n%s", op, body, strings.Join(probs, "\n"))
	}
}

func img(people string) *types.Image { return &types.Image{Bytes: []byte(people)} }

func TestCollectionOperations(t *testing.T) {
	t.Parallel()
	f := newCollFixture(t, true)
	c, ctx := f.client, t.Context()

	created, err := c.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("family")})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "CreateCollection")
	if aws.ToInt32(created.StatusCode) != 200 || aws.ToString(created.CollectionArn) != "aws:rekognition:us-east-1:000000000000:collection/family" || aws.ToString(created.FaceModelVersion) != "test-faces-1" {
		t.Errorf("CreateCollection = %+v", created)
	}
	if _, err := c.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("friends")}); err != nil {
		t.Fatal(err)
	}

	idx, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family"), Image: img("alice"), ExternalImageId: aws.String("alice.jpg")})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "IndexFaces")
	if len(idx.FaceRecords) != 1 || aws.ToString(idx.FaceRecords[0].Face.ExternalImageId) != "alice.jpg" || aws.ToString(idx.FaceModelVersion) != "test-faces-1" {
		t.Fatalf("IndexFaces = %+v", idx)
	}
	if fd := idx.FaceRecords[0].FaceDetail; fd.Smile != nil || len(fd.Landmarks) != 1 {
		t.Errorf("DEFAULT attributes: %+v", fd)
	}
	alice := aws.ToString(idx.FaceRecords[0].Face.FaceId)
	// Two faces, one allowed: the larger is indexed, the other reported.
	idx2, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family"), Image: img("bob,alice"), MaxFaces: aws.Int32(1), DetectionAttributes: []types.Attribute{types.AttributeAll}})
	if err != nil {
		t.Fatal(err)
	}
	if len(idx2.FaceRecords) != 1 || len(idx2.UnindexedFaces) != 1 || idx2.UnindexedFaces[0].Reasons[0] != types.ReasonExceedsMaxFaces || idx2.FaceRecords[0].FaceDetail.Smile == nil {
		t.Errorf("IndexFaces MaxFaces 1 = %+v", idx2)
	}
	bob := aws.ToString(idx2.FaceRecords[0].Face.FaceId)
	// A poor face is left out under AUTO (the default), kept under NONE.
	low, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family"), Image: img("low:carol")})
	if err != nil || len(low.FaceRecords) != 0 || len(low.UnindexedFaces) != 1 || low.UnindexedFaces[0].Reasons[0] != types.ReasonLowConfidence {
		t.Errorf("IndexFaces of a poor face = %+v, %v", low, err)
	}
	if low, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family"), Image: img("low:carol"), QualityFilter: types.QualityFilterNone}); err != nil || len(low.FaceRecords) != 1 {
		t.Errorf("IndexFaces NONE = %+v, %v", low, err)
	}
	if _, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family"), Image: img("alice"), ExternalImageId: aws.String("alice-2")}); err != nil {
		t.Fatal(err)
	}

	desc, err := c.DescribeCollection(ctx, &awsrek.DescribeCollectionInput{CollectionId: aws.String("family")})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "DescribeCollection")
	if aws.ToInt64(desc.FaceCount) != 4 || desc.CreationTimestamp == nil || desc.CreationTimestamp.IsZero() {
		t.Errorf("DescribeCollection = %+v", desc)
	}

	list, err := c.ListCollections(ctx, &awsrek.ListCollectionsInput{MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "ListCollections")
	if len(list.CollectionIds) != 1 || list.CollectionIds[0] != "family" || list.NextToken == nil {
		t.Fatalf("ListCollections page 1 = %+v", list)
	}
	list, err = c.ListCollections(ctx, &awsrek.ListCollectionsInput{NextToken: list.NextToken})
	if err != nil || len(list.CollectionIds) != 1 || list.CollectionIds[0] != "friends" || list.NextToken != nil || list.FaceModelVersions[0] != "test-faces-1" {
		t.Errorf("ListCollections page 2 = %+v, %v", list, err)
	}

	// ListFaces, two at a time.
	var ids []string
	var token *string
	for range 3 {
		lf, err := c.ListFaces(ctx, &awsrek.ListFacesInput{CollectionId: aws.String("family"), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		f.checkShape(t, "ListFaces")
		for _, fc := range lf.Faces {
			ids = append(ids, aws.ToString(fc.FaceId))
		}
		if token = lf.NextToken; token == nil {
			break
		}
	}
	if len(ids) != 4 {
		t.Errorf("ListFaces pages gave %v", ids)
	}
	if lf, err := c.ListFaces(ctx, &awsrek.ListFacesInput{CollectionId: aws.String("family"), FaceIds: []string{bob}}); err != nil || len(lf.Faces) != 1 {
		t.Errorf("ListFaces FaceIds = %+v, %v", lf, err)
	}

	byImage, err := c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: aws.String("family"), Image: img("alice,bob")})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "SearchFacesByImage")
	if len(byImage.FaceMatches) != 2 || aws.ToFloat32(byImage.FaceMatches[0].Similarity) < 99 || aws.ToFloat32(byImage.SearchedFaceConfidence) < 99 {
		t.Errorf("SearchFacesByImage (alice is the largest face) = %+v", byImage)
	}
	for _, m := range byImage.FaceMatches {
		if ext := aws.ToString(m.Face.ExternalImageId); !strings.HasPrefix(ext, "alice") {
			t.Errorf("alice matched %q", ext)
		}
	}
	if none, err := c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: aws.String("family"), Image: img("dave")}); err != nil || len(none.FaceMatches) != 0 {
		t.Errorf("a stranger matched: %+v, %v", none, err)
	}

	byID, err := c.SearchFaces(ctx, &awsrek.SearchFacesInput{CollectionId: aws.String("family"), FaceId: aws.String(alice)})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "SearchFaces")
	if aws.ToString(byID.SearchedFaceId) != alice || len(byID.FaceMatches) != 1 || aws.ToString(byID.FaceMatches[0].Face.ExternalImageId) != "alice-2" {
		t.Errorf("SearchFaces = %+v", byID)
	}

	cmp, err := c.CompareFaces(ctx, &awsrek.CompareFacesInput{SourceImage: img("alice"), TargetImage: img("bob,alice")})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "CompareFaces")
	if len(cmp.FaceMatches) != 1 || len(cmp.UnmatchedFaces) != 1 || aws.ToFloat32(cmp.FaceMatches[0].Similarity) < 99 || cmp.SourceImageFace == nil {
		t.Errorf("CompareFaces = %+v", cmp)
	}
	if cmp, err := c.CompareFaces(ctx, &awsrek.CompareFacesInput{SourceImage: img("alice"), TargetImage: img("bob"), SimilarityThreshold: aws.Float32(0)}); err != nil || len(cmp.FaceMatches) != 1 {
		t.Errorf("CompareFaces threshold 0 = %+v, %v", cmp, err)
	}

	del, err := c.DeleteFaces(ctx, &awsrek.DeleteFacesInput{CollectionId: aws.String("family"), FaceIds: []string{bob, "11111111-1111-4111-8111-111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	f.checkShape(t, "DeleteFaces")
	if len(del.DeletedFaces) != 1 || len(del.UnsuccessfulFaceDeletions) != 1 || del.UnsuccessfulFaceDeletions[0].Reasons[0] != types.UnsuccessfulFaceDeletionReasonFaceNotFound {
		t.Errorf("DeleteFaces = %+v", del)
	}

	dc, err := c.DeleteCollection(ctx, &awsrek.DeleteCollectionInput{CollectionId: aws.String("family")})
	if err != nil || aws.ToInt32(dc.StatusCode) != 200 {
		t.Fatalf("DeleteCollection = %+v, %v", dc, err)
	}
	f.checkShape(t, "DeleteCollection")
}

// TestCollectionErrors checks every documented error the operations
// answer, by code, through the SDK.
func TestCollectionErrors(t *testing.T) {
	t.Parallel()
	f := newCollFixture(t, true)
	c, ctx := f.client, t.Context()
	if _, err := c.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	idx, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("c"), Image: img("alice")})
	if err != nil {
		t.Fatal(err)
	}
	_ = idx
	missing := aws.String("nope")
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"create existing", func() error {
			_, err := c.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("c")})
			return err
		}, "ResourceAlreadyExistsException"},
		{"create bad id", func() error {
			_, err := c.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("a/b")})
			return err
		}, "ValidationException"},
		{"describe missing", func() error {
			_, err := c.DescribeCollection(ctx, &awsrek.DescribeCollectionInput{CollectionId: missing})
			return err
		}, "ResourceNotFoundException"},
		{"delete missing", func() error {
			_, err := c.DeleteCollection(ctx, &awsrek.DeleteCollectionInput{CollectionId: missing})
			return err
		}, "ResourceNotFoundException"},
		{"index into missing", func() error {
			_, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: missing, Image: img("alice")})
			return err
		}, "ResourceNotFoundException"},
		{"bad external id", func() error {
			_, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("c"), Image: img("alice"), ExternalImageId: aws.String("photos/alice.jpg")})
			return err
		}, "ValidationException"},
		{"bad quality filter", func() error {
			_, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("c"), Image: img("alice"), QualityFilter: "BEST"})
			return err
		}, "ValidationException"},
		{"index without image", func() error {
			_, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("c"), Image: &types.Image{}})
			return err
		}, "InvalidParameterException"},
		{"list faces bad token", func() error {
			_, err := c.ListFaces(ctx, &awsrek.ListFacesInput{CollectionId: aws.String("c"), NextToken: aws.String("!!")})
			return err
		}, "InvalidPaginationTokenException"},
		{"list faces of missing", func() error {
			_, err := c.ListFaces(ctx, &awsrek.ListFacesInput{CollectionId: missing})
			return err
		}, "ResourceNotFoundException"},
		{"list faces max results", func() error {
			_, err := c.ListFaces(ctx, &awsrek.ListFacesInput{CollectionId: aws.String("c"), MaxResults: aws.Int32(5000)})
			return err
		}, "ValidationException"},
		{"search faces unknown id", func() error {
			_, err := c.SearchFaces(ctx, &awsrek.SearchFacesInput{CollectionId: aws.String("c"), FaceId: aws.String("11111111-1111-4111-8111-111111111111")})
			return err
		}, "InvalidParameterException"},
		{"search faces bad id", func() error {
			_, err := c.SearchFaces(ctx, &awsrek.SearchFacesInput{CollectionId: aws.String("c"), FaceId: aws.String("alice")})
			return err
		}, "ValidationException"},
		{"search max faces 0", func() error {
			_, err := c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: aws.String("c"), Image: img("alice"), MaxFaces: aws.Int32(0)})
			return err
		}, "ValidationException"},
		{"search threshold 101", func() error {
			_, err := c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: aws.String("c"), Image: img("alice"), FaceMatchThreshold: aws.Float32(101)})
			return err
		}, "ValidationException"},
		{"search image without faces", func() error {
			_, err := c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: aws.String("c"), Image: img("nobody")})
			return err
		}, "InvalidParameterException"},
		{"search in missing", func() error {
			_, err := c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: missing, Image: img("alice")})
			return err
		}, "ResourceNotFoundException"},
		{"delete no faces", func() error {
			_, err := c.DeleteFaces(ctx, &awsrek.DeleteFacesInput{CollectionId: aws.String("c"), FaceIds: []string{}})
			return err
		}, "ValidationException"},
		{"delete faces of missing", func() error {
			_, err := c.DeleteFaces(ctx, &awsrek.DeleteFacesInput{CollectionId: missing, FaceIds: []string{"11111111-1111-4111-8111-111111111111"}})
			return err
		}, "ResourceNotFoundException"},
		{"compare without source face", func() error {
			_, err := c.CompareFaces(ctx, &awsrek.CompareFacesInput{SourceImage: img("nobody"), TargetImage: img("alice")})
			return err
		}, "InvalidParameterException"},
		{"compare threshold", func() error {
			_, err := c.CompareFaces(ctx, &awsrek.CompareFacesInput{SourceImage: img("alice"), TargetImage: img("alice"), SimilarityThreshold: aws.Float32(-1)})
			return err
		}, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || ae.ErrorMessage() == "" {
				t.Errorf("error = %v, want %s with a message", err, tt.code)
			}
		})
	}

	// Without a store every collection operation says why.
	nf := newCollFixture(t, false)
	_, err = nf.client.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("c")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" || !strings.Contains(ae.ErrorMessage(), "models install") {
		t.Errorf("without collections: %v", err)
	}
}

// TestCollectionOfOlderFaceModel: a collection made before the engine's
// identity model changed keeps its FaceModelVersion (as on Rekognition).
// IndexFaces and SearchFacesByImage on it are InvalidParameterException
// naming both versions and what to do, never matches across models;
// DescribeCollection, ListFaces and SearchFaces by FaceId still work.
func TestCollectionOfOlderFaceModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old, err := facecollection.Open(dir, facecollection.Options{FaceModelVersion: "old-faces-1", Dim: 1024, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Create("family"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var faceIDs []string
	for range 2 {
		v := make([]float32, 1024)
		for i := range v {
			v[i] = float32(r.NormFloat64() / 32)
		}
		id := facecollection.NewID()
		faceIDs = append(faceIDs, id)
		if err := old.Add("family", []facecollection.Face{{CollectionFace: vision.CollectionFace{FaceID: id, ImageID: facecollection.NewID()}, Descriptor: v}}); err != nil {
			t.Fatal(err)
		}
	}
	store, err := facecollection.Open(dir, facecollection.Options{FaceModelVersion: "test-faces-2", Dim: testDim, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	verifier := sigv4.New([]sigv4.Credentials{{AccessKeyID: testKeyID, SecretAccessKey: testSecret}}, nil)
	srv := httptest.NewServer(rekapi.New(peopleRecognizer{}, memstore.New(), rekapi.Options{Verifier: verifier, Collections: store}))
	t.Cleanup(srv.Close)
	c, ctx := newClient(srv.URL, testKeyID), t.Context()

	refused := func(op string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" ||
			!strings.Contains(ae.ErrorMessage(), "old-faces-1") || !strings.Contains(ae.ErrorMessage(), "test-faces-2") || !strings.Contains(ae.ErrorMessage(), "create a new collection") {
			t.Errorf("%s: %v, want InvalidParameterException naming both versions", op, err)
		}
	}
	_, err = c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family"), Image: img("alice")})
	refused("IndexFaces", err)
	_, err = c.SearchFacesByImage(ctx, &awsrek.SearchFacesByImageInput{CollectionId: aws.String("family"), Image: img("alice")})
	refused("SearchFacesByImage", err)

	desc, err := c.DescribeCollection(ctx, &awsrek.DescribeCollectionInput{CollectionId: aws.String("family")})
	if err != nil || aws.ToString(desc.FaceModelVersion) != "old-faces-1" || aws.ToInt64(desc.FaceCount) != 2 {
		t.Errorf("DescribeCollection = %+v, %v", desc, err)
	}
	list, err := c.ListFaces(ctx, &awsrek.ListFacesInput{CollectionId: aws.String("family")})
	if err != nil || len(list.Faces) != 2 {
		t.Errorf("ListFaces = %+v, %v", list, err)
	}
	byID, err := c.SearchFaces(ctx, &awsrek.SearchFacesInput{CollectionId: aws.String("family"), FaceId: aws.String(faceIDs[0]), FaceMatchThreshold: aws.Float32(0)})
	if err != nil || len(byID.FaceMatches) != 1 || aws.ToString(byID.FaceMatches[0].Face.FaceId) != faceIDs[1] {
		t.Errorf("SearchFaces by FaceId = %+v, %v", byID, err)
	}
	// A new collection is on the engine's version and works.
	if _, err := c.CreateCollection(ctx, &awsrek.CreateCollectionInput{CollectionId: aws.String("family2")}); err != nil {
		t.Fatal(err)
	}
	if idx, err := c.IndexFaces(ctx, &awsrek.IndexFacesInput{CollectionId: aws.String("family2"), Image: img("alice")}); err != nil || len(idx.FaceRecords) != 1 {
		t.Errorf("IndexFaces into a new collection = %+v, %v", idx, err)
	}
}
