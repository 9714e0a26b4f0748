package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/textproto"
	"strconv"
	"strings"
)

const (
	maxChunkLine  = 4096
	maxTrailers   = 16
	maxChunkBytes = 64 << 20
)

// ChunkedReader decodes an aws-chunked body:
//
//	HEXSIZE[;chunk-signature=SIG]\r\n DATA \r\n ... 0[;chunk-signature=SIG]\r\n [TRAILER:VALUE\r\n ...] \r\n
//
// For a signed payload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) it
// verifies every chunk signature, the chain seeded by the request's
// signature. A bad chunk is an *Error (ErrMalformedChunk,
// ErrSignatureMismatch or ErrTooManyTrailers, worded as S3 words them); a
// body that ends early is io.ErrUnexpectedEOF. The trailer signature, when
// sent, is not verified: trailers only carry checksums, which are
// themselves checked against the (signed) data.
type ChunkedReader struct {
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
	trailers map[string]string
}

// NewChunkedReader decodes body, the aws-chunked body of the request v
// describes (one for which v.Streaming() is true).
func NewChunkedReader(body io.Reader, v Verified) *ChunkedReader {
	c := &ChunkedReader{br: bufio.NewReaderSize(body, 64<<10), trailers: map[string]string{}}
	if v.PayloadHash != StreamingUnsignedPayloadTrailer {
		c.signed = true
		c.key, c.amzDate, c.scope, c.prevSig = v.key, v.amzDate, v.scope(), v.seed
		c.h = sha256.New()
	}
	return c
}

// Trailers returns the trailers sent after the final chunk, by canonical
// MIME header key; they are all there once Read has returned io.EOF.
func (c *ChunkedReader) Trailers() map[string]string { return c.trailers }

func (c *ChunkedReader) readLine() (string, error) {
	var line []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxChunkLine {
			return "", refuse(ErrMalformedChunk, "aws-chunked line too long")
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
			return "", io.ErrUnexpectedEOF
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
		return 0, "", refuse(ErrMalformedChunk, fmt.Sprintf("invalid aws-chunked chunk size %q", sz))
	}
	if hasExt {
		k, v, _ := strings.Cut(ext, "=")
		if k == "chunk-signature" {
			sig = v
		}
	}
	if signed && !validSignature(sig) {
		return 0, "", refuse(ErrSignatureMismatch, "missing or invalid chunk-signature")
	}
	return size, sig, nil
}

func (c *ChunkedReader) Read(p []byte) (int, error) {
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
			err = io.ErrUnexpectedEOF
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
func (c *ChunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
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

func (c *ChunkedReader) endChunk() error {
	line, err := c.readLine()
	if err != nil || line != "" {
		return refuse(ErrMalformedChunk, "aws-chunked chunk not followed by CRLF")
	}
	return c.verifyChunk()
}

func (c *ChunkedReader) verifyChunk() error {
	if !c.signed {
		return nil
	}
	sts := Algorithm + "-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prevSig + "\n" + emptySHA256 + "\n" + hex.EncodeToString(c.h.Sum(nil))
	want := hex.EncodeToString(hmacSHA256(c.key, sts))
	if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
		return refuse(ErrSignatureMismatch, "The chunk signature we calculated does not match the signature you provided.")
	}
	c.prevSig = want
	c.h.Reset()
	return nil
}

func (c *ChunkedReader) readTrailers() error {
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
			return refuse(ErrTooManyTrailers, "too many trailers")
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return refuse(ErrMalformedChunk, fmt.Sprintf("malformed trailer %q", line))
		}
		c.trailers[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
}
