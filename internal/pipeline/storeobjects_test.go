package pipeline_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/pipeline"
)

// writeOnlyStore can Upload but not PutObject (which reads the object's
// info back), like s3store under a role without s3:GetObject.
type writeOnlyStore struct {
	*memstore.Store
	uploads int
}

func (s *writeOnlyStore) PutObject(context.Context, string, string, io.Reader, objstore.PutOptions) (objstore.ObjectInfo, error) {
	return objstore.ObjectInfo{}, errors.New("read back refused")
}

func (s *writeOnlyStore) Upload(ctx context.Context, bucket, key string, body io.Reader, opts objstore.PutOptions) error {
	s.uploads++
	_, err := s.Store.PutObject(ctx, bucket, key, body, opts)
	return err
}

func TestStoreObjectsPutUploads(t *testing.T) {
	t.Parallel()
	st := &writeOnlyStore{Store: memstore.New()}
	if err := st.CreateBucket(t.Context(), "results"); err != nil {
		t.Fatal(err)
	}
	objs := pipeline.StoreObjects{Store: st}
	if err := objs.Put(t.Context(), "results", "a.jpg.json", []byte("{}"), "application/json"); err != nil || st.uploads != 1 {
		t.Fatalf("Put: %v (%d uploads), want one Upload", err, st.uploads)
	}
	if m, err := objs.Head(t.Context(), "results", "a.jpg.json"); err != nil || m.ContentType != "application/json" || m.Size != 2 {
		t.Errorf("stored %+v, %v", m, err)
	}
	if _, err := objs.Head(t.Context(), "results", "gone.json"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("Head of a missing key: %v, want ErrNotFound", err)
	}
}
