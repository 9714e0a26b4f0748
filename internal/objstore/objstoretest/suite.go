package objstoretest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/objstore"
)

// Run runs the conformance suite. newStore returns a new, empty store for
// each subtest.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"Buckets", testBuckets},
		{"PutGet", testPutGet},
		{"Keys", testKeys},
		{"Overwrite", testOverwrite},
		{"BadDigest", testBadDigest},
		{"ReadErrorAborts", testReadErrorAborts},
		{"Range", testRange},
		{"Delete", testDelete},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"Multipart", testMultipart},
		{"MultipartErrors", testMultipartErrors},
		{"Concurrent", testConcurrent},
		{"Attributes", testAttributes},
		{"Conditions", testConditions},
		{"ConditionalRace", testConditionalRace},
		{"MultipartDetails", testMultipartDetails},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func mustCreate(t *testing.T, s objstore.Store, b string) {
	t.Helper()
	if err := s.CreateBucket(t.Context(), b); err != nil {
		t.Fatalf("CreateBucket(%q): %v", b, err)
	}
}

func mustPut(t *testing.T, s objstore.Store, b, k, body string) objstore.ObjectInfo {
	t.Helper()
	info, err := s.PutObject(t.Context(), b, k, strings.NewReader(body), objstore.PutOptions{})
	if err != nil {
		t.Fatalf("PutObject(%q, %q): %v", b, k, err)
	}
	return info
}

func read(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func testBuckets(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	if _, err := s.HeadBucket(ctx, "nope-bucket"); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("HeadBucket(missing) = %v, want ErrNoSuchBucket", err)
	}
	for _, bad := range []string{"", "ab", "Upper", "a..b", "../etc", "a/b", "-abc", "192.168.1.1", strings.Repeat("a", 64)} {
		if err := s.CreateBucket(ctx, bad); !errors.Is(err, objstore.ErrInvalidBucketName) {
			t.Errorf("CreateBucket(%q) = %v, want ErrInvalidBucketName", bad, err)
		}
	}
	mustCreate(t, s, "zeta-bucket")
	mustCreate(t, s, "alpha.bucket")
	if err := s.CreateBucket(ctx, "zeta-bucket"); !errors.Is(err, objstore.ErrBucketExists) {
		t.Errorf("CreateBucket(again) = %v, want ErrBucketExists", err)
	}
	bs, err := s.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
		if b.CreationDate.IsZero() {
			t.Errorf("bucket %q has no creation date", b.Name)
		}
	}
	if diff := cmp.Diff([]string{"alpha.bucket", "zeta-bucket"}, names); diff != "" {
		t.Errorf("ListBuckets (-want +got):\n%s", diff)
	}
	mustPut(t, s, "zeta-bucket", "k", "v")
	if err := s.DeleteBucket(ctx, "zeta-bucket"); !errors.Is(err, objstore.ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket(non-empty) = %v, want ErrBucketNotEmpty", err)
	}
	if err := s.DeleteObject(ctx, "zeta-bucket", "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "zeta-bucket"); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if err := s.DeleteBucket(ctx, "zeta-bucket"); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("DeleteBucket(gone) = %v, want ErrNoSuchBucket", err)
	}
	if _, err := s.PutObject(ctx, "zeta-bucket", "k", strings.NewReader("x"), objstore.PutOptions{}); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("PutObject(gone bucket) = %v, want ErrNoSuchBucket", err)
	}
	// A deleted bucket can be created again, empty.
	mustCreate(t, s, "zeta-bucket")
	res, err := s.ListObjects(ctx, "zeta-bucket", objstore.ListOptions{})
	if err != nil || len(res.Objects) != 0 {
		t.Errorf("ListObjects(recreated) = %v, %v; want empty", res, err)
	}
}

