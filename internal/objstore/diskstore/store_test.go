package diskstore_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/objstore/objstoretest"
)

func TestConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		s, err := diskstore.Open(t.TempDir(), diskstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	parent := t.TempDir()
	root := filepath.Join(parent, "data")
	s, err := diskstore.Open(root, diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	keys := []string{"../../../escape", "a b+c", "日本/語", "x"}
	for _, k := range keys {
		if _, err := s.PutObject(ctx, "bkt", k, strings.NewReader("v:"+k), objstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"k": k}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutObject(ctx, "bkt", "x", strings.NewReader("v2"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateMultipartUpload(ctx, "bkt", "mp", objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadPart(ctx, "bkt", "mp", id, 1, strings.NewReader("part"), objstore.PartOptions{}); err != nil {
		t.Fatal(err)
	}
	// Leftovers of a crash: a data file no sidecar names, a temp sidecar.
	objDir := filepath.Join(root, "buckets", "bkt", "obj", "00")
	for _, n := range []string{"00abc.ORPHAN.data", "00abc.json.tmp-XYZ"} {
		if err := os.WriteFile(filepath.Join(objDir, n), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing outside root.
	des, err := os.ReadDir(parent)
	if err != nil || len(des) != 1 {
		t.Fatalf("parent dir holds %v (%v), want only data/", des, err)
	}

	s2, err := diskstore.Open(root, diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		rc, info, err := s2.GetObject(ctx, "bkt", k)
		if err != nil {
			t.Fatalf("after reopen GetObject(%q): %v", k, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		want := "v:" + k
		if k == "x" {
			want = "v2"
		} else if info.Metadata["k"] != k || info.ContentType != "text/plain" {
			t.Errorf("after reopen %q: info %+v", k, info)
		}
		if string(b) != want {
			t.Errorf("after reopen %q = %q, want %q", k, b, want)
		}
	}
	parts, err := s2.ListParts(ctx, "bkt", "mp", id)
	if err != nil || len(parts) != 1 {
		t.Errorf("after reopen ListParts = %v, %v", parts, err)
	}
	for _, n := range []string{"00abc.ORPHAN.data", "00abc.json.tmp-XYZ"} {
		if _, err := os.Stat(filepath.Join(objDir, n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("leftover %s not removed: %v", n, err)
		}
	}
	// Exactly one data file per object survives (the overwritten one is gone).
	var data int
	walkErr := filepath.WalkDir(filepath.Join(root, "buckets", "bkt", "obj"), func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".data") {
			data++
		}
		return err
	})
	if walkErr != nil {
		t.Fatal(walkErr)
	}
	if data != len(keys) {
		t.Errorf("%d data files, want %d", data, len(keys))
	}
}

// TestFilesArePrivate: whatever the process umask, the store creates its
// files 0600 and its directories 0700.
func TestFilesArePrivate(t *testing.T) {
	ctx := t.Context()
	root := filepath.Join(t.TempDir(), "objects")
	s, err := diskstore.Open(root, diskstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(ctx, "bkt", "a/b.jpg", strings.NewReader("secret photo"), objstore.PutOptions{ContentType: "image/jpeg"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateMultipartUpload(ctx, "bkt", "mp", objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadPart(ctx, "bkt", "mp", id, 1, strings.NewReader("part"), objstore.PartOptions{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		n++
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("walked %d entries: %v", n, err)
	}
}
