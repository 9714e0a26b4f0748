package thumbnail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/imagerec/imagerec/internal/thumbnail"
	"github.com/imagerec/imagerec/internal/vision"
)

// objects is a tiny in-memory bucket that counts opens.
type objects struct {
	mu    sync.Mutex
	data  map[string][]byte
	etag  map[string]string
	opens atomic.Int64
}

func (o *objects) put(key string, b []byte, etag string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.data[key], o.etag[key] = b, etag
}

func (o *objects) open(_ context.Context, bucket, key string) (io.ReadCloser, string, error) {
	o.opens.Add(1)
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.data[bucket+"/"+key]
	if !ok {
		return nil, "", fmt.Errorf("open %s/%s: %w", bucket, key, thumbnail.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), o.etag[bucket+"/"+key], nil
}

func photo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newCache(t *testing.T) (*thumbnail.Cache, *objects, string) {
	t.Helper()
	o := &objects{data: map[string][]byte{}, etag: map[string]string{}}
	dir := t.TempDir()
	c, err := thumbnail.New(dir, o.open, thumbnail.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c, o, dir
}

func decodeSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := jpeg.DecodeConfig(f)
	if err != nil {
		t.Fatalf("rendition is not a JPEG: %v", err)
	}
	return cfg.Width, cfg.Height
}

func TestGetOncePerVersion(t *testing.T) {
	t.Parallel()
	c, o, dir := newCache(t)
	ctx := t.Context()
	o.put("up/dog.jpg", photo(t, "dog.jpg"), "aaaa")
	r, err := c.Get(ctx, "up", "dog.jpg", "aaaa", thumbnail.Thumb)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := decodeSize(t, r.Path); w != 400 || h != 300 || r.Version != "aaaa" {
		t.Errorf("thumb of 768x576: %dx%d version %q", w, h, r.Version)
	}
	// Asked again for the same version: served from the file, the object
	// is not read.
	before := o.opens.Load()
	for range 3 {
		if r2, err := c.Get(ctx, "up", "dog.jpg", "aaaa", thumbnail.Thumb); err != nil || r2.Path != r.Path {
			t.Fatalf("second get: %+v %v", r2, err)
		}
	}
	if n := o.opens.Load() - before; n != 0 {
		t.Errorf("object opened %d more times for a cached rendition", n)
	}
	// A preview of a small image keeps its size.
	p, err := c.Get(ctx, "up", "dog.jpg", "aaaa", thumbnail.Preview)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := decodeSize(t, p.Path); w != 768 || h != 576 {
		t.Errorf("preview: %dx%d", w, h)
	}
	// A new version: asked for by its ETag or without one, it gets its
	// own file and the old version's thumbnail is removed.
	o.put("up/dog.jpg", photo(t, "astronaut.jpg"), "bbbb")
	r3, err := c.Get(ctx, "up", "dog.jpg", "", thumbnail.Thumb)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Version != "bbbb" || r3.Path == r.Path {
		t.Errorf("new version: %+v", r3)
	}
	if w, h := decodeSize(t, r3.Path); w != 400 || h != 400 {
		t.Errorf("thumb of 512x512: %dx%d", w, h)
	}
	if _, err := os.Stat(r.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old version's thumbnail kept: %v", err)
	}
	if _, err := os.Stat(p.Path); err != nil {
		t.Errorf("preview of the old version removed with the thumbnails: %v", err)
	}
	// A stale ETag gets the current version.
	if r4, err := c.Get(ctx, "up", "dog.jpg", "aaaa", thumbnail.Thumb); err != nil || r4.Version != "bbbb" {
		t.Errorf("stale etag: %+v %v", r4, err)
	}
	if err := c.Forget("up", "dog.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r3.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Forget left %s", r3.Path)
	}
	// Nothing is written outside the directory, and nothing is readable
	// by others.
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		if p != dir && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGetSharesOneDecode(t *testing.T) {
	t.Parallel()
	c, o, _ := newCache(t)
	o.put("up/a.jpg", photo(t, "person.jpg"), "cccc")
	var wg sync.WaitGroup
	paths := make([]string, 8)
	for i := range paths {
		wg.Go(func() {
			r, err := c.Get(t.Context(), "up", "a.jpg", "cccc", thumbnail.Thumb)
			if err != nil {
				t.Error(err)
			}
			paths[i] = r.Path
		})
	}
	wg.Wait()
	if n := o.opens.Load(); n > 2 {
		t.Errorf("8 concurrent requests opened the object %d times", n)
	}
	for _, p := range paths {
		if p != paths[0] {
			t.Errorf("paths differ: %v", paths)
		}
	}
}

func TestGetErrors(t *testing.T) {
	t.Parallel()
	c, o, dir := newCache(t)
	o.put("up/notes.jpg", []byte("just text, not an image\n"), "dddd")
	o.put("up/odd etag.jpg", photo(t, "chelsea.jpg"), "../../etc/passwd")
	ctx := t.Context()
	if _, err := c.Get(ctx, "up", "missing.jpg", "", thumbnail.Thumb); !errors.Is(err, thumbnail.ErrNotFound) {
		t.Errorf("missing object: %v", err)
	}
	_, err := c.Get(ctx, "up", "notes.jpg", "dddd", thumbnail.Thumb)
	if vision.CodeOf(err) != vision.CodeInvalidImageFormat {
		t.Errorf("not an image: %v", err)
	}
	r, err := c.Get(ctx, "up", "odd etag.jpg", "", thumbnail.Thumb)
	if err != nil {
		t.Fatal(err)
	}
	// An ETag that is not S3's hex is hashed into the file name.
	if rel, err := filepath.Rel(dir, r.Path); err != nil || strings.Count(rel, string(filepath.Separator)) != 2 || strings.HasPrefix(rel, "..") || r.Version != "../../etc/passwd" {
		t.Errorf("rendition %+v outside %s", r, dir)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Get(ctx2, "up", "notes.jpg", "", thumbnail.Thumb); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