func testPutGet(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	body := "hello, world"
	info, err := s.PutObject(ctx, "bkt", "dir/hello.txt", strings.NewReader(body), objstore.PutOptions{
		ContentType: "text/plain",
		Metadata:    map[string]string{"origin": "test", "x": "y z"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := objstore.ObjectInfo{
		Bucket: "bkt", Key: "dir/hello.txt", Size: int64(len(body)), ETag: md5hex(body),
		ContentType: "text/plain", Metadata: map[string]string{"origin": "test", "x": "y z"},
	}
	check := func(name string, got objstore.ObjectInfo) {
		t.Helper()
		if got.LastModified.IsZero() {
			t.Errorf("%s: LastModified is zero", name)
		}
		got.LastModified = want.LastModified
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	check("PutObject", info)
	head, err := s.HeadObject(ctx, "bkt", "dir/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	check("HeadObject", head)
	if !head.LastModified.Equal(info.LastModified) {
		t.Errorf("HeadObject LastModified %v, PutObject %v", head.LastModified, info.LastModified)
	}
	rc, ginfo, err := s.GetObject(ctx, "bkt", "dir/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	check("GetObject", ginfo)
	if got := read(t, rc); got != body {
		t.Errorf("GetObject body = %q, want %q", got, body)
	}
	if _, _, err := s.GetObject(ctx, "bkt", "missing"); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Errorf("GetObject(missing) = %v, want ErrNoSuchKey", err)
	}
	if _, err := s.HeadObject(ctx, "bkt", "missing"); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Errorf("HeadObject(missing) = %v, want ErrNoSuchKey", err)
	}
	if _, _, err := s.GetObject(ctx, "nobucket", "k"); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("GetObject(missing bucket) = %v, want ErrNoSuchBucket", err)
	}
	// Empty object.
	info, err = s.PutObject(ctx, "bkt", "empty", strings.NewReader(""), objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 0 || info.ETag != md5hex("") {
		t.Errorf("empty object: size %d etag %q", info.Size, info.ETag)
	}
	rc, _, err = s.GetObject(ctx, "bkt", "empty")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, rc); got != "" {
		t.Errorf("empty object body %q", got)
	}
	// The caller's metadata map is not retained.
	meta := map[string]string{"a": "1"}
	mustCreate(t, s, "bkt2")
	if _, err := s.PutObject(ctx, "bkt2", "m", strings.NewReader("x"), objstore.PutOptions{Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	meta["a"] = "changed"
	if h, _ := s.HeadObject(ctx, "bkt2", "m"); h.Metadata["a"] != "1" {
		t.Errorf("metadata aliased caller's map: %v", h.Metadata)
	}
}

// Keys that must stay keys, never paths.
var trickyKeys = []string{
	"../../escape", "../bucket.json", "a/../../b", "/leading/slash", "with space", "plus+sign",
	"unicode-ümlaut-日本語", "percent%20", "trailing/", "dot.", ".", "..", "a//b", `back\slash`,
	"emoji-📷.jpg", "tab\tkey", "question?mark", "hash#", "amp&eq=",
	strings.Repeat("k", objstore.MaxKeyLen),
}

func testKeys(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "keys")
	for _, k := range trickyKeys {
		mustPut(t, s, "keys", k, "body of "+k)
	}
	for _, k := range trickyKeys {
		rc, info, err := s.GetObject(ctx, "keys", k)
		if err != nil {
			t.Errorf("GetObject(%q): %v", k, err)
			continue
		}
		if got := read(t, rc); got != "body of "+k || info.Key != k {
			t.Errorf("GetObject(%q) = %q key %q", k, got, info.Key)
		}
	}
	res, err := s.ListObjects(ctx, "keys", objstore.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != len(trickyKeys) {
		t.Errorf("ListObjects: %d objects, want %d", len(res.Objects), len(trickyKeys))
	}
	for _, bad := range []string{"", strings.Repeat("k", objstore.MaxKeyLen+1), "bad\xffutf8"} {
		if _, err := s.PutObject(ctx, "keys", bad, strings.NewReader("x"), objstore.PutOptions{}); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("PutObject(%.20q) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func testOverwrite(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	mustPut(t, s, "bkt", "k", "first")
	info := mustPut(t, s, "bkt", "k", "second, longer")
	if info.ETag != md5hex("second, longer") {
		t.Errorf("etag %q", info.ETag)
	}
	rc, _, err := s.GetObject(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, rc); got != "second, longer" {
		t.Errorf("after overwrite: %q", got)
	}
	res, _ := s.ListObjects(ctx, "bkt", objstore.ListOptions{})
	if len(res.Objects) != 1 || res.Objects[0].Size != int64(len("second, longer")) {
		t.Errorf("ListObjects after overwrite: %+v", res.Objects)
	}
}

func testBadDigest(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	mustPut(t, s, "bkt", "k", "original")
	wrong := md5.Sum([]byte("other"))
	_, err := s.PutObject(ctx, "bkt", "k", strings.NewReader("new body"), objstore.PutOptions{ContentMD5: wrong[:]})
	if !errors.Is(err, objstore.ErrBadDigest) {
		t.Fatalf("PutObject(bad md5) = %v, want ErrBadDigest", err)
	}
	rc, _, err := s.GetObject(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, rc); got != "original" {
		t.Errorf("after BadDigest: %q, want original", got)
	}
	right := md5.Sum([]byte("new body"))
	if _, err := s.PutObject(ctx, "bkt", "k", strings.NewReader("new body"), objstore.PutOptions{ContentMD5: right[:]}); err != nil {
		t.Errorf("PutObject(good md5): %v", err)
	}
}

func testReadErrorAborts(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	mustPut(t, s, "bkt", "kept", "original")
	// A truncated connection reads as io.ErrUnexpectedEOF: never a short
	// object.
	for _, fail := range []error{errors.New("boom"), io.ErrUnexpectedEOF} {
		for _, key := range []string{"k", "kept"} {
			body := io.MultiReader(strings.NewReader(strings.Repeat("partial", 100000)), iotest.ErrReader(fail))
			if _, err := s.PutObject(ctx, "bkt", key, body, objstore.PutOptions{}); !errors.Is(err, fail) {
				t.Errorf("PutObject(%q, body failing with %v) = %v", key, fail, err)
			}
		}
	}
	if _, err := s.HeadObject(ctx, "bkt", "k"); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Errorf("HeadObject after failed put = %v, want ErrNoSuchKey", err)
	}
	rc, _, err := s.GetObject(ctx, "bkt", "kept")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, rc); got != "original" {
		t.Errorf("object replaced by a failed put: %d bytes", len(got))
	}
}

func testRange(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	mustPut(t, s, "bkt", "k", "0123456789")
	tests := []struct {
		off, n int64
		want   string
		err    error
	}{
		{0, -1, "0123456789", nil},
		{0, 1, "0", nil},
		{3, 4, "3456", nil},
		{7, -1, "789", nil},
		{7, 100, "789", nil},
		{9, 1, "9", nil},
		{10, 1, "", objstore.ErrInvalidRange},
		{-1, 1, "", objstore.ErrInvalidRange},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d+%d", tc.off, tc.n), func(t *testing.T) {
			rc, info, err := s.GetObjectRange(ctx, "bkt", "k", tc.off, tc.n)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := read(t, rc); got != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
			if info.Size != 10 {
				t.Errorf("info.Size = %d, want the whole object's 10", info.Size)
			}
		})
	}
}

func testDelete(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	mustPut(t, s, "bkt", "k", "v")
	if err := s.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HeadObject(ctx, "bkt", "k"); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Errorf("HeadObject after delete = %v", err)
	}
	if err := s.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Errorf("DeleteObject(missing) = %v, want nil", err)
	}
	if err := s.DeleteObject(ctx, "nobucket", "k"); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("DeleteObject(missing bucket) = %v", err)
	}
}

