package s3api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/diskstore"
	"github.com/imagerec/imagerec/internal/s3api"
)

// race runs two requests at once and reports how many succeeded and the
// errors of the others.
func race(a, b func() error) (ok int, errs []error) {
	var wg sync.WaitGroup
	res := make([]error, 2)
	for i, f := range []func() error{a, b} {
		wg.Go(func() { res[i] = f() })
	}
	wg.Wait()
	for _, err := range res {
		if err == nil {
			ok++
		} else {
			errs = append(errs, err)
		}
	}
	return ok, errs
}

// TestConditionalWrites: If-None-Match and If-Match on PutObject,
// CopyObject and CompleteMultipartUpload, and two writers racing for a
// new key 100 times (each kind): exactly one 200 and one 412 each time.
func TestConditionalWrites(t *testing.T) {
	// Atomicity comes from the store's commit lock, not from fsync.
	e := newDiskEnv(t, diskstore.Options{NoSync: true})
	ctx := t.Context()
	e.mkbucket(t, "cond")
	first := e.put(t, "cond", "k", []byte("first"))
	put := func(key, body string, edit func(*s3.PutObjectInput)) error {
		in := &s3.PutObjectInput{Bucket: aws.String("cond"), Key: aws.String(key), Body: strings.NewReader(body)}
		edit(in)
		_, err := e.client.PutObject(ctx, in)
		return err
	}
	wantCode(t, put("k", "x", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }), "PreconditionFailed", 412)
	wantCode(t, put("k", "x", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(`"bogus"`) }), "PreconditionFailed", 412)
	wantCode(t, put("missing", "x", func(in *s3.PutObjectInput) { in.IfMatch = first.ETag }), "NoSuchKey", 404)
	wantCode(t, put("k", "x", func(in *s3.PutObjectInput) { in.IfNoneMatch = first.ETag }), "NotImplemented", 501)
	if got := string(e.get(t, "cond", "k")); got != "first" {
		t.Fatalf("refused writes changed the object: %q", got)
	}
	if err := put("k", "second", func(in *s3.PutObjectInput) { in.IfMatch = first.ETag }); err != nil {
		t.Fatalf("PutObject(If-Match its ETag): %v", err)
	}
	// CopyObject targets.
	copyTo := func(key string, edit func(*s3.CopyObjectInput)) error {
		in := &s3.CopyObjectInput{Bucket: aws.String("cond"), Key: aws.String(key), CopySource: aws.String("cond/k")}
		edit(in)
		_, err := e.client.CopyObject(ctx, in)
		return err
	}
	wantCode(t, copyTo("k2", func(in *s3.CopyObjectInput) { in.IfMatch = aws.String(`"bogus"`) }), "NoSuchKey", 404)
	if err := copyTo("k2", func(in *s3.CopyObjectInput) { in.IfNoneMatch = aws.String("*") }); err != nil {
		t.Fatalf("CopyObject(If-None-Match to a new key): %v", err)
	}
	wantCode(t, copyTo("k2", func(in *s3.CopyObjectInput) { in.IfNoneMatch = aws.String("*") }), "PreconditionFailed", 412)
	// CompleteMultipartUpload.
	complete := func(key string, edit func(*s3.CompleteMultipartUploadInput)) error {
		cu, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("cond"), Key: aws.String(key)})
		if err != nil {
			return err
		}
		up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("cond"), Key: aws.String(key), UploadId: cu.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("part of " + key)})
		if err != nil {
			return err
		}
		in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("cond"), Key: aws.String(key), UploadId: cu.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}}
		edit(in)
		_, err = e.client.CompleteMultipartUpload(ctx, in)
		return err
	}
	wantCode(t, complete("k", func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") }), "PreconditionFailed", 412)
	wantCode(t, complete("k", func(in *s3.CompleteMultipartUploadInput) { in.IfMatch = aws.String(`"bogus"`) }), "PreconditionFailed", 412)
	if got := string(e.get(t, "cond", "k")); got != "second" {
		t.Fatalf("refused completions changed the object: %q", got)
	}
	if err := complete("k3", func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") }); err != nil {
		t.Fatalf("Complete(If-None-Match to a new key): %v", err)
	}

	// The races.
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	none := func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }
	kinds := []struct {
		name  string
		write func(key string, w int) error
	}{
		{"PutObject", func(key string, w int) error { return put(key, fmt.Sprintf("writer %d", w), none) }},
		{"CopyObject", func(key string, w int) error {
			return copyTo(key, func(in *s3.CopyObjectInput) {
				in.IfNoneMatch = aws.String("*")
				in.CopySource = aws.String([]string{"cond/k", "cond/k3"}[w])
			})
		}},
		{"CompleteMultipartUpload", func(key string, w int) error {
			return complete(key, func(in *s3.CompleteMultipartUploadInput) { in.IfNoneMatch = aws.String("*") })
		}},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			for i := range rounds {
				key := fmt.Sprintf("race/%s/%d", kind.name, i)
				ok, errs := race(func() error { return kind.write(key, 0) }, func() error { return kind.write(key, 1) })
				if ok != 1 || len(errs) != 1 {
					t.Fatalf("round %d: %d writers succeeded (%v), want exactly 1", i, ok, errs)
				}
				wantCode(t, errs[0], "PreconditionFailed", 412)
				head, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cond"), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				if body := e.get(t, "cond", key); `"`+md5hex(body)+`"` != aws.ToString(head.ETag) && !strings.Contains(aws.ToString(head.ETag), "-") {
					t.Fatalf("round %d: torn object: %d bytes, etag %s", i, len(body), aws.ToString(head.ETag))
				}
			}
		})
	}
}

