package s3api

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/textproto"
	"strconv"
	"strings"
)

var errUnexpectedEOF = io.ErrUnexpectedEOF

const (
	maxChunkLine  = 4096
	maxTrailers   = 16
	maxChunkBytes = 64 << 20
)

// chunkedReader decodes an aws-chunked body:
//
//	HEXSIZE[;chunk-signature=SIG]\r\n DATA \r\n ... 0[;chunk-signature=SIG]\r\n [TRAILER:VALUE\r\n ...] \r\n
//
// With a signing key it verifies every chunk signature (the chain seeded by
// the request's signature). Trailers (x-amz-checksum-*) are collected in
// Trailers once Read has returned io.EOF. The trailer signature, when sent,
// is not verified: trailers only carry checksums, which are themselves
// checked against the (signed) data.
type chunkedReader struct {
	br       *bufio.Reader
	signed   bool
	key      []byte
	amzDate  string
	scope    string
	prevSig  string
	left     int64 // bytes left in the current chunk
	chunkSig string
	h        hash.Hash
	done     bool
	err      error
	Trailers map[string]string
}

func newChunkedReader(r io.Reader, signed bool, ar authResult) *chunkedReader {
	c := &chunkedReader{br: bufio.NewReaderSize(r, 64<<10), signed: signed, Trailers: map[string]string{}}
	if signed {
		c.key, c.amzDate, c.scope, c.prevSig = ar.signingKey, ar.amzDate, ar.auth.scope(), ar.seedSig
		c.h = sha256.New()
	}
	return c
}

func (c *chunkedReader) readLine() (string, error) {
	var line []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxChunkLine {
			return "", ErrIncompleteBody.withMessage("aws-chunked line too long")
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return "", io.EOF
			}
			return "", errUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// parseChunkHeader parses "HEXSIZE[;chunk-signature=SIG]".
func parseChunkHeader(line string, signed bool) (size int64, sig string, err error) {
	sz, ext, hasExt := strings.Cut(line, ";")
	size, perr := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
	if perr != nil || size < 0 || size > maxChunkBytes {
		return 0, "", ErrIncompleteBody.withMessage("invalid aws-chunked chunk size %q", sz)
	}
	if hasExt {
		k, v, _ := strings.Cut(ext, "=")
		if k == "chunk-signature" {
			sig = v
		}
	}
	if signed && !validSignature(sig) {
		return 0, "", ErrSignatureDoesNotMatch.withMessage("missing or invalid chunk-signature")
	}
	return size, sig, nil
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.done {
			c.err = io.EOF
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errUnexpectedEOF
		}
		c.err = err
		return n, err
	}
	if c.left == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

// nextChunk reads a chunk header; for the final chunk it also verifies the
// empty chunk's signature and reads the trailers.
func (c *chunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errUnexpectedEOF
		}
		return err
	}
	size, sig, err := parseChunkHeader(line, c.signed)
	if err != nil {
		return err
	}
	c.left, c.chunkSig = size, sig
	if size > 0 {
		return nil
	}
	if err := c.verifyChunk(); err != nil {
		return err
	}
	c.done = true
	return c.readTrailers()
}

func (c *chunkedReader) endChunk() error {
	line, err := c.readLine()
	if err != nil || line != "" {
		return ErrIncompleteBody.withMessage("aws-chunked chunk not followed by CRLF")
	}
	return c.verifyChunk()
}

func (c *chunkedReader) verifyChunk() error {
	if !c.signed {
		return nil
	}
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prevSig + "\n" + emptySHA256 + "\n" + hex.EncodeToString(c.h.Sum(nil))
	want := hex.EncodeToString(hmacSHA256(c.key, sts))
	if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
		return ErrSignatureDoesNotMatch.withMessage("The chunk signature we calculated does not match the signature you provided.")
	}
	c.prevSig = want
	c.h.Reset()
	return nil
}

func (c *chunkedReader) readTrailers() error {
	for i := 0; ; i++ {
		line, err := c.readLine()
		if errors.Is(err, io.EOF) {
			return nil // tolerate a missing final CRLF
		}
		if err != nil {
			return err
		}
		if line == "" {
			return nil
		}
		if i >= maxTrailers {
			return ErrInvalidRequest.withMessage("too many trailers")
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return ErrIncompleteBody.withMessage("malformed trailer %q", line)
		}
		c.Trailers[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
}

// drain is used by tests and fuzzing.
func drainChunked(body []byte, signed bool, ar authResult) ([]byte, map[string]string, error) {
	c := newChunkedReader(bytes.NewReader(body), signed, ar)
	out, err := io.ReadAll(c)
	return out, c.Trailers, err
}
