package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/s3event"
)

const defaultContentType = "binary/octet-stream"

// contentMD5 decodes the Content-MD5 header: nil when absent,
// ErrInvalidDigest when it is not base64 of 16 bytes.
func contentMD5(hdr http.Header) ([]byte, *APIError) {
	v := hdr.Get("Content-Md5")
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != md5.Size {
		return nil, ErrInvalidDigest
	}
	return b, nil
}

// quoteETag returns an ETag as HTTP headers and XML bodies carry it.
func quoteETag(etag string) string { return `"` + etag + `"` }

// etagIs reports whether v, from a condition header, names etag (quoted
// or not).
func etagIs(v, etag string) bool { return v == quoteETag(etag) || v == etag }

// writeETag ends a write whose response is headers only: ETag and 200.
func writeETag(req *request, etag string) {
	req.w.Header().Set("ETag", quoteETag(etag))
	req.w.WriteHeader(http.StatusOK)
}

// putOptions reads Content-Type, the content headers, Content-MD5,
// x-amz-meta-* and the write conditions (If-Match, If-None-Match).
func putOptions(r *http.Request) (objstore.PutOptions, *APIError) {
	opts := objstore.PutOptions{ContentType: r.Header.Get("Content-Type"), Headers: contentHeaders(r.Header)}
	md5want, aerr := contentMD5(r.Header)
	if aerr != nil {
		return opts, aerr
	}
	opts.ContentMD5 = md5want
	opts.Metadata = userMetadata(r.Header)
	opts.Conditions, aerr = writeConditions(r.Header)
	return opts, aerr
}

// contentHeaders are the content headers S3 stores with an object.
func contentHeaders(hdr http.Header) objstore.ContentHeaders {
	return objstore.ContentHeaders{
		CacheControl:       hdr.Get("Cache-Control"),
		ContentDisposition: hdr.Get("Content-Disposition"),
		ContentEncoding:    contentEncoding(hdr),
		ContentLanguage:    hdr.Get("Content-Language"),
		Expires:            hdr.Get("Expires"),
	}
}