// TestContentHeaders: Cache-Control, Expires, Content-Encoding,
// Content-Disposition and Content-Language are stored and returned by GET
// and HEAD, copied by CopyObject (COPY) or replaced (REPLACE), kept by
// multipart uploads; non-ASCII metadata comes back RFC 2047 encoded.
func TestContentHeaders(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "hdr")
	expires := time.Date(2037, 10, 21, 7, 28, 0, 0, time.UTC)
	_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("hdr"), Key: aws.String("a.txt"), Body: strings.NewReader("hello"),
		CacheControl: aws.String("max-age=3600"), ContentDisposition: aws.String(`attachment; filename="a.txt"`),
		ContentEncoding: aws.String("identity"), ContentLanguage: aws.String("de-CH"), Expires: aws.Time(expires),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"city": "Zürich"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, cc, cd, ce, cl *string, exp *string) {
		t.Helper()
		got := []string{aws.ToString(cc), aws.ToString(cd), aws.ToString(ce), aws.ToString(cl), aws.ToString(exp)}
		want := []string{"max-age=3600", `attachment; filename="a.txt"`, "identity", "de-CH", "Wed, 21 Oct 2037 07:28:00 GMT"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s headers = %q, want %q", name, got, want)
		}
	}
	head, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	check("HeadObject", head.CacheControl, head.ContentDisposition, head.ContentEncoding, head.ContentLanguage, head.ExpiresString)
	if got, want := head.Metadata["city"], mime.BEncoding.Encode("UTF-8", "Zürich"); got != want {
		t.Errorf("non-ASCII metadata = %q, want RFC 2047 %q", got, want)
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(head.Metadata["city"]); err != nil || dec != "Zürich" {
		t.Errorf("metadata decodes to %q, %v", dec, err)
	}
	get, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("hdr"), Key: aws.String("a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	check("GetObject", get.CacheControl, get.ContentDisposition, get.ContentEncoding, get.ContentLanguage, get.ExpiresString)
	if _, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("hdr"), Key: aws.String("copy"), CopySource: aws.String("hdr/a.txt")}); err != nil {
		t.Fatal(err)
	}
	ch, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("copy")})
	if err != nil {
		t.Fatal(err)
	}
	check("CopyObject COPY", ch.CacheControl, ch.ContentDisposition, ch.ContentEncoding, ch.ContentLanguage, ch.ExpiresString)
	if _, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("hdr"), Key: aws.String("copy"), CopySource: aws.String("hdr/a.txt"),
		MetadataDirective: types.MetadataDirectiveReplace, CacheControl: aws.String("no-store")}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("copy")}); aws.ToString(ch.CacheControl) != "no-store" || ch.ContentLanguage != nil {
		t.Errorf("CopyObject REPLACE: Cache-Control %q, Content-Language %v", aws.ToString(ch.CacheControl), ch.ContentLanguage)
	}
	cu, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("hdr"), Key: aws.String("mp"), ContentLanguage: aws.String("fr")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("hdr"), Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("hdr"), Key: aws.String("mp"), UploadId: cu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	if mh, _ := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("mp")}); aws.ToString(mh.ContentLanguage) != "fr" {
		t.Errorf("multipart object Content-Language %q", aws.ToString(mh.ContentLanguage))
	}
}