func keysOf(objs []objstore.ObjectInfo) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func testList(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	for _, k := range []string{"a/1", "a/2", "a/b/3", "b", "c/4", "c/5", "d", "é"} {
		mustPut(t, s, "bkt", k, k)
	}
	tests := []struct {
		name     string
		opts     objstore.ListOptions
		keys     []string
		prefixes []string
		trunc    bool
	}{
		{"all", objstore.ListOptions{}, []string{"a/1", "a/2", "a/b/3", "b", "c/4", "c/5", "d", "é"}, nil, false},
		{"prefix", objstore.ListOptions{Prefix: "a/"}, []string{"a/1", "a/2", "a/b/3"}, nil, false},
		{"delimiter", objstore.ListOptions{Delimiter: "/"}, []string{"b", "d", "é"}, []string{"a/", "c/"}, false},
		{"prefix+delimiter", objstore.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/1", "a/2"}, []string{"a/b/"}, false},
		{"start-after", objstore.ListOptions{StartAfter: "c/4"}, []string{"c/5", "d", "é"}, nil, false},
		{"max-keys", objstore.ListOptions{MaxKeys: 2}, []string{"a/1", "a/2"}, nil, true},
		{"max-keys-delim", objstore.ListOptions{MaxKeys: 2, Delimiter: "/"}, []string{"b"}, []string{"a/"}, true},
		{"no-match", objstore.ListOptions{Prefix: "zzz"}, []string{}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.ListObjects(ctx, "bkt", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.keys, keysOf(res.Objects)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.prefixes, res.CommonPrefixes); diff != "" {
				t.Errorf("prefixes (-want +got):\n%s", diff)
			}
			if res.IsTruncated != tc.trunc {
				t.Errorf("IsTruncated = %v", res.IsTruncated)
			}
		})
	}
	if _, err := s.ListObjects(ctx, "nobucket", objstore.ListOptions{}); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("ListObjects(missing bucket) = %v", err)
	}
}