// contentEncoding is the Content-Encoding to store: aws-chunked is the
// transfer framing of the request, not the object's encoding, so S3 drops
// it from the list.
func contentEncoding(hdr http.Header) string {
	var keep []string
	for _, e := range strings.Split(hdr.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

// writeConditions reads If-Match and If-None-Match of a write
// (PutObject, CopyObject, CompleteMultipartUpload). S3 takes only "*" in
// If-None-Match on writes and answers anything else with 501; see
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html.
func writeConditions(hdr http.Header) (objstore.Conditions, *APIError) {
	c := objstore.Conditions{IfMatch: strings.TrimSpace(hdr.Get("If-Match")), IfNoneMatch: strings.TrimSpace(hdr.Get("If-None-Match"))}
	if c.IfNoneMatch != "" && c.IfNoneMatch != "*" {
		return c, ErrNotImplemented.withMessage("A header you provided implies functionality that is not implemented: If-None-Match takes only * on writes.")
	}
	return c, nil
}

// setChecksumHeaders answers a write or a read with a checksum.
func setChecksumHeaders(hdr http.Header, c objstore.Checksum) {
	if c.Algorithm == "" || c.Value == "" {
		return
	}
	hdr.Set("X-Amz-Checksum-"+strings.ToLower(c.Algorithm), c.Value)
	if c.Type != "" {
		hdr.Set("X-Amz-Checksum-Type", c.Type)
	}
}

func userMetadata(hdr http.Header) map[string]string {
	var meta map[string]string
	for k, vs := range hdr {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-")
		if !ok || name == "" {
			continue
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[name] = strings.Join(vs, ",")
	}
	return meta
}

// checkKey checks req.key before an object is written under it by a
// request whose event would be eventName: S3's rules, then KeyLimit when a
// notification rule selects the key.
func (h *Handler) checkKey(req *request, eventName string) error {
	if err := objstore.CheckKey(req.key); err != nil {
		return err
	}
	if h.opts.KeyLimit == nil || len(h.rulesFor(req.bucket).Match(req.bucket, req.key, eventName)) == 0 {
		return nil
	}
	if err := h.opts.KeyLimit(req.bucket, req.key); err != nil {
		return ErrKeyTooLong.withMessage("Your key is too long: %s", err)
	}
	return nil
}

func (h *Handler) putObject(req *request) error {
	if err := h.checkKey(req, s3event.ObjectCreatedPut); err != nil {
		return err
	}
	opts, aerr := putOptions(req.r)
	if aerr != nil {
		return aerr
	}
	body, aerr := bodyReader(req.r, req.auth, h.opts.MaxObjectSize)
	if aerr != nil {
		return aerr
	}
	defer body.Close()
	opts.Checksum = body.checksum
	info, err := h.store.PutObject(req.r.Context(), req.bucket, req.key, body, opts)
	if err != nil {
		return err
	}
	if err := h.emit(req, s3event.ObjectCreatedPut, info); err != nil {
		return err
	}
	setChecksumHeaders(req.w.Header(), info.Checksum)
	writeETag(req, info.ETag)
	return nil
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since. done reports that a 304 was written.
func checkConditions(req *request, info objstore.ObjectInfo) (done bool, err error) {
	r := req.r
	match := func(list string) bool { return objstore.ETagMatches(list, info.ETag) }
	mod := info.LastModified.Truncate(time.Second)
	if v := r.Header.Get("If-Match"); v != "" {
		if !match(v) {
			return false, ErrPreconditionFailed
		}
	} else if v := r.Header.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return false, ErrPreconditionFailed
		}
	}
	notModified := false
	if v := r.Header.Get("If-None-Match"); v != "" {
		notModified = match(v)
	} else if v := r.Header.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			notModified = true
		}
	}
	if notModified {
		hdr := req.w.Header()
		hdr.Set("ETag", quoteETag(info.ETag))
		hdr.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
		req.w.WriteHeader(http.StatusNotModified)
		return true, nil
	}
	return false, nil
}

func setObjectHeaders(hdr http.Header, info objstore.ObjectInfo) {
	ct := info.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	hdr.Set("Content-Type", ct)
	hdr.Set("ETag", quoteETag(info.ETag))
	hdr.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	hdr.Set("Accept-Ranges", "bytes")
	for name, v := range map[string]string{
		"Cache-Control": info.Headers.CacheControl, "Content-Disposition": info.Headers.ContentDisposition,
		"Content-Encoding": info.Headers.ContentEncoding, "Content-Language": info.Headers.ContentLanguage,
		"Expires": info.Headers.Expires,
	} {
		if v != "" {
			hdr.Set(name, v)
		}
	}
	for k, v := range info.Metadata {
		hdr["X-Amz-Meta-"+k] = []string{metadataValue(v)}
	}
}

// metadataValue is a user metadata value as S3 returns it: as stored when
// it is printable US-ASCII, else RFC 2047 encoded ("=?UTF-8?B?...?="); see
// "User-defined object metadata" in the S3 user guide.
func metadataValue(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return mime.BEncoding.Encode("UTF-8", v)
		}
	}
	return v
}

// activeContent reports whether a browser would run scripts in a response
// of this Content-Type: HTML, SVG, XML (XSLT, XHTML), JavaScript and the
// like. Such objects are served as attachments.
func activeContent(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Unparseable: the browser may still sniff or guess; be safe.
		return strings.TrimSpace(contentType) != ""
	}
	switch mt {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl", "application/xslt+xml",
		"text/javascript", "application/javascript", "application/x-javascript", "text/ecmascript", "application/ecmascript",
		"application/x-shockwave-flash", "multipart/x-mixed-replace", "application/mathml+xml", "application/rdf+xml":
		return true
	}
	return strings.HasSuffix(mt, "+xml") || strings.Contains(mt, "html") || strings.Contains(mt, "javascript")
}