func crc32b64(b []byte) string {
	v := crc32.ChecksumIEEE(b)
	return base64.StdEncoding.EncodeToString([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// TestChecksums: PutObject, UploadPart and HEAD/GET with ChecksumMode
// ENABLED return the flexible checksum; a multipart object's is COMPOSITE
// (or FULL_OBJECT for CRC64NVME) and each part's comes back with
// PartNumber.
func TestChecksums(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "sum")
	body := []byte("checksummed body")
	sha := sha256.Sum256(body)
	wantSHA := base64.StdEncoding.EncodeToString(sha[:])
	put, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sum"), Key: aws.String("k"), Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.ChecksumSHA256) != wantSHA || put.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("PutObject checksum %q %q, want %q FULL_OBJECT", aws.ToString(put.ChecksumSHA256), put.ChecksumType, wantSHA)
	}
	head, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sum"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(head.ChecksumSHA256) != wantSHA {
		t.Errorf("HeadObject checksum %q, %v; want %q", aws.ToString(head.ChecksumSHA256), err, wantSHA)
	}
	if plain, _ := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sum"), Key: aws.String("k")}); plain.ChecksumSHA256 != nil {
		t.Errorf("HeadObject without ChecksumMode returned a checksum")
	}
	get, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sum"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(get.Body) // the SDK validates the checksum while reading
	get.Body.Close()
	if err != nil || !bytes.Equal(b, body) || aws.ToString(get.ChecksumSHA256) != wantSHA {
		t.Errorf("GetObject = %q %q, %v", b, aws.ToString(get.ChecksumSHA256), err)
	}

	// Multipart, COMPOSITE CRC32.
	cu, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sum"), Key: aws.String("mp"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	if cu.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 || cu.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("CreateMultipartUpload = %q %q", cu.ChecksumAlgorithm, cu.ChecksumType)
	}
	parts := [][]byte{bytes.Repeat([]byte("p"), objstore.MinPartSize), []byte("last")}
	var done []types.CompletedPart
	var raw []byte
	for i, p := range parts {
		up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("sum"), Key: aws.String("mp"), UploadId: cu.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(up.ChecksumCRC32) != crc32b64(p) {
			t.Errorf("UploadPart %d checksum %q, want %q", i+1, aws.ToString(up.ChecksumCRC32), crc32b64(p))
		}
		dec, _ := base64.StdEncoding.DecodeString(crc32b64(p))
		raw = append(raw, dec...)
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32})
	}
	comp, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("sum"), Key: aws.String("mp"), UploadId: cu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	wantComposite := crc32b64(raw) + "-2"
	if aws.ToString(comp.ChecksumCRC32) != wantComposite || comp.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("Complete checksum %q %q, want %q COMPOSITE", aws.ToString(comp.ChecksumCRC32), comp.ChecksumType, wantComposite)
	}
	mh, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sum"), Key: aws.String("mp"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(mh.ChecksumCRC32) != wantComposite {
		t.Errorf("HeadObject(multipart) checksum %q, %v; want %q", aws.ToString(mh.ChecksumCRC32), err, wantComposite)
	}
	ph, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sum"), Key: aws.String("mp"), PartNumber: aws.Int32(2), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(ph.ChecksumCRC32) != crc32b64(parts[1]) {
		t.Errorf("HeadObject(part 2) checksum %q, %v; want %q", aws.ToString(ph.ChecksumCRC32), err, crc32b64(parts[1]))
	}
	// A part sent with another algorithm than the upload's.
	cu2, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sum"), Key: aws.String("mp2"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("sum"), Key: aws.String("mp2"), UploadId: cu2.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("x"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	wantCode(t, err, "InvalidRequest", 400)
	// A bad checksum still stores nothing.
	_, err = e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sum"), Key: aws.String("bad"), Body: strings.NewReader("x"), ChecksumCRC32: aws.String("AAAAAA==")})
	wantCode(t, err, "BadDigest", 400)
}

