package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"

	"github.com/imagerec/imagerec/internal/objstore"
)

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type listAllMyBucketsResult struct {
	XMLName xml.Name     `xml:"ListAllMyBucketsResult"`
	NS      string       `xml:"xmlns,attr"`
	Owner   owner        `xml:"Owner"`
	Buckets []bucketElem `xml:"Buckets>Bucket"`
}

type bucketElem struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

func (h *Handler) ownerOf(req *request) owner {
	id := req.auth.AccessKeyID
	return owner{ID: id, DisplayName: id}
}

func (h *Handler) listBuckets(req *request) error {
	bs, err := h.store.ListBuckets(req.r.Context())
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{NS: xmlNS, Owner: h.ownerOf(req), Buckets: []bucketElem{}}
	for _, b := range bs {
		res.Buckets = append(res.Buckets, bucketElem{Name: b.Name, CreationDate: s3Time(b.CreationDate)})
	}
	h.writeXML(req, http.StatusOK, res)
	return nil
}

type createBucketConfiguration struct {
	LocationConstraint string `xml:"LocationConstraint"`
}

func (h *Handler) createBucket(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, 64<<10))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		var cfg createBucketConfiguration
		if xml.Unmarshal(body, &cfg) != nil {
			return ErrMalformedXML
		}
	}
	if err := h.store.CreateBucket(req.r.Context(), req.bucket); err != nil {
		// us-east-1, S3's legacy region, answers 200 to CreateBucket of a
		// bucket the caller already owns; every other region 409. See the
		// BucketAlreadyOwnedByYou entry of
		// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html.
		if !errors.Is(err, objstore.ErrBucketExists) || h.opts.Region != "us-east-1" {
			return err
		}
	}
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(req *request) error {
	if err := h.store.DeleteBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	h.mu.Lock()
	delete(h.rules, req.bucket)
	h.mu.Unlock()
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) headBucket(req *request) error {
	if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	req.w.Header().Set("X-Amz-Bucket-Region", h.opts.Region)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

func (h *Handler) getLocation(req *request) error {
	if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	region := h.opts.Region
	if region == "us-east-1" {
		region = "" // as S3 reports it
	}
	h.writeXML(req, http.StatusOK, locationConstraint{NS: xmlNS, Region: region})
	return nil
}

type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	NS      string   `xml:"xmlns,attr"`
}

func (h *Handler) getVersioning(req *request) error {
	if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	h.writeXML(req, http.StatusOK, versioningConfiguration{NS: xmlNS})
	return nil
}

type listBucketResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	NS                    string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker,omitempty"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int           `xml:"KeyCount,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []contentsElem `xml:"Contents"`
	CommonPrefixes        []prefixElem   `xml:"CommonPrefixes"`
}

type contentsElem struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        *owner `xml:"Owner,omitempty"`
	StorageClass string `xml:"StorageClass"`
}

type prefixElem struct {
	Prefix string `xml:"Prefix"`
}

func (h *Handler) list(req *request) (listQuery, objstore.ListResult, error) {
	lq, aerr := parseListQuery(req.r.URL.Query())
	if aerr != nil {
		return lq, objstore.ListResult{}, aerr
	}
	if lq.MaxKeys == 0 {
		_, err := h.store.HeadBucket(req.r.Context(), req.bucket)
		return lq, objstore.ListResult{}, err
	}
	res, err := h.store.ListObjects(req.r.Context(), req.bucket, objstore.ListOptions{
		Prefix: lq.Prefix, Delimiter: lq.Delimiter, StartAfter: lq.after(), MaxKeys: lq.MaxKeys,
	})
	return lq, res, err
}

func (h *Handler) fillList(req *request, lq listQuery, res objstore.ListResult, out *listBucketResult) {
	enc := lq.EncodingURL
	out.NS, out.Name = xmlNS, req.bucket
	out.Prefix = listEncode(lq.Prefix, enc)
	out.Delimiter = listEncode(lq.Delimiter, enc)
	out.MaxKeys = lq.MaxKeys
	out.IsTruncated = res.IsTruncated
	if enc {
		out.EncodingType = "url"
	}
	for _, o := range res.Objects {
		c := contentsElem{Key: listEncode(o.Key, enc), LastModified: s3Time(o.LastModified), ETag: quoteETag(o.ETag), Size: o.Size, StorageClass: "STANDARD"}
		if !lq.V2 || lq.FetchOwner {
			ow := h.ownerOf(req)
			c.Owner = &ow
		}
		out.Contents = append(out.Contents, c)
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, prefixElem{Prefix: listEncode(p, enc)})
	}
}