// responseOverrides are the response-* query parameters of GetObject.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

func (h *Handler) getObject(req *request, head bool) error {
	ctx := req.r.Context()
	info, err := h.store.HeadObject(ctx, req.bucket, req.key)
	if err != nil {
		return err
	}
	hdr := req.w.Header()
	part, aerr := partRequest(req.r)
	if aerr != nil {
		return aerr
	}
	if done, err := checkConditions(req, info); done || err != nil {
		return err
	}
	var rng byteRange
	var partial bool
	if part > 0 {
		// A GET of one part is a ranged GET of the part's bytes; see
		// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
		// (partNumber).
		off, size, ok := objstore.PartRange(info, part)
		if !ok {
			return ErrInvalidPartNumber
		}
		rng, partial = byteRange{Start: off, Length: size}, true
		if len(info.Parts) > 0 {
			hdr.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(info.Parts)))
		}
		if size == 0 {
			partial = false
		}
	} else {
		rng, partial, aerr = parseRange(req.r.Header.Get("Range"), info.Size)
		if aerr != nil {
			hdr.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
			return aerr
		}
	}
	if strings.EqualFold(req.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		switch {
		case part > 0 && len(info.Parts) > 0:
			if c := info.Parts[part-1].Checksum; c != "" && info.Checksum.Type == objstore.ChecksumComposite {
				setChecksumHeaders(hdr, objstore.Checksum{Algorithm: info.Checksum.Algorithm, Value: c, Type: objstore.ChecksumComposite})
			}
		case !partial || rng.Length == info.Size:
			// S3 returns no checksum for a ranged read.
			setChecksumHeaders(hdr, info.Checksum)
		}
	}
	var body io.ReadCloser
	if !head {
		off, n := int64(0), int64(-1)
		if partial {
			off, n = rng.Start, rng.Length
		}
		body, info, err = h.store.GetObjectRange(ctx, req.bucket, req.key, off, n)
		if err != nil {
			return err
		}
		defer body.Close()
		// The object may have changed since HeadObject.
		if partial && rng.Start+rng.Length > info.Size {
			rng.Length = info.Size - rng.Start
		}
	}
	setObjectHeaders(hdr, info)
	q := req.r.URL.Query()
	// Every request here is signed (anonymous ones are refused), as S3
	// requires for the response-* overrides.
	for p, name := range responseOverrides {
		if v := q.Get(p); v != "" {
			hdr.Set(name, v)
		}
	}
	// The endpoint shares its origin with the web page: never let a stored
	// object be sniffed or rendered as active content there.
	hdr.Set("X-Content-Type-Options", "nosniff")
	if activeContent(hdr.Get("Content-Type")) && q.Get("response-content-disposition") == "" &&
		!strings.HasPrefix(strings.ToLower(hdr.Get("Content-Disposition")), "attachment") {
		hdr.Set("Content-Disposition", "attachment")
	}
	status := http.StatusOK
	length := info.Size
	if partial {
		status, length = http.StatusPartialContent, rng.Length
		hdr.Set("Content-Range", "bytes "+strconv.FormatInt(rng.Start, 10)+"-"+strconv.FormatInt(rng.Start+rng.Length-1, 10)+"/"+strconv.FormatInt(info.Size, 10))
	}
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	req.w.WriteHeader(status)
	if head {
		return nil
	}
	if _, err := io.Copy(req.w, body); err != nil {
		h.log.Debug("get object: client write failed", "request_id", req.id, "error", err)
	}
	return nil
}