func testListPaging(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("p/%02d", i)
		if i%5 == 0 {
			k = fmt.Sprintf("p/%02d/sub/x", i)
			mustPut(t, s, "bkt", fmt.Sprintf("p/%02d/sub/y", i), "y")
		}
		mustPut(t, s, "bkt", k, "v")
		if i%5 == 0 {
			k = fmt.Sprintf("p/%02d/", i)
		}
		want = append(want, k)
	}
	for _, delim := range []string{"", "/"} {
		var got []string
		opts := objstore.ListOptions{Prefix: "p/", Delimiter: delim, MaxKeys: 4}
		for range 100 {
			res, err := s.ListObjects(ctx, "bkt", opts)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, keysOf(res.Objects)...)
			got = append(got, res.CommonPrefixes...)
			if !res.IsTruncated {
				break
			}
			opts.StartAfter = res.NextStartAfter
		}
		if delim == "" {
			if len(got) != 30 {
				t.Errorf("paged without delimiter: %d keys, want 30", len(got))
			}
			continue
		}
		sortStrings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("paged with delimiter (-want +got):\n%s", diff)
		}
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func multiparter(t *testing.T, s objstore.Store) objstore.Multiparter {
	t.Helper()
	mp, ok := s.(objstore.Multiparter)
	if !ok {
		t.Skip("driver does not implement objstore.Multiparter")
	}
	return mp
}

