package s3api

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/s3event"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// multipart runs a multipart upload operation, or refuses it when the
// store cannot do multipart.
func (h *Handler) multipart(req *request, op func(*request, objstore.Multiparter) error) error {
	if h.mp == nil {
		return ErrNotImplemented.withMessage("This store does not support multipart uploads.")
	}
	return op(req, h.mp)
}

// uploadID is the uploadId query parameter.
func (req *request) uploadID() string { return req.r.URL.Query().Get("uploadId") }

// objectURL is the Location of an object in responses.
func objectURL(r *http.Request, bucket, key string) string {
	return "http://" + r.Host + "/" + bucket + "/" + sigv4.URIEncode(key, false)
}

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (h *Handler) createUpload(req *request, mp objstore.Multiparter) error {
	if err := h.checkKey(req, s3event.ObjectCreatedCompleteMultipartUpload); err != nil {
		return err
	}
	opts, aerr := putOptions(req.r)
	if aerr != nil {
		return aerr
	}
	opts.ContentMD5 = nil
	if opts.Conditions != (objstore.Conditions{}) {
		return ErrNotImplemented.withMessage("Conditional headers go on CompleteMultipartUpload, not CreateMultipartUpload.")
	}
	alg, typ, err := objstore.CheckChecksumOptions(req.r.Header.Get("X-Amz-Checksum-Algorithm"), req.r.Header.Get("X-Amz-Checksum-Type"))
	if err != nil {
		return ErrInvalidRequest.withMessage("Invalid x-amz-checksum-algorithm or x-amz-checksum-type: %v", err)
	}
	opts.ChecksumAlgorithm, opts.ChecksumType = alg, typ
	id, err := mp.CreateMultipartUpload(req.r.Context(), req.bucket, req.key, opts)
	if err != nil {
		return err
	}
	if alg != "" {
		req.w.Header().Set("X-Amz-Checksum-Algorithm", alg)
		req.w.Header().Set("X-Amz-Checksum-Type", typ)
	}
	h.writeXML(req, http.StatusOK, initiateResult{NS: xmlNS, Bucket: req.bucket, Key: req.key, UploadID: id})
	return nil
}