// TestMultipartDetails: PartNumber reads, a retried completion, an
// UploadPartCopy range past the source, part numbers out of range.
func TestMultipartDetails(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "mpd")
	p1 := bytes.Repeat([]byte("1"), objstore.MinPartSize)
	p2 := []byte("second part")
	cu, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpd"), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for i, p := range [][]byte{p1, p2} {
		n := int32(i*4 + 1) // parts 1 and 5: reads count them 1 and 2
		up, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), UploadId: cu.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: up.ETag})
	}
	_, err = e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), UploadId: cu.UploadId, PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
	wantCode(t, err, "InvalidArgument", 400)
	_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), UploadId: cu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(10001), ETag: done[0].ETag}}}})
	wantCode(t, err, "InvalidPart", 400)
	in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), UploadId: cu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}
	first, err := e.client.CompleteMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CompleteMultipartUpload(ctx, in)
	if err != nil || aws.ToString(again.ETag) != aws.ToString(first.ETag) {
		t.Errorf("second CompleteMultipartUpload = %v, %v; want 200 with ETag %s", again, err, aws.ToString(first.ETag))
	}
	total := int64(len(p1) + len(p2))
	for _, tc := range []struct {
		n      int32
		want   []byte
		crange string
	}{
		{1, p1, fmt.Sprintf("bytes 0-%d/%d", len(p1)-1, total)},
		{2, p2, fmt.Sprintf("bytes %d-%d/%d", len(p1), total-1, total)},
	} {
		out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), PartNumber: aws.Int32(tc.n)})
		if err != nil {
			t.Fatalf("GetObject(part %d): %v", tc.n, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(b, tc.want) || aws.ToString(out.ContentRange) != tc.crange || aws.ToInt32(out.PartsCount) != 2 || aws.ToInt64(out.ContentLength) != int64(len(tc.want)) {
			t.Errorf("GetObject(part %d) = %d bytes, Content-Range %q, parts %d, length %d", tc.n, len(b), aws.ToString(out.ContentRange), aws.ToInt32(out.PartsCount), aws.ToInt64(out.ContentLength))
		}
		h, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), PartNumber: aws.Int32(tc.n)})
		if err != nil || aws.ToInt64(h.ContentLength) != int64(len(tc.want)) || aws.ToInt32(h.PartsCount) != 2 {
			t.Errorf("HeadObject(part %d) = %v, %v", tc.n, h, err)
		}
	}
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), PartNumber: aws.Int32(3)})
	wantCode(t, err, "InvalidPartNumber", 416)
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpd"), Key: aws.String("obj"), PartNumber: aws.Int32(1), Range: aws.String("bytes=0-1")})
	wantCode(t, err, "InvalidRequest", 400)
	if plain, _ := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpd"), Key: aws.String("obj")}); plain.PartsCount != nil {
		t.Errorf("HeadObject without PartNumber reports parts count %d", aws.ToInt32(plain.PartsCount))
	}
	e.put(t, "mpd", "single", []byte("one part"))
	out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpd"), Key: aws.String("single"), PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "one part" || out.PartsCount != nil {
		t.Errorf("GetObject(single, part 1) = %q, parts %v", b, out.PartsCount)
	}
	// UploadPartCopy with a range past the source's end.
	cu2, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpd"), Key: aws.String("copy")})
	if err != nil {
		t.Fatal(err)
	}
	for rng, code := range map[string]string{"bytes=0-8": "InvalidArgument", "bytes=5-2": "InvalidArgument", "bytes=-3": "InvalidArgument", "bytes=0-": "InvalidArgument", "bytes=0-7": ""} {
		_, err := e.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("mpd"), Key: aws.String("copy"), UploadId: cu2.UploadId,
			PartNumber: aws.Int32(1), CopySource: aws.String("mpd/single"), CopySourceRange: aws.String(rng)})
		if code == "" {
			if err != nil {
				t.Errorf("UploadPartCopy(%s): %v", rng, err)
			}
			continue
		}
		wantCode(t, err, code, 400)
	}
	// DeleteBucket with an unfinished upload discards it, as S3 does.
	e.mkbucket(t, "mpd-gone")
	if _, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpd-gone"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("mpd-gone")}); err != nil {
		t.Errorf("DeleteBucket with an unfinished upload: %v", err)
	}
}