// partRequest reads the partNumber query parameter of GetObject and
// HeadObject: 0 when absent.
func partRequest(r *http.Request) (int, *APIError) {
	q := r.URL.Query()
	if !q.Has("partNumber") {
		return 0, nil
	}
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || objstore.CheckPartNumber(n) != nil {
		return 0, ErrInvalidArgument.withMessage("Part number must be an integer between 1 and 10000, inclusive")
	}
	if r.Header.Get("Range") != "" {
		return 0, ErrInvalidRequest.withMessage("Cannot specify both Range header and partNumber query parameter")
	}
	return n, nil
}

func (h *Handler) deleteObject(req *request) error {
	if err := h.store.DeleteObject(req.r.Context(), req.bucket, req.key); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteRequest is the body of DeleteObjects.
type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name      `xml:"DeleteResult"`
	NS      string        `xml:"xmlns,attr"`
	Deleted []deletedElem `xml:"Deleted"`
	Errors  []deleteErrEl `xml:"Error"`
}

type deletedElem struct {
	Key string `xml:"Key"`
}

type deleteErrEl struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// parseDeleteRequest parses and validates a DeleteObjects body.
func parseDeleteRequest(body []byte) (deleteRequest, *APIError) {
	var d deleteRequest
	if err := xml.Unmarshal(body, &d); err != nil {
		return d, ErrMalformedXML
	}
	if len(d.Objects) == 0 || len(d.Objects) > 1000 {
		return d, ErrMalformedXML.withMessage("DeleteObjects takes 1 to 1000 objects.")
	}
	return d, nil
}