func partNumber(req *request) (int, error) {
	n, err := strconv.Atoi(req.r.URL.Query().Get("partNumber"))
	if err != nil || objstore.CheckPartNumber(n) != nil {
		return 0, ErrInvalidArgument.withMessage("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

func (h *Handler) uploadPart(req *request, mp objstore.Multiparter) error {
	n, err := partNumber(req)
	if err != nil {
		return err
	}
	md5want, aerr := contentMD5(req.r.Header)
	if aerr != nil {
		return aerr
	}
	body, aerr := bodyReader(req.r, req.auth, h.opts.MaxObjectSize)
	if aerr != nil {
		return aerr
	}
	defer body.Close()
	p, err := mp.UploadPart(req.r.Context(), req.bucket, req.key, req.uploadID(), n, body, objstore.PartOptions{ContentMD5: md5want, Checksum: body.checksum})
	if err != nil {
		return err
	}
	if c := body.checksum(); c.Algorithm != "" {
		req.w.Header().Set("X-Amz-Checksum-"+strings.ToLower(c.Algorithm), c.Value)
	}
	writeETag(req, p.ETag)
	return nil
}

func (h *Handler) uploadPartCopy(req *request, mp objstore.Multiparter) error {
	n, err := partNumber(req)
	if err != nil {
		return err
	}
	srcBucket, srcKey, aerr := parseCopySource(req.r.Header.Get("X-Amz-Copy-Source"))
	if aerr != nil {
		return aerr
	}
	ctx := req.r.Context()
	src, err := h.store.HeadObject(ctx, srcBucket, srcKey)
	if err != nil {
		return err
	}
	if err := copySourceConditions(req.r.Header, src); err != nil {
		return err
	}
	off, length := int64(0), int64(-1)
	if v := req.r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
		rng, aerr := parseCopyRange(v, src.Size)
		if aerr != nil {
			return aerr
		}
		off, length = rng.Start, rng.Length
	}
	rc, _, err := h.store.GetObjectRange(ctx, srcBucket, srcKey, off, length)
	if err != nil {
		return err
	}
	defer rc.Close()
	p, err := mp.UploadPart(ctx, req.bucket, req.key, req.uploadID(), n, rc, objstore.PartOptions{})
	if err != nil {
		return err
	}
	h.writeXML(req, http.StatusOK, newCopyResult("CopyPartResult", p.LastModified, p.ETag))
	return nil
}

// parseCopyRange reads x-amz-copy-source-range: exactly bytes=first-last,
// inside the source. S3 refuses a range past the source's end rather than
// clipping it as a GET would; see
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html.
func parseCopyRange(v string, size int64) (byteRange, *APIError) {
	bad := ErrInvalidArgument.withMessage("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	first, last, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 {
		return byteRange{}, bad
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a || first[0] == '+' || last[0] == '+' {
		return byteRange{}, bad
	}
	if b >= size {
		return byteRange{}, ErrInvalidArgument.withMessage("Range specified is not valid for source object of size: %d", size)
	}
	return byteRange{Start: a, Length: b - a + 1}, nil
}

// completeRequest is the body of CompleteMultipartUpload.
type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumElems
	} `xml:"Part"`
}

// parseCompleteRequest parses and validates a CompleteMultipartUpload body.
func parseCompleteRequest(body []byte) ([]objstore.Part, *APIError) {
	var c completeRequest
	if err := xml.Unmarshal(body, &c); err != nil {
		return nil, ErrMalformedXML
	}
	if len(c.Parts) == 0 || len(c.Parts) > objstore.MaxPartNumber {
		return nil, ErrMalformedXML.withMessage("CompleteMultipartUpload takes 1 to 10000 parts.")
	}
	parts := make([]objstore.Part, len(c.Parts))
	for i, p := range c.Parts {
		if objstore.CheckPartNumber(p.PartNumber) != nil || p.ETag == "" {
			return nil, ErrInvalidPart
		}
		_, sum := p.value()
		parts[i] = objstore.Part{PartNumber: p.PartNumber, ETag: p.ETag, Checksum: sum}
	}
	return parts, nil
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumElems
}

func (h *Handler) completeUpload(req *request, mp objstore.Multiparter) error {
	if err := h.checkKey(req, s3event.ObjectCreatedCompleteMultipartUpload); err != nil {
		return err
	}
	data, err := readXMLBody(req, 4<<20)
	if err != nil {
		return err
	}
	parts, aerr := parseCompleteRequest(data)
	if aerr != nil {
		return aerr
	}
	cond, aerr := writeConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	info, err := mp.CompleteMultipartUpload(req.r.Context(), req.bucket, req.key, req.uploadID(), parts, objstore.CompleteOptions{Conditions: cond})
	if err != nil {
		return err
	}
	if err := h.emit(req, s3event.ObjectCreatedCompleteMultipartUpload, info); err != nil {
		return err
	}
	res := completeResult{NS: xmlNS, Location: objectURL(req.r, req.bucket, req.key), Bucket: req.bucket, Key: req.key, ETag: quoteETag(info.ETag)}
	res.setChecksum(info.Checksum)
	h.writeXML(req, http.StatusOK, res)
	return nil
}

func (h *Handler) abortUpload(req *request, mp objstore.Multiparter) error {
	if err := mp.AbortMultipartUpload(req.r.Context(), req.bucket, req.key, req.uploadID()); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

type listPartsResult struct {
	XMLName              xml.Name   `xml:"ListPartsResult"`
	NS                   string     `xml:"xmlns,attr"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	Initiator            owner      `xml:"Initiator"`
	Owner                owner      `xml:"Owner"`
	StorageClass         string     `xml:"StorageClass"`
	Parts                []partElem `xml:"Part"`
}

type partElem struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumElems
}

func (h *Handler) listParts(req *request, mp objstore.Multiparter) error {
	q := req.r.URL.Query()
	maxParts, marker := 1000, 0
	if v := q.Get("max-parts"); v != "" {
		n, ok := nonNegative(v)
		if !ok {
			return ErrInvalidArgument.withMessage("max-parts must be a non-negative integer")
		}
		maxParts = min(n, 1000)
	}
	if v := q.Get("part-number-marker"); v != "" {
		n, ok := nonNegative(v)
		if !ok {
			return ErrInvalidArgument.withMessage("part-number-marker must be a non-negative integer")
		}
		marker = n
	}
	parts, err := mp.ListParts(req.r.Context(), req.bucket, req.key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	alg := ""
	if ups, err := mp.ListMultipartUploads(req.r.Context(), req.bucket); err == nil {
		for _, u := range ups {
			if u.UploadID == q.Get("uploadId") {
				alg = u.ChecksumAlgorithm
			}
		}
	}
	res := listPartsResult{NS: xmlNS, Bucket: req.bucket, Key: req.key, UploadID: q.Get("uploadId"),
		PartNumberMarker: marker, MaxParts: maxParts, Initiator: h.ownerOf(req), Owner: h.ownerOf(req), StorageClass: "STANDARD"}
	for _, p := range parts {
		if p.PartNumber <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		pe := partElem{PartNumber: p.PartNumber, LastModified: s3Time(p.LastModified), ETag: quoteETag(p.ETag), Size: p.Size}
		if p.Checksum != "" {
			*pe.field(alg) = p.Checksum
		}
		res.Parts = append(res.Parts, pe)
		res.NextPartNumberMarker = p.PartNumber
	}
	h.writeXML(req, http.StatusOK, res)
	return nil
}

type listUploadsResult struct {
	XMLName     xml.Name     `xml:"ListMultipartUploadsResult"`
	NS          string       `xml:"xmlns,attr"`
	Bucket      string       `xml:"Bucket"`
	KeyMarker   string       `xml:"KeyMarker"`
	MaxUploads  int          `xml:"MaxUploads"`
	IsTruncated bool         `xml:"IsTruncated"`
	Uploads     []uploadElem `xml:"Upload"`
}

type uploadElem struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         owner  `xml:"Initiator"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

func (h *Handler) listUploads(req *request, mp objstore.Multiparter) error {
	ups, err := mp.ListMultipartUploads(req.r.Context(), req.bucket)
	if err != nil {
		return err
	}
	prefix := req.r.URL.Query().Get("prefix")
	res := listUploadsResult{NS: xmlNS, Bucket: req.bucket, MaxUploads: 1000}
	for _, u := range ups {
		if len(res.Uploads) == 1000 {
			res.IsTruncated = true
			break
		}
		if len(u.Key) >= len(prefix) && u.Key[:len(prefix)] == prefix {
			res.Uploads = append(res.Uploads, uploadElem{Key: u.Key, UploadID: u.UploadID, Initiator: h.ownerOf(req), Owner: h.ownerOf(req),
				StorageClass: "STANDARD", Initiated: s3Time(u.Initiated), ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType})
		}
	}
	h.writeXML(req, http.StatusOK, res)
	return nil
}
