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

// putOptions reads Content-Type, Content-MD5 and x-amz-meta-* headers.
func putOptions(r *http.Request) (objstore.PutOptions, *APIError) {
	opts := objstore.PutOptions{ContentType: r.Header.Get("Content-Type")}
	md5want, aerr := contentMD5(r.Header)
	if aerr != nil {
		return opts, aerr
	}
	opts.ContentMD5 = md5want
	opts.Metadata = userMetadata(r.Header)
	return opts, nil
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
	info, err := h.store.PutObject(req.r.Context(), req.bucket, req.key, body, opts)
	if err != nil {
		return err
	}
	if err := h.emit(req, s3event.ObjectCreatedPut, info); err != nil {
		return err
	}
	writeETag(req, info.ETag)
	return nil
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since. done reports that a 304 was written.
func checkConditions(req *request, info objstore.ObjectInfo) (done bool, err error) {
	r := req.r
	match := func(list string) bool {
		for _, e := range strings.Split(list, ",") {
			e = strings.TrimSpace(e)
			if e == "*" || etagIs(e, info.ETag) {
				return true
			}
		}
		return false
	}
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
	for k, v := range info.Metadata {
		hdr["X-Amz-Meta-"+k] = []string{v}
	}
	if i := strings.LastIndex(info.ETag, "-"); i >= 0 {
		hdr.Set("X-Amz-Mp-Parts-Count", info.ETag[i+1:])
	}
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
	if q := req.r.URL.Query(); q.Has("partNumber") {
		if n, err := strconv.Atoi(q.Get("partNumber")); err != nil || n != 1 {
			return ErrInvalidArgument.withMessage("Only partNumber=1 is supported")
		}
	}
	if done, err := checkConditions(req, info); done || err != nil {
		return err
	}
	rng, partial, aerr := parseRange(req.r.Header.Get("Range"), info.Size)
	hdr := req.w.Header()
	if aerr != nil {
		hdr.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		return aerr
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
	if activeContent(hdr.Get("Content-Type")) && q.Get("response-content-disposition") == "" {
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
	ctx := req.r.Context()
	rc, src, err := h.store.GetObject(ctx, srcBucket, srcKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := copySourceConditions(req.r.Header, src); err != nil {
		return err
	}
	opts := objstore.PutOptions{ContentType: src.ContentType, Metadata: src.Metadata}
	if strings.EqualFold(req.r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE") {
		opts.ContentType = req.r.Header.Get("Content-Type")
		opts.Metadata = userMetadata(req.r.Header)
	} else if srcBucket == req.bucket && srcKey == req.key {
		return ErrInvalidRequest.withMessage("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	info, err := h.store.PutObject(ctx, req.bucket, req.key, rc, opts)
	if err != nil {
		return err
	}
	if err := h.emit(req, s3event.ObjectCreatedCopy, info); err != nil {
		return err
	}
	h.writeXML(req, http.StatusOK, newCopyResult("CopyObjectResult", info.LastModified, info.ETag))
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