// readXMLBody reads a small XML request body, checking its digests.
func readXMLBody(req *request, max int64) ([]byte, error) {
	body, aerr := bodyReader(req.r, req.auth, max)
	if aerr != nil {
		return nil, aerr
	}
	defer body.Close()
	md5want, aerr := contentMD5(req.r.Header)
	if aerr != nil {
		return nil, aerr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	if md5want != nil && !md5Equal(data, md5want) {
		return nil, ErrBadDigest
	}
	return data, nil
}

func (h *Handler) deleteObjects(req *request) error {
	data, err := readXMLBody(req, 2<<20)
	if err != nil {
		return err
	}
	d, aerr := parseDeleteRequest(data)
	if aerr != nil {
		return aerr
	}
	if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	res := deleteResult{NS: xmlNS}
	for _, o := range d.Objects {
		if err := h.store.DeleteObject(req.r.Context(), req.bucket, o.Key); err != nil {
			ae := toAPIError(err)
			res.Errors = append(res.Errors, deleteErrEl{Key: o.Key, Code: ae.Code, Message: ae.Message})
			continue
		}
		if !d.Quiet {
			res.Deleted = append(res.Deleted, deletedElem{Key: o.Key})
		}
	}
	h.writeXML(req, http.StatusOK, res)
	return nil
}

// parseCopySource parses x-amz-copy-source: "[/]bucket/key[?versionId=...]",
// URL-encoded.
func parseCopySource(v string) (bucket, key string, err *APIError) {
	src, _, _ := strings.Cut(v, "?versionId=")
	dec, derr := url.PathUnescape(src)
	if derr != nil {
		return "", "", ErrInvalidArgument.withMessage("Invalid copy source encoding")
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", ErrInvalidArgument.withMessage("Invalid copy source object key")
	}
	return bucket, key, nil
}

// copyResult is the body of CopyObject (CopyObjectResult) and
// UploadPartCopy (CopyPartResult).
type copyResult struct {
	XMLName      xml.Name
	NS           string `xml:"xmlns,attr"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	checksumElems
}

// checksumElems are the Checksum* elements of S3's XML results.
type checksumElems struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

func (c *checksumElems) setChecksum(sum objstore.Checksum) {
	*c.field(sum.Algorithm) = sum.Value
	if sum.Algorithm != "" {
		c.ChecksumType = sum.Type
	}
}

// field is the element of an algorithm (a throw-away for an unknown one).
func (c *checksumElems) field(alg string) *string {
	switch strings.ToUpper(alg) {
	case "CRC32":
		return &c.ChecksumCRC32
	case "CRC32C":
		return &c.ChecksumCRC32C
	case "CRC64NVME":
		return &c.ChecksumCRC64NVME
	case "SHA1":
		return &c.ChecksumSHA1
	case "SHA256":
		return &c.ChecksumSHA256
	}
	return new(string)
}

// value is the one checksum element set, with its algorithm.
func (c checksumElems) value() (alg, v string) {
	for _, a := range objstore.ChecksumAlgorithms {
		if v := *c.field(a); v != "" {
			return a, v
		}
	}
	return "", ""
}

func newCopyResult(name string, lastModified time.Time, etag string) copyResult {
	return copyResult{XMLName: xml.Name{Local: name}, NS: xmlNS, LastModified: s3Time(lastModified), ETag: quoteETag(etag)}
}

func (h *Handler) copyObject(req *request) error {
	if err := h.checkKey(req, s3event.ObjectCreatedCopy); err != nil {
		return err
	}
	srcBucket, srcKey, aerr := parseCopySource(req.r.Header.Get("X-Amz-Copy-Source"))
	if aerr != nil {
		return aerr
	}
	cond, aerr := writeConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	ctx := req.r.Context()
	rc, src, err := h.store.GetObject(ctx, srcBucket, srcKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := copySourceConditions(req.r.Header, src); err != nil {
		return err
	}
	opts := objstore.PutOptions{ContentType: src.ContentType, Metadata: src.Metadata, Headers: src.Headers, Conditions: cond}
	if strings.EqualFold(req.r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE") {
		opts.ContentType = req.r.Header.Get("Content-Type")
		opts.Metadata = userMetadata(req.r.Header)
		opts.Headers = contentHeaders(req.r.Header)
	} else if srcBucket == req.bucket && srcKey == req.key {
		return ErrInvalidRequest.withMessage("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	// The copy is one object: its checksum is recomputed over the bytes
	// with the algorithm the request names, else the source's.
	alg := req.r.Header.Get("X-Amz-Checksum-Algorithm")
	if alg == "" {
		alg = src.Checksum.Algorithm
	}
	var body io.Reader = rc
	if sum := objstore.NewChecksumHash(alg); sum != nil {
		body = io.TeeReader(rc, sum)
		opts.Checksum = func() objstore.Checksum {
			return objstore.Checksum{Algorithm: strings.ToUpper(alg), Value: base64.StdEncoding.EncodeToString(sum.Sum(nil)), Type: objstore.ChecksumFullObject}
		}
	} else if alg != "" {
		return ErrInvalidRequest.withMessage("Invalid x-amz-checksum-algorithm %q", alg)
	}
	info, err := h.store.PutObject(ctx, req.bucket, req.key, body, opts)
	if err != nil {
		return err
	}
	if err := h.emit(req, s3event.ObjectCreatedCopy, info); err != nil {
		return err
	}
	res := newCopyResult("CopyObjectResult", info.LastModified, info.ETag)
	res.setChecksum(info.Checksum)
	h.writeXML(req, http.StatusOK, res)
	return nil
}

func copySourceConditions(hdr http.Header, src objstore.ObjectInfo) error {
	if v := hdr.Get("X-Amz-Copy-Source-If-Match"); v != "" && !etagIs(v, src.ETag) {
		return ErrPreconditionFailed
	}
	if v := hdr.Get("X-Amz-Copy-Source-If-None-Match"); v != "" && etagIs(v, src.ETag) {
		return ErrPreconditionFailed
	}
	return nil
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr"`
	TagSet  struct{} `xml:"TagSet"`
}

// getObjectTagging reports an empty tag set (tags are not stored); the aws
// CLI asks for it before a multipart copy.
func (h *Handler) getObjectTagging(req *request) error {
	if _, err := h.store.HeadObject(req.r.Context(), req.bucket, req.key); err != nil {
		return err
	}
	h.writeXML(req, http.StatusOK, tagging{NS: xmlNS})
	return nil
}
