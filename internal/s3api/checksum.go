package s3api

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// checksumAlgorithms maps the suffix of x-amz-checksum-ALG to a hash.
var checksumAlgorithms = func() map[string]func() hash.Hash {
	m := map[string]func() hash.Hash{}
	for _, alg := range objstore.ChecksumAlgorithms {
		m[strings.ToLower(alg)] = func() hash.Hash { return objstore.NewChecksumHash(alg) }
	}
	return m
}()

// checkedBody wraps a request body: it counts bytes, enforces a size limit,
// and at EOF checks the x-amz-content-sha256 hash and any x-amz-checksum-*
// value (from a header, or from a trailer of an aws-chunked body). A
// mismatch is returned instead of io.EOF, so a store aborts the write.
type checkedBody struct {
	r        io.Reader
	n        int64
	limit    int64
	wantLen  int64 // -1 unknown
	sha      hash.Hash
	wantSHA  string
	sum      hash.Hash
	sumName  string
	wantSum  string
	trailers func() map[string]string
	err      error
	async    *asyncHasher
	gotSum   string // the verified checksum, once at EOF
}

// checksum is the flexible checksum the client sent, verified against the
// whole body; the zero Checksum when none was sent. It is meant for
// objstore.PutOptions.Checksum and PartOptions.Checksum, which the store
// calls at the end of the body.
func (b *checkedBody) checksum() objstore.Checksum {
	if b.sum == nil || b.gotSum == "" {
		return objstore.Checksum{}
	}
	return objstore.Checksum{Algorithm: strings.ToUpper(b.sumName), Value: b.gotSum, Type: objstore.ChecksumFullObject}
}

// asyncHasher feeds copies of the body to the SHA-256 and checksum hashes
// in a second goroutine, so that they run alongside the store's MD5.
type asyncHasher struct {
	ch   chan *[]byte
	done chan struct{}
	pool sync.Pool
}

func (b *checkedBody) startAsync() {
	var hs []hash.Hash
	for _, h := range []hash.Hash{b.sha, b.sum} {
		if h != nil {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		return
	}
	a := &asyncHasher{ch: make(chan *[]byte, 8), done: make(chan struct{})}
	a.pool.New = func() any { buf := make([]byte, 0, 256<<10); return &buf }
	go func() {
		defer close(a.done)
		for bp := range a.ch {
			for _, h := range hs {
				h.Write(*bp)
			}
			a.pool.Put(bp)
		}
	}()
	b.async = a
}

// stopAsync waits until every byte read has been hashed.
func (b *checkedBody) stopAsync() {
	if b.async != nil && b.async.ch != nil {
		close(b.async.ch)
		<-b.async.done
		b.async.ch = nil
	}
}

func (b *checkedBody) hash(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.async == nil {
		if b.sha != nil {
			b.sha.Write(p)
		}
		if b.sum != nil {
			b.sum.Write(p)
		}
		return
	}
	bp := b.async.pool.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	b.async.ch <- bp
}

func (b *checkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.hash(p[:n])
	if b.n > b.limit {
		b.stopAsync()
		b.err = ErrEntityTooLarge
		return n, b.err
	}
	if errors.Is(err, io.EOF) {
		b.stopAsync()
		if cerr := b.check(); cerr != nil {
			b.err = cerr
			return n, cerr
		}
	}
	if err != nil {
		b.stopAsync()
		b.err = err
	}
	return n, err
}

// Close stops the hashing goroutine of a body that was not read to the end.
func (b *checkedBody) Close() error {
	b.stopAsync()
	return nil
}

func (b *checkedBody) check() error {
	if b.wantLen >= 0 && b.n != b.wantLen {
		return ErrIncompleteBody
	}
	if b.sha != nil && hex.EncodeToString(b.sha.Sum(nil)) != b.wantSHA {
		return ErrContentSHA256Mismatch
	}
	if b.sum != nil {
		want := b.wantSum
		if want == "" && b.trailers != nil {
			want = b.trailers()["X-Amz-Checksum-"+strings.ToUpper(b.sumName[:1])+b.sumName[1:]]
			if want == "" {
				// Canonical MIME keys: X-Amz-Checksum-Crc32 etc.
				for k, v := range b.trailers() {
					if strings.EqualFold(k, "x-amz-checksum-"+b.sumName) {
						want = v
					}
				}
			}
			if want == "" {
				return ErrInvalidRequest.withMessage("The x-amz-checksum-%s trailer was declared but not sent.", b.sumName)
			}
		}
		got := base64.StdEncoding.EncodeToString(b.sum.Sum(nil))
		if got != want {
			return ErrBadDigest.withMessage("The %s you specified did not match the calculated checksum.", strings.ToUpper(b.sumName))
		}
		b.gotSum = got
	}
	return nil
}

// bodyReader returns the decoded, checked request body.
func bodyReader(r *http.Request, ar sigv4.Verified, limit int64) (*checkedBody, *APIError) {
	b := &checkedBody{r: r.Body, limit: limit, wantLen: r.ContentLength}
	var chunked *sigv4.ChunkedReader
	switch {
	case ar.Streaming():
		chunked = sigv4.NewChunkedReader(r.Body, ar)
		b.r = chunked
		b.trailers = chunked.Trailers
		b.wantLen = -1
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			n, err := parseSize(dl)
			if err != nil {
				return nil, ErrInvalidArgument.withMessage("invalid x-amz-decoded-content-length")
			}
			b.wantLen = n
		}
	case ar.PayloadHash == sigv4.UnsignedPayload, ar.PayloadHash == "":
	default:
		b.sha = sha256.New()
		b.wantSHA = ar.PayloadHash
	}
	if b.wantLen > limit {
		return nil, ErrEntityTooLarge
	}
	// A checksum in a header, or declared as a trailer.
	for name, newHash := range checksumAlgorithms {
		if v := r.Header.Get("X-Amz-Checksum-" + name); v != "" {
			b.sum, b.sumName, b.wantSum = newHash(), name, v
		}
	}
	if t := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer"))); t != "" && b.sum == nil {
		name, ok := strings.CutPrefix(t, "x-amz-checksum-")
		newHash, known := checksumAlgorithms[name]
		if !ok || !known || chunked == nil {
			return nil, ErrInvalidRequest.withMessage("unsupported x-amz-trailer %q", t)
		}
		b.sum, b.sumName = newHash(), name
	}
	b.startAsync()
	return b, nil
}

func md5Equal(data, want []byte) bool {
	sum := md5.Sum(data)
	return bytes.Equal(sum[:], want)
}
