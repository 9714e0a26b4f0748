package s3api

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/s3event"
	"github.com/imagerec/imagerec/internal/sigv4"
)

// isPostUpload reports a browser-form upload (POST Object): a POST to a
// bucket with a multipart/form-data body. Its authentication is the signed
// policy in the form, not the request headers.
func isPostUpload(r *http.Request, bucket, key string) bool {
	if r.Method != http.MethodPost || bucket == "" || key != "" || r.URL.RawQuery != "" {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// postPolicy is the decoded policy document of a POST upload.
type postPolicy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

const maxPostFields = 64 << 10

// readPostForm reads the form fields up to the file part.
func readPostForm(mr *multipart.Reader) (map[string]string, *multipart.Part, error) {
	fields := map[string]string{}
	total := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, nil, ErrInvalidArgument.withMessage("POST requires exactly one file upload per request.")
		}
		if err != nil {
			return nil, nil, ErrMalformedPOSTRequest
		}
		name := strings.ToLower(p.FormName())
		if name == "file" {
			return fields, p, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, int64(maxPostFields-total+1)))
		if err != nil {
			return nil, nil, ErrMalformedPOSTRequest
		}
		total += len(v)
		if total > maxPostFields {
			return nil, nil, ErrMalformedPOSTRequest.withMessage("The form fields exceed %d bytes.", maxPostFields)
		}
		fields[name] = string(v)
	}
}

// ErrMalformedPOSTRequest is S3's error for an unreadable form.
var ErrMalformedPOSTRequest = apiErr("MalformedPOSTRequest", http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data.")

func policyDenied(format string, args ...any) *APIError {
	return ErrAccessDenied.withMessage("Invalid according to Policy: "+format, args...)
}

// checkPostPolicy verifies the signature of the policy and every condition
// against the form fields; fields no condition covers are refused, as S3
// does.
func (h *Handler) checkPostPolicy(bucket string, fields map[string]string) (sigv4.Credential, *APIError) {
	var a sigv4.Credential
	covered := map[string]bool{"policy": true, "x-amz-signature": true, "file": true}
	switch {
	case fields["x-amz-algorithm"] == sigv4.Algorithm:
		var ok bool
		if a, ok = sigv4.ParseCredential(fields["x-amz-credential"]); !ok {
			return a, ErrInvalidArgument.withMessage("Invalid x-amz-credential.")
		}
		if err := h.auth.VerifyPolicy(a, fields["policy"], fields["x-amz-signature"], s3Service); err != nil {
			return a, toAPIError(err)
		}
	case fields["x-amz-algorithm"] == "" && fields["awsaccesskeyid"] != "":
		// Signature Version 2: AWSAccessKeyId, policy, signature; see
		// https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html.
		if fields["policy"] == "" || fields["signature"] == "" {
			return a, ErrInvalidArgument.withMessage("Bucket POST must contain a field named 'policy' and 'signature' with AWSAccessKeyId.")
		}
		a.AccessKeyID = fields["awsaccesskeyid"]
		if err := h.auth.VerifyPolicyV2(a.AccessKeyID, fields["policy"], fields["signature"]); err != nil {
			return a, toAPIError(err)
		}
		covered["awsaccesskeyid"], covered["signature"] = true, true
	default:
		return a, ErrInvalidArgument.withMessage("POST uploads need x-amz-algorithm AWS4-HMAC-SHA256 (Signature Version 4) or AWSAccessKeyId and signature (Signature Version 2).")
	}
	raw, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		return a, ErrInvalidArgument.withMessage("Invalid Policy: Invalid Base64 encoding.")
	}
	var p postPolicy
	if err := json.Unmarshal(raw, &p); err != nil {
		return a, ErrInvalidArgument.withMessage("Invalid Policy: Invalid JSON.")
	}
	exp, err := time.Parse(time.RFC3339, p.Expiration)
	if err != nil {
		return a, ErrInvalidArgument.withMessage("Invalid Policy: Invalid 'expiration' value.")
	}
	if h.opts.Now().After(exp) {
		return a, policyDenied("Policy expired.")
	}
	vals := func(name string) string {
		if name == "bucket" {
			return bucket
		}
		return fields[name]
	}
	for _, c := range p.Conditions {
		if err := checkCondition(c, vals, covered); err != nil {
			return a, err
		}
	}
	for name := range fields {
		if !covered[name] && !strings.HasPrefix(name, "x-ignore-") {
			return a, policyDenied("Extra input fields: %s", name)
		}
	}
	return a, nil
}

