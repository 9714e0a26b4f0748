package objstoretest

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/imagerec/imagerec/internal/objstore"
)

func crc32Of(b []byte) string {
	var sum [4]byte
	v := crc32.ChecksumIEEE(b)
	sum[0], sum[1], sum[2], sum[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func crc32Sum(b []byte) func() objstore.Checksum {
	return func() objstore.Checksum {
		return objstore.Checksum{Algorithm: "CRC32", Value: crc32Of(b), Type: objstore.ChecksumFullObject}
	}
}

// testAttributes: content headers and the checksum are stored with the
// object and come back from HeadObject and GetObject.
func testAttributes(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	body := []byte("attributes")
	hdrs := objstore.ContentHeaders{
		CacheControl: "max-age=60", ContentDisposition: `attachment; filename="a.txt"`,
		ContentEncoding: "identity", ContentLanguage: "de-CH", Expires: "Wed, 21 Oct 2037 07:28:00 GMT",
	}
	info, err := s.PutObject(ctx, "bkt", "k", bytes.NewReader(body), objstore.PutOptions{ContentType: "text/plain", Headers: hdrs, Checksum: crc32Sum(body)})
	if err != nil {
		t.Fatal(err)
	}
	wantSum := objstore.Checksum{Algorithm: "CRC32", Value: crc32Of(body), Type: objstore.ChecksumFullObject}
	head, err := s.HeadObject(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	rc, got, err := s.GetObject(ctx, "bkt", "k")
	if err != nil {
		t.Fatal(err)
	}
	_ = read(t, rc)
	for name, i := range map[string]objstore.ObjectInfo{"PutObject": info, "HeadObject": head} {
		if diff := cmp.Diff(hdrs, i.Headers); diff != "" {
			t.Errorf("%s headers (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantSum, i.Checksum); diff != "" {
			t.Errorf("%s checksum (-want +got):\n%s", name, diff)
		}
		if i.Parts != nil || i.UploadID != "" {
			t.Errorf("%s: a PUT object has parts %v, upload %q", name, i.Parts, i.UploadID)
		}
	}
	if diff := cmp.Diff(hdrs, got.Headers); diff != "" {
		t.Errorf("GetObject headers (-want +got):\n%s", diff)
	}
	// An overwrite without them drops them.
	info = mustPut(t, s, "bkt", "k", "plain")
	if head, _ := s.HeadObject(ctx, "bkt", "k"); head.Headers != (objstore.ContentHeaders{}) || head.Checksum != (objstore.Checksum{}) {
		t.Errorf("overwritten object kept %+v %+v", head.Headers, head.Checksum)
	}
	_ = info
}

// testConditions: If-Match and If-None-Match on PutObject.
func testConditions(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	put := func(key, body string, c objstore.Conditions) error {
		_, err := s.PutObject(ctx, "bkt", key, strings.NewReader(body), objstore.PutOptions{Conditions: c})
		return err
	}
	first := mustPut(t, s, "bkt", "k", "first")
	tests := []struct {
		name string
		key  string
		c    objstore.Conditions
		want error
	}{
		{"if-none-match on existing", "k", objstore.Conditions{IfNoneMatch: "*"}, objstore.ErrPreconditionFailed},
		{"if-match other etag", "k", objstore.Conditions{IfMatch: `"` + md5hex("other") + `"`}, objstore.ErrPreconditionFailed},
		{"if-match on missing", "missing", objstore.Conditions{IfMatch: first.ETag}, objstore.ErrNoSuchKey},
		{"if-match star on missing", "missing", objstore.Conditions{IfMatch: "*"}, objstore.ErrNoSuchKey},
		{"if-match its etag", "k", objstore.Conditions{IfMatch: `"` + first.ETag + `"`}, nil},
		{"if-none-match on missing", "new", objstore.Conditions{IfNoneMatch: "*"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := put(tc.key, "second "+tc.name, tc.c)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("PutObject = %v, want %v", err, tc.want)
			}
			if err != nil {
				// Nothing was written.
				rc, _, gerr := s.GetObject(ctx, "bkt", tc.key)
				if errors.Is(gerr, objstore.ErrNoSuchKey) {
					return
				}
				if gerr != nil {
					t.Fatal(gerr)
				}
				if got := read(t, rc); strings.HasPrefix(got, "second") && tc.key == "k" && !strings.Contains(got, "its etag") {
					t.Errorf("failed conditional write stored %q", got)
				}
			}
		})
	}
}

// testConditionalRace: two writers with If-None-Match "*" on a new key,
// 100 times: exactly one wins each time and its bytes are the object's.
func testConditionalRace(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	rounds := 100
	if testing.Short() {
		rounds = 20
	}
	for i := range rounds {
		key := fmt.Sprintf("lock-%d", i)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		bodies := []string{strings.Repeat("a", 4096+i), strings.Repeat("b", 8192+i)}
		for w := range 2 {
			wg.Go(func() {
				_, errs[w] = s.PutObject(ctx, "bkt", key, strings.NewReader(bodies[w]), objstore.PutOptions{Conditions: objstore.Conditions{IfNoneMatch: "*"}})
			})
		}
		wg.Wait()
		won := -1
		for w, err := range errs {
			switch {
			case err == nil && won < 0:
				won = w
			case err == nil:
				t.Fatalf("round %d: both writers succeeded", i)
			case !errors.Is(err, objstore.ErrPreconditionFailed):
				t.Fatalf("round %d: writer %d: %v, want ErrPreconditionFailed", i, w, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no writer succeeded: %v", i, errs)
		}
		rc, info, err := s.GetObject(ctx, "bkt", key)
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, rc); got != bodies[won] || info.ETag != md5hex(bodies[won]) {
			t.Fatalf("round %d: object is %d bytes, etag %s; the winner wrote %d", i, len(got), info.ETag, len(bodies[won]))
		}
	}
}

// testMultipartDetails: the part table, composite checksums, a retried
// completion, conditional completion, and DeleteBucket discarding
// unfinished uploads.
func testMultipartDetails(t *testing.T, s objstore.Store) {
	mp := multiparter(t, s)
	ctx := t.Context()
	mustCreate(t, s, "bkt")
	hdrs := objstore.ContentHeaders{CacheControl: "no-cache", ContentLanguage: "fr"}
	id, err := mp.CreateMultipartUpload(ctx, "bkt", "mp", objstore.PutOptions{Headers: hdrs, ChecksumAlgorithm: "crc32"})
	if err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{bytes.Repeat([]byte("x"), objstore.MinPartSize), []byte("tail part")}
	var parts []objstore.Part
	for i, b := range bodies {
		p, err := mp.UploadPart(ctx, "bkt", "mp", id, i*2+1, bytes.NewReader(b), objstore.PartOptions{Checksum: crc32Sum(b)})
		if err != nil {
			t.Fatal(err)
		}
		if p.Checksum != crc32Of(b) {
			t.Errorf("part %d checksum %q, want %q", p.PartNumber, p.Checksum, crc32Of(b))
		}
		parts = append(parts, p)
	}
	listed, err := mp.ListParts(ctx, "bkt", "mp", id)
	if err != nil || len(listed) != 2 || listed[1].Checksum != crc32Of(bodies[1]) {
		t.Errorf("ListParts = %+v, %v", listed, err)
	}
	// A part checksummed with another algorithm than the upload's.
	if _, err := mp.UploadPart(ctx, "bkt", "mp", id, 9, strings.NewReader("x"), objstore.PartOptions{Checksum: func() objstore.Checksum {
		sum := sha1.Sum([]byte("x"))
		return objstore.Checksum{Algorithm: "SHA1", Value: base64.StdEncoding.EncodeToString(sum[:])}
	}}); !errors.Is(err, objstore.ErrInvalidChecksum) {
		t.Errorf("UploadPart(sha1 into a crc32 upload) = %v, want ErrInvalidChecksum", err)
	}
	// A checksum in the completion list must be the part's.
	bad := append([]objstore.Part(nil), parts...)
	bad[0].Checksum = crc32Of([]byte("other"))
	if _, err := mp.CompleteMultipartUpload(ctx, "bkt", "mp", id, bad, objstore.CompleteOptions{}); !errors.Is(err, objstore.ErrInvalidPart) {
		t.Errorf("Complete(wrong part checksum) = %v, want ErrInvalidPart", err)
	}
	mustPut(t, s, "bkt", "mp", "an older object")
	if _, err := mp.CompleteMultipartUpload(ctx, "bkt", "mp", id, parts, objstore.CompleteOptions{Conditions: objstore.Conditions{IfNoneMatch: "*"}}); !errors.Is(err, objstore.ErrPreconditionFailed) {
		t.Errorf("Complete(If-None-Match over an object) = %v, want ErrPreconditionFailed", err)
	}
	info, err := mp.CompleteMultipartUpload(ctx, "bkt", "mp", id, parts, objstore.CompleteOptions{Conditions: objstore.Conditions{IfMatch: md5hex("an older object")}})
	if err != nil {
		t.Fatalf("Complete(If-Match the older object): %v", err)
	}
	composite, err := objstore.CompositeChecksum("CRC32", []objstore.ObjectPart{{Checksum: crc32Of(bodies[0])}, {Checksum: crc32Of(bodies[1])}})
	if err != nil {
		t.Fatal(err)
	}
	wantParts := []objstore.ObjectPart{
		{Number: 1, Size: int64(len(bodies[0])), Checksum: crc32Of(bodies[0])},
		{Number: 3, Size: int64(len(bodies[1])), Checksum: crc32Of(bodies[1])},
	}
	head, err := s.HeadObject(ctx, "bkt", "mp")
	if err != nil {
		t.Fatal(err)
	}
	for name, i := range map[string]objstore.ObjectInfo{"Complete": info, "HeadObject": head} {
		if i.Checksum != (objstore.Checksum{Algorithm: "CRC32", Value: composite, Type: objstore.ChecksumComposite}) {
			t.Errorf("%s checksum %+v, want composite %s", name, i.Checksum, composite)
		}
		if i.Headers != hdrs {
			t.Errorf("%s headers %+v, want %+v", name, i.Headers, hdrs)
		}
		// Drivers over S3 cannot see the numbers parts were uploaded
		// with, nor their ETags: compare sizes and checksums in order.
		if len(i.Parts) != len(wantParts) {
			t.Fatalf("%s parts %+v, want %+v", name, i.Parts, wantParts)
		}
		for n, p := range i.Parts {
			if p.Size != wantParts[n].Size || p.Checksum != wantParts[n].Checksum {
				t.Errorf("%s part %d = %+v, want %+v", name, n+1, p, wantParts[n])
			}
		}
		if off, size, ok := objstore.PartRange(i, 2); !ok || off != int64(len(bodies[0])) || size != int64(len(bodies[1])) {
			t.Errorf("%s PartRange(2) = %d, %d, %v", name, off, size, ok)
		}
	}
	// A retried completion answers with the object it made.
	again, err := mp.CompleteMultipartUpload(ctx, "bkt", "mp", id, parts, objstore.CompleteOptions{})
	if err != nil || again.ETag != info.ETag {
		t.Errorf("Complete again = %+v, %v; want the object's ETag %s", again, err, info.ETag)
	}
	// Once another object replaces it, the upload is unknown.
	mustPut(t, s, "bkt", "mp", "newer")
	if _, err := mp.CompleteMultipartUpload(ctx, "bkt", "mp", id, parts, objstore.CompleteOptions{}); !errors.Is(err, objstore.ErrNoSuchUpload) {
		t.Errorf("Complete after overwrite = %v, want ErrNoSuchUpload", err)
	}
	// A full-object CRC64NVME upload.
	id2, err := mp.CreateMultipartUpload(ctx, "bkt", "full", objstore.PutOptions{ChecksumAlgorithm: "CRC64NVME"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := mp.UploadPart(ctx, "bkt", "full", id2, 1, strings.NewReader("whole"), objstore.PartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := mp.CompleteMultipartUpload(ctx, "bkt", "full", id2, []objstore.Part{p}, objstore.CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := objstore.NewChecksumHash("CRC64NVME")
	h.Write([]byte("whole"))
	if want := base64.StdEncoding.EncodeToString(h.Sum(nil)); full.Checksum.Value != want || full.Checksum.Type != objstore.ChecksumFullObject {
		t.Errorf("full-object checksum %+v, want %s FULL_OBJECT", full.Checksum, want)
	}
	if _, err := mp.CreateMultipartUpload(ctx, "bkt", "x", objstore.PutOptions{ChecksumAlgorithm: "SHA256", ChecksumType: objstore.ChecksumFullObject}); !errors.Is(err, objstore.ErrInvalidChecksum) {
		t.Errorf("Create(SHA256 FULL_OBJECT) = %v, want ErrInvalidChecksum", err)
	}
	// DeleteBucket discards unfinished uploads, as S3 does.
	mustCreate(t, s, "gone")
	if _, err := mp.CreateMultipartUpload(ctx, "gone", "k", objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucket(ctx, "gone"); err != nil {
		t.Errorf("DeleteBucket with an unfinished upload = %v, want nil", err)
	}
	mustCreate(t, s, "gone")
	if ups, err := mp.ListMultipartUploads(ctx, "gone"); err != nil || len(ups) != 0 {
		t.Errorf("recreated bucket lists uploads %+v, %v", ups, err)
	}
}