// TestVersionListing: an unversioned bucket lists its objects as their
// only versions, VersionId "null"; versioning reads as never enabled.
func TestVersionListing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "ver")
	for _, k := range []string{"a", "b/1", "b/2", "c"} {
		e.put(t, "ver", k, []byte(k))
	}
	var got []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String("ver"), MaxKeys: aws.Int32(2)}
	for range 10 {
		out, err := e.client.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) || aws.ToString(v.ETag) == "" {
				t.Errorf("version %+v", v)
			}
			got = append(got, aws.ToString(v.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if strings.Join(got, ",") != "a,b/1,b/2,c" {
		t.Errorf("versions = %v", got)
	}
	out, err := e.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("ver"), Delimiter: aws.String("/")})
	if err != nil || len(out.Versions) != 2 || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "b/" {
		t.Errorf("delimited versions = %+v, %v", out, err)
	}
	vc, err := e.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("ver")})
	if err != nil || vc.Status != "" {
		t.Errorf("GetBucketVersioning = %+v, %v", vc, err)
	}
	// A versionId of "null" names the object.
	if _, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ver"), Key: aws.String("a"), VersionId: aws.String("null")}); err != nil {
		t.Errorf("GetObject(versionId null): %v", err)
	}
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ver"), Key: aws.String("a"), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ")})
	wantCode(t, err, "InvalidArgument", 400)
	_, err = e.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("nope-bucket")})
	wantCode(t, err, "NoSuchBucket", 404)
}

// TestSmallDifferences: the smaller points where the endpoint answered
// otherwise than AWS.
func TestSmallDifferences(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.mkbucket(t, "small")
	e.put(t, "small", "dir/a b", []byte("x"))
	c := rawClient{t: t, url: e.srv.URL}
	if status, body := c.do("GET", "/small?list-type=2&continuation-token=", nil, nil); status != 200 || !strings.Contains(body, "<Key>dir/a b</Key>") {
		t.Errorf("empty continuation-token = %d %s", status, body)
	}
	if status, body := c.do("GET", "/small?encoding-type=url&prefix=dir%2Fa%20", nil, nil); status != 200 || !strings.Contains(body, "<Prefix>dir/a </Prefix>") || !strings.Contains(body, "<Key>dir/a%20b</Key>") {
		t.Errorf("v1 encoding-type=url = %d %s", status, body)
	}
	// CreateBucket of one's own bucket: 200 in us-east-1, 409 elsewhere.
	if _, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("small")}); err != nil {
		t.Errorf("CreateBucket(own, us-east-1) = %v, want 200", err)
	}
	eu := newEnv(t, func(o *s3api.Options) { o.Region = "eu-west-1" })
	eu.mkbucket(t, "small")
	_, err := eu.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("small")})
	wantCode(t, err, "BucketAlreadyOwnedByYou", 409)
}