func testMultipart(t *testing.T, s objstore.Store) {
	mp := multiparter(t, s)
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	id, err := mp.CreateMultipartUpload(ctx, "bkt", "big key", objstore.PutOptions{ContentType: "image/jpeg", Metadata: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	p1 := bytes.Repeat([]byte("1"), objstore.MinPartSize)
	p2 := bytes.Repeat([]byte("2"), objstore.MinPartSize)
	p3 := []byte("tail")
	// Part 2 is uploaded twice; the second one counts.
	var parts []objstore.Part
	for i, body := range [][]byte{p1, []byte("stale"), p2, p3} {
		n := []int{1, 2, 2, 3}[i]
		sum := md5.Sum(body)
		p, err := mp.UploadPart(ctx, "bkt", "big key", id, n, bytes.NewReader(body), objstore.PartOptions{ContentMD5: sum[:]})
		if err != nil {
			t.Fatalf("UploadPart(%d): %v", n, err)
		}
		if p.ETag != hex.EncodeToString(sum[:]) || p.Size != int64(len(body)) {
			t.Errorf("UploadPart(%d) = %+v", n, p)
		}
		if i != 1 {
			parts = append(parts, p)
		}
	}
	listed, err := mp.ListParts(ctx, "bkt", "big key", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[1].ETag != parts[1].ETag {
		t.Errorf("ListParts = %+v", listed)
	}
	ups, err := mp.ListMultipartUploads(ctx, "bkt")
	if err != nil || len(ups) != 1 || ups[0].UploadID != id || ups[0].Key != "big key" {
		t.Errorf("ListMultipartUploads = %+v, %v", ups, err)
	}
	// Quoted ETags are accepted, as clients send them.
	quoted := append([]objstore.Part(nil), parts...)
	for i := range quoted {
		quoted[i].ETag = `"` + quoted[i].ETag + `"`
	}
	info, err := mp.CompleteMultipartUpload(ctx, "bkt", "big key", id, quoted, objstore.CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantETag, _ := objstore.MultipartETag([]string{parts[0].ETag, parts[1].ETag, parts[2].ETag})
	if info.ETag != wantETag || !strings.HasSuffix(info.ETag, "-3") {
		t.Errorf("ETag = %q, want %q", info.ETag, wantETag)
	}
	if info.Size != int64(len(p1)+len(p2)+len(p3)) || info.ContentType != "image/jpeg" || info.Metadata["a"] != "b" {
		t.Errorf("info = %+v", info)
	}
	rc, _, err := s.GetObject(ctx, "bkt", "big key")
	if err != nil {
		t.Fatal(err)
	}
	got := read(t, rc)
	if want := string(p1) + string(p2) + string(p3); got != want {
		t.Errorf("assembled object differs (len %d, want %d)", len(got), len(want))
	}
	if _, err := mp.ListParts(ctx, "bkt", "big key", id); !errors.Is(err, objstore.ErrNoSuchUpload) {
		t.Errorf("ListParts after complete = %v, want ErrNoSuchUpload", err)
	}
	// Abort.
	id2, err := mp.CreateMultipartUpload(ctx, "bkt", "other", objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mp.UploadPart(ctx, "bkt", "other", id2, 1, strings.NewReader("x"), objstore.PartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mp.AbortMultipartUpload(ctx, "bkt", "other", id2); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.UploadPart(ctx, "bkt", "other", id2, 2, strings.NewReader("x"), objstore.PartOptions{}); !errors.Is(err, objstore.ErrNoSuchUpload) {
		t.Errorf("UploadPart after abort = %v, want ErrNoSuchUpload", err)
	}
	if _, err := s.HeadObject(ctx, "bkt", "other"); !errors.Is(err, objstore.ErrNoSuchKey) {
		t.Errorf("aborted upload made an object: %v", err)
	}
}

func testMultipartErrors(t *testing.T, s objstore.Store) {
	mp := multiparter(t, s)
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	id, err := mp.CreateMultipartUpload(ctx, "bkt", "k", objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	small1, _ := mp.UploadPart(ctx, "bkt", "k", id, 1, strings.NewReader("small"), objstore.PartOptions{})
	small2, _ := mp.UploadPart(ctx, "bkt", "k", id, 2, strings.NewReader("small2"), objstore.PartOptions{})
	wrong := md5.Sum([]byte("zzz"))
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"unknown upload", func() error {
			_, err := mp.UploadPart(ctx, "bkt", "k", "nope", 1, strings.NewReader("x"), objstore.PartOptions{})
			return err
		}, objstore.ErrNoSuchUpload},
		{"wrong key", func() error {
			_, err := mp.ListParts(ctx, "bkt", "other", id)
			return err
		}, objstore.ErrNoSuchUpload},
		{"part number 0", func() error {
			_, err := mp.UploadPart(ctx, "bkt", "k", id, 0, strings.NewReader("x"), objstore.PartOptions{})
			return err
		}, objstore.ErrInvalidPart},
		{"part bad digest", func() error {
			_, err := mp.UploadPart(ctx, "bkt", "k", id, 3, strings.NewReader("x"), objstore.PartOptions{ContentMD5: wrong[:]})
			return err
		}, objstore.ErrBadDigest},
		{"complete no parts", func() error {
			_, err := mp.CompleteMultipartUpload(ctx, "bkt", "k", id, nil, objstore.CompleteOptions{})
			return err
		}, objstore.ErrInvalidPart},
		{"complete wrong etag", func() error {
			_, err := mp.CompleteMultipartUpload(ctx, "bkt", "k", id, []objstore.Part{{PartNumber: 1, ETag: md5hex("x")}}, objstore.CompleteOptions{})
			return err
		}, objstore.ErrInvalidPart},
		{"complete missing part", func() error {
			_, err := mp.CompleteMultipartUpload(ctx, "bkt", "k", id, []objstore.Part{{PartNumber: 7, ETag: small1.ETag}}, objstore.CompleteOptions{})
			return err
		}, objstore.ErrInvalidPart},
		{"complete order", func() error {
			_, err := mp.CompleteMultipartUpload(ctx, "bkt", "k", id, []objstore.Part{small2, small1}, objstore.CompleteOptions{})
			return err
		}, objstore.ErrInvalidPartOrder},
		{"complete too small", func() error {
			_, err := mp.CompleteMultipartUpload(ctx, "bkt", "k", id, []objstore.Part{small1, small2}, objstore.CompleteOptions{})
			return err
		}, objstore.ErrEntityTooSmall},
		{"no such bucket", func() error {
			_, err := mp.CreateMultipartUpload(ctx, "nobucket", "k", objstore.PutOptions{})
			return err
		}, objstore.ErrNoSuchBucket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A single small part is a valid upload.
	info, err := mp.CompleteMultipartUpload(ctx, "bkt", "k", id, []objstore.Part{small1}, objstore.CompleteOptions{})
	if err != nil {
		t.Fatalf("complete single small part: %v", err)
	}
	if info.Size != 5 || !strings.HasSuffix(info.ETag, "-1") {
		t.Errorf("info = %+v", info)
	}
}

func testConcurrent(t *testing.T, s objstore.Store) {
	ctx := context.Background()
	mustCreate(t, s, "bkt")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				body := fmt.Sprintf("writer %d round %d", w, i)
				if _, err := s.PutObject(ctx, "bkt", "shared", strings.NewReader(body), objstore.PutOptions{}); err != nil {
					t.Errorf("PutObject: %v", err)
				}
				if _, err := s.PutObject(ctx, "bkt", fmt.Sprintf("own-%d", w), strings.NewReader(body), objstore.PutOptions{}); err != nil {
					t.Errorf("PutObject: %v", err)
				}
				rc, info, err := s.GetObject(ctx, "bkt", "shared")
				if err != nil {
					t.Errorf("GetObject: %v", err)
					continue
				}
				got := read(t, rc)
				if md5hex(got) != info.ETag {
					t.Errorf("torn read: body %q does not match etag %q", got, info.ETag)
				}
			}
		})
	}
	wg.Wait()
	res, err := s.ListObjects(ctx, "bkt", objstore.ListOptions{})
	if err != nil || len(res.Objects) != 9 {
		t.Errorf("ListObjects = %d objects, %v; want 9", len(res.Objects), err)
	}
}