// checkCondition checks one policy condition: {"field": "value"},
// ["eq", "$field", "value"], ["starts-with", "$field", "prefix"] or
// ["content-length-range", min, max] (checked while reading the file).
func checkCondition(c any, vals func(string) string, covered map[string]bool) *APIError {
	switch c := c.(type) {
	case map[string]any:
		for k, v := range c {
			s, ok := v.(string)
			name := strings.ToLower(k)
			if !ok || vals(name) != s {
				return policyDenied("Policy Condition failed: [\"eq\", \"$%s\", %q]", name, fmt.Sprint(v))
			}
			covered[name] = true
		}
		return nil
	case []any:
		if len(c) != 3 {
			return ErrInvalidArgument.withMessage("Invalid Policy: Invalid Condition.")
		}
		op, _ := c[0].(string)
		op = strings.ToLower(op)
		if op == "content-length-range" {
			covered["content-length-range"] = true
			return nil
		}
		field, _ := c[1].(string)
		value, ok := c[2].(string)
		name := strings.ToLower(strings.TrimPrefix(field, "$"))
		if !ok || !strings.HasPrefix(field, "$") {
			return ErrInvalidArgument.withMessage("Invalid Policy: Invalid Condition.")
		}
		switch op {
		case "eq":
			if vals(name) != value {
				return policyDenied("Policy Condition failed: [\"eq\", \"$%s\", %q]", name, value)
			}
		case "starts-with":
			if !strings.HasPrefix(vals(name), value) {
				return policyDenied("Policy Condition failed: [\"starts-with\", \"$%s\", %q]", name, value)
			}
		default:
			return ErrInvalidArgument.withMessage("Invalid Policy: Invalid Condition operator %q.", op)
		}
		covered[name] = true
		return nil
	}
	return ErrInvalidArgument.withMessage("Invalid Policy: Invalid Condition.")
}

// contentLengthRange returns the content-length-range of a policy, if any.
func contentLengthRange(policyB64 string) (lo, hi int64, ok bool) {
	raw, _ := base64.StdEncoding.DecodeString(policyB64)
	var p postPolicy
	if json.Unmarshal(raw, &p) != nil {
		return 0, 0, false
	}
	for _, c := range p.Conditions {
		if l, isList := c.([]any); isList && len(l) == 3 {
			if op, _ := l[0].(string); strings.EqualFold(op, "content-length-range") {
				lo, e1 := toInt(l[1])
				hi, e2 := toInt(l[2])
				if e1 == nil && e2 == nil {
					return lo, hi, true
				}
			}
		}
	}
	return 0, 0, false
}

func toInt(v any) (int64, error) {
	switch v := v.(type) {
	case float64:
		return int64(v), nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("not a number: %v", v)
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postObject handles a browser-form upload and emits ObjectCreated:Post.
func (h *Handler) postObject(req *request) error {
	r := req.r
	r.Body = http.MaxBytesReader(req.w, r.Body, h.opts.MaxObjectSize+maxPostFields+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return ErrMalformedPOSTRequest
	}
	fields, file, err := readPostForm(mr)
	if err != nil {
		return err
	}
	a, aerr := h.checkPostPolicy(req.bucket, fields)
	if aerr != nil {
		return aerr
	}
	req.auth.Credential = a
	key := fields["key"]
	if key == "" {
		return ErrInvalidArgument.withMessage("Bucket POST must contain a field named 'key'.")
	}
	key = strings.ReplaceAll(key, "${filename}", file.FileName())
	req.key = key
	if err := h.checkKey(req, s3event.ObjectCreatedPost); err != nil {
		return err
	}
	opts := objstore.PutOptions{ContentType: fields["content-type"], Metadata: map[string]string{}}
	for k, v := range fields {
		if name, ok := strings.CutPrefix(k, "x-amz-meta-"); ok && name != "" {
			opts.Metadata[name] = v
		}
	}
	lo, hi, hasRange := contentLengthRange(fields["policy"])
	limit := h.opts.MaxObjectSize
	if hasRange && hi < limit {
		limit = hi
	}
	body := &checkedBody{r: file, limit: limit, wantLen: -1}
	info, err := h.store.PutObject(r.Context(), req.bucket, key, body, opts)
	if err != nil {
		if errors.Is(err, ErrEntityTooLarge) {
			return ErrEntityTooLarge.withMessage("Your proposed upload exceeds the maximum allowed size")
		}
		return err
	}
	if hasRange && info.Size < lo {
		_ = h.store.DeleteObject(r.Context(), req.bucket, key)
		return ErrEntityTooSmall.withMessage("Your proposed upload is smaller than the minimum allowed size")
	}
	if err := h.emit(req, s3event.ObjectCreatedPost, info); err != nil {
		return err
	}
	etag := quoteETag(info.ETag)
	loc := objectURL(r, req.bucket, key)
	req.w.Header().Set("ETag", etag)
	req.w.Header().Set("Location", loc)
	if redirect := fields["success_action_redirect"]; redirect != "" {
		if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			q := u.Query()
			q.Set("bucket", req.bucket)
			q.Set("key", key)
			q.Set("etag", etag)
			u.RawQuery = q.Encode()
			http.Redirect(req.w, r, u.String(), http.StatusSeeOther)
			return nil
		}
	}
	switch fields["success_action_status"] {
	case "200":
		req.w.WriteHeader(http.StatusOK)
	case "201":
		h.writeXML(req, http.StatusCreated, postResponse{Location: loc, Bucket: req.bucket, Key: key, ETag: etag})
	default:
		req.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}