// signV2 signs r with SigV2 in the Authorization header, as s3cmd
// --signature-v2 does.
func signV2(r *http.Request, id, secret string) {
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	var amz []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz = append(amz, lk+":"+r.Header.Get(k)+"\n")
		}
	}
	sortStrings(amz)
	sts := r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" + r.Header.Get("Date") + "\n" + strings.Join(amz, "") + r.URL.EscapedPath()
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts))
	r.Header.Set("Authorization", "AWS "+id+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestSigV2: header-signed requests and POST policies with Signature
// Version 2, verified with the same keys and as strictly.
func TestSigV2(t *testing.T) {
	e := newEnv(t)
	e.mkbucket(t, upload)
	do := func(method, path, body string, edit func(*http.Request), id, secret string) (int, string) {
		t.Helper()
		r, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("X-Amz-Meta-Via", "sigv2")
		signV2(r, id, secret)
		if edit != nil {
			edit(r)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := do("PUT", "/"+upload+"/v2/a%20b.txt", "signed v2", nil, testKeyID, testSecret); status != 200 {
		t.Fatalf("SigV2 PUT = %d %s", status, body)
	}
	if got := string(e.get(t, upload, "v2/a b.txt")); got != "signed v2" {
		t.Errorf("stored %q", got)
	}
	if recs := e.events.records(); len(recs) != 1 || recs[0].UserIdentity.PrincipalID != testKeyID {
		t.Errorf("events = %+v", recs)
	}
	tests := []struct {
		name   string
		edit   func(*http.Request)
		id     string
		secret string
		status int
		code   string
	}{
		{"wrong secret", nil, testKeyID, "wrong", 403, "SignatureDoesNotMatch"},
		{"unknown key", nil, "AKIANOBODY", testSecret, 403, "InvalidAccessKeyId"},
		{"header changed after signing", func(r *http.Request) { r.Header.Set("X-Amz-Meta-Via", "evil") }, testKeyID, testSecret, 403, "SignatureDoesNotMatch"},
		{"an hour old", func(r *http.Request) {
			old := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
			r.Header.Set("Date", old)
			signV2Date(r, testKeyID, testSecret)
		}, testKeyID, testSecret, 403, "RequestTimeTooSkewed"},
		{"no date", func(r *http.Request) { r.Header.Del("Date") }, testKeyID, testSecret, 403, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do("PUT", "/"+upload+"/v2/refused", "x", tc.edit, tc.id, tc.secret)
			if status != tc.status || !strings.Contains(body, tc.code) {
				t.Errorf("= %d %s; want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	if _, err := e.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(upload), Key: aws.String("v2/refused")}); err == nil {
		t.Error("a refused SigV2 request stored an object")
	}

	// A SigV2 POST policy, as boto3 before 1.36 makes them.
	policy := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"expiration":%q,"conditions":[{"bucket":%q},["starts-with","$key","form/"],["content-length-range",1,100]]}`,
		time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z"), upload))
	sign := func(secret string) string {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(policy))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	post := func(fields map[string]string) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, k := range []string{"key", "AWSAccessKeyId", "policy", "signature", "x-amz-meta-extra"} {
			if v, ok := fields[k]; ok {
				_ = mw.WriteField(k, v)
			}
		}
		fw, _ := mw.CreateFormFile("file", "photo.jpg")
		_, _ = fw.Write([]byte("posted v2"))
		_ = mw.Close()
		resp, err := http.Post(e.srv.URL+"/"+upload, mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := map[string]string{"key": "form/${filename}", "AWSAccessKeyId": testKeyID, "policy": policy, "signature": sign(testSecret)}
	if status, body := post(good); status != 204 {
		t.Fatalf("SigV2 POST = %d %s", status, body)
	}
	if got := string(e.get(t, upload, "form/photo.jpg")); got != "posted v2" {
		t.Errorf("posted %q", got)
	}
	for name, tc := range map[string]struct {
		edit func(map[string]string)
		code string
	}{
		"wrong secret": {func(f map[string]string) { f["signature"] = sign("wrong") }, "SignatureDoesNotMatch"},
		"unknown key":  {func(f map[string]string) { f["AWSAccessKeyId"] = "AKIANOBODY" }, "InvalidAccessKeyId"},
		"key outside":  {func(f map[string]string) { f["key"] = "other/x" }, "AccessDenied"},
		"extra field":  {func(f map[string]string) { f["x-amz-meta-extra"] = "1" }, "Extra input fields"},
		"no signature": {func(f map[string]string) { delete(f, "signature") }, "InvalidArgument"},
		"policy replaced": {func(f map[string]string) {
			f["policy"] = base64.StdEncoding.EncodeToString([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[]}`))
		}, "SignatureDoesNotMatch"},
	} {
		f := map[string]string{}
		for k, v := range good {
			f[k] = v
		}
		tc.edit(f)
		if status, body := post(f); status < 400 || !strings.Contains(body, tc.code) {
			t.Errorf("SigV2 POST %s = %d %s; want %s", name, status, body, tc.code)
		}
	}
}

// signV2Date re-signs r after its Date was changed.
func signV2Date(r *http.Request, id, secret string) {
	date := r.Header.Get("Date")
	signV2(r, id, secret)
	r.Header.Set("Date", date)
	r.Header.Del("Authorization")
	var amz []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz = append(amz, lk+":"+r.Header.Get(k)+"\n")
		}
	}
	sortStrings(amz)
	sts := r.Method + "\n\n" + r.Header.Get("Content-Type") + "\n" + date + "\n" + strings.Join(amz, "") + r.URL.EscapedPath()
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(sts))
	r.Header.Set("Authorization", "AWS "+id+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}