func (h *Handler) listObjectsV2(req *request) error {
	lq, res, err := h.list(req)
	if err != nil {
		return err
	}
	var out listBucketResult
	h.fillList(req, lq, res, &out)
	n := len(res.Objects) + len(res.CommonPrefixes)
	out.KeyCount = &n
	out.StartAfter = listEncode(lq.StartAfter, lq.EncodingURL)
	out.ContinuationToken = lq.ContinuationToken
	if res.IsTruncated {
		out.NextContinuationToken = encodeToken(res.NextStartAfter)
	}
	h.writeXML(req, http.StatusOK, out)
	return nil
}

func (h *Handler) listObjectsV1(req *request) error {
	lq, res, err := h.list(req)
	if err != nil {
		return err
	}
	var out listBucketResult
	h.fillList(req, lq, res, &out)
	// ListObjects (v1) encodes keys, Marker, NextMarker and Delimiter,
	// but answers with the Prefix as sent, as S3 does.
	out.Prefix = lq.Prefix
	m := listEncode(lq.Marker, lq.EncodingURL)
	out.Marker = &m
	if res.IsTruncated {
		out.NextMarker = listEncode(res.NextStartAfter, lq.EncodingURL)
	}
	h.writeXML(req, http.StatusOK, out)
	return nil
}

type listVersionsResult struct {
	XMLName             xml.Name      `xml:"ListVersionsResult"`
	NS                  string        `xml:"xmlns,attr"`
	Name                string        `xml:"Name"`
	Prefix              string        `xml:"Prefix"`
	KeyMarker           string        `xml:"KeyMarker"`
	VersionIDMarker     string        `xml:"VersionIdMarker"`
	NextKeyMarker       string        `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string        `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int           `xml:"MaxKeys"`
	Delimiter           string        `xml:"Delimiter,omitempty"`
	EncodingType        string        `xml:"EncodingType,omitempty"`
	IsTruncated         bool          `xml:"IsTruncated"`
	Versions            []versionElem `xml:"Version"`
	CommonPrefixes      []prefixElem  `xml:"CommonPrefixes"`
}

type versionElem struct {
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
}

// listVersions is ListObjectVersions of a bucket that has never had
// versioning: every object is its only version, with VersionId "null", as
// S3 lists objects written while versioning was off; see
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html.
// Tools that clean buckets up (the aws CLI, rclone, s3cmd) use it.
func (h *Handler) listVersions(req *request) error {
	q := req.r.URL.Query()
	lq, aerr := parseListQuery(q)
	if aerr != nil {
		return aerr
	}
	keyMarker, vidMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if vidMarker != "" && keyMarker == "" {
		return ErrInvalidArgument.withMessage("A version-id marker cannot be specified without a key marker.")
	}
	if vidMarker != "" && vidMarker != "null" {
		return ErrInvalidArgument.withMessage("Invalid version id specified")
	}
	res := objstore.ListResult{}
	if lq.MaxKeys > 0 {
		var err error
		if res, err = h.store.ListObjects(req.r.Context(), req.bucket, objstore.ListOptions{
			Prefix: lq.Prefix, Delimiter: lq.Delimiter, StartAfter: keyMarker, MaxKeys: lq.MaxKeys,
		}); err != nil {
			return err
		}
	} else if _, err := h.store.HeadBucket(req.r.Context(), req.bucket); err != nil {
		return err
	}
	enc := lq.EncodingURL
	out := listVersionsResult{NS: xmlNS, Name: req.bucket, Prefix: listEncode(lq.Prefix, enc), KeyMarker: listEncode(keyMarker, enc),
		VersionIDMarker: vidMarker, MaxKeys: lq.MaxKeys, Delimiter: listEncode(lq.Delimiter, enc), IsTruncated: res.IsTruncated}
	if enc {
		out.EncodingType = "url"
	}
	for _, o := range res.Objects {
		out.Versions = append(out.Versions, versionElem{Key: listEncode(o.Key, enc), VersionID: "null", IsLatest: true,
			LastModified: s3Time(o.LastModified), ETag: quoteETag(o.ETag), Size: o.Size, Owner: h.ownerOf(req), StorageClass: "STANDARD"})
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, prefixElem{Prefix: listEncode(p, enc)})
	}
	if res.IsTruncated {
		out.NextKeyMarker, out.NextVersionIDMarker = listEncode(res.NextStartAfter, enc), "null"
	}
	h.writeXML(req, http.StatusOK, out)
	return nil
}
