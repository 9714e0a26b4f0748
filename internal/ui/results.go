package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/imagerec/imagerec/internal/gallery"
	"github.com/imagerec/imagerec/internal/thumbnail"
	"github.com/imagerec/imagerec/internal/vision"
)

// resultsPage is the gallery API's answer.
type resultsPage struct {
	gallery.Page
	// Indexing is set while the gallery is still being loaded at start.
	Indexing bool `json:"indexing"`
}

func flag(q url.Values, name string) bool {
	v := q.Get(name)
	return v == "1" || v == "true"
}

// results answers a page of the gallery: ?q=label words&faces=1&text=1
// &moderation=1&failed=1&cursor=…&limit=N.
func (h *Handler) results(w http.ResponseWriter, r *http.Request, _ *session) {
	q := r.URL.Query()
	after, err := gallery.ParseCursor(q.Get("cursor"))
	if err != nil {
		h.errorJSON(w, http.StatusBadRequest, "InvalidCursor", "cursor: "+err.Error())
		return
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > gallery.MaxLimit {
			h.errorJSON(w, http.StatusBadRequest, "InvalidLimit", fmt.Sprintf("limit must be 1-%d", gallery.MaxLimit))
			return
		}
	}
	p := h.cfg.Gallery.Query(gallery.Query{
		Text: q.Get("q"), Faces: flag(q, "faces"), HasText: flag(q, "text"), Moderation: flag(q, "moderation"), Failed: flag(q, "failed"),
		After: after, Limit: limit,
	})
	h.writeJSON(w, resultsPage{Page: p, Indexing: h.cfg.Indexing != nil && h.cfg.Indexing()})
}

// item finds the gallery item of ?key=.
func (h *Handler) item(w http.ResponseWriter, r *http.Request) (gallery.Item, bool) {
	key := r.URL.Query().Get("key")
	it, ok := h.cfg.Gallery.Get(key)
	if !ok {
		h.errorJSON(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no result for %q", key))
		return gallery.Item{}, false
	}
	if it.Bucket == "" {
		it.Bucket = h.cfg.UploadBucket
	}
	return it, true
}

// resultDetail is the detail view's data.
type resultDetail struct {
	Item gallery.Item `json:"item"`
	// Document is the result or error document as stored.
	Document json.RawMessage `json:"document"`
}

// maxDocument bounds a document read for the detail view.
const maxDocument = 32 << 20

func (h *Handler) result(w http.ResponseWriter, r *http.Request, _ *session) {
	it, ok := h.item(w, r)
	if !ok {
		return
	}
	body, _, err := h.cfg.Objects.Open(r.Context(), h.cfg.ResultBucket, it.Document)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer body.Close()
	doc, err := io.ReadAll(io.LimitReader(body, maxDocument))
	if err != nil {
		h.fail(w, r, fmt.Errorf("read s3://%s/%s: %w", h.cfg.ResultBucket, it.Document, err))
		return
	}
	if !json.Valid(doc) {
		h.errorJSON(w, http.StatusUnprocessableEntity, "InvalidDocument", fmt.Sprintf("s3://%s/%s is not JSON", h.cfg.ResultBucket, it.Document))
		return
	}
	h.writeJSON(w, resultDetail{Item: it, Document: doc})
}

// rendition serves a thumbnail or preview: ?key=K&v=ETag. With the
// object's current ETag the response is immutable (cached for a year);
// the browser fetches each version once.
func (h *Handler) rendition(size thumbnail.Size) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, _ *session) {
		it, ok := h.item(w, r)
		if !ok {
			return
		}
		if it.Failed {
			h.errorJSON(w, http.StatusNotFound, "NotFound", "the image failed: it has no preview")
			return
		}
		v := r.URL.Query().Get("v")
		rd, err := h.cfg.Renditions.Get(r.Context(), it.Bucket, it.Key, v, size)
		if vision.CodeOf(err) != "" {
			h.errorJSON(w, http.StatusUnprocessableEntity, vision.CodeOf(err), err.Error())
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f, err := os.Open(rd.Path)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			h.fail(w, r, err)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", "image/jpeg")
		hd.Set("ETag", `"`+size.Name+"-"+rd.Version+`"`)
		if v != "" && v == rd.Version {
			hd.Set("Cache-Control", "private, max-age=31536000, immutable")
		} else {
			hd.Set("Cache-Control", "private, no-cache")
		}
		http.ServeContent(w, r, "", fi.ModTime(), f)
	}
}

// original downloads the uploaded object itself, as an attachment (the
// console shares its origin with the endpoint: nothing uploaded is ever
// rendered inline).
func (h *Handler) original(w http.ResponseWriter, r *http.Request, _ *session) {
	it, ok := h.item(w, r)
	if !ok {
		return
	}
	body, info, err := h.cfg.Objects.Open(r.Context(), it.Bucket, it.Key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer body.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(path.Base(it.Key)))
	hd.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	hd.Set("Cache-Control", "private, no-cache")
	if info.ETag != "" {
		hd.Set("ETag", `"`+info.ETag+`"`)
	}
	_, _ = io.Copy(w, body)
}

// uploadRequest is the page's request for an upload URL.
type uploadRequest struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

// uploadGrant tells the page where to PUT the file.
type uploadGrant struct {
	Key    string            `json:"key"`
	Bucket string            `json:"bucket"`
	URL    string            `json:"url"`
	Header map[string]string `json:"headers"`
}

// uploadKey makes an upload's key from a file name: its base name, control
// characters replaced, never one of imagerec's own prefixes.
func uploadKey(name string) (string, error) {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	if !utf8.ValidString(name) {
		return "", errors.New("the file name is not valid UTF-8")
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if name == "" || name == "/" || name == "." || name == ".." {
		return "", errors.New("the file has no name")
	}
	if strings.HasPrefix(name, "_imagerec") {
		name = "_" + name
	}
	return name, nil
}

// uniqueKey returns key, or "name (n).ext" when key exists already, so an
// upload from the page never replaces another image.
func (h *Handler) uniqueKey(r *http.Request, key string) (string, error) {
	ext := path.Ext(key)
	stem := strings.TrimSuffix(key, ext)
	for n := 1; n <= 100; n++ {
		k := key
		if n > 1 {
			k = fmt.Sprintf("%s (%d)%s", stem, n, ext)
		}
		exists, err := h.cfg.Objects.Exists(r.Context(), h.cfg.UploadBucket, k)
		if err != nil {
			return "", err
		}
		if !exists {
			return k, nil
		}
	}
	return "", fmt.Errorf("%d files named like %q exist already", 100, key)
}

// uploads grants one upload: the server picks the key (the file's name,
// made unique) and presigns a PUT of it for the host the browser uses.
func (h *Handler) uploads(w http.ResponseWriter, r *http.Request, _ *session) {
	var in uploadRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&in); err != nil {
		h.errorJSON(w, http.StatusBadRequest, "MalformedRequest", "the body is not {\"name\", \"type\", \"size\"}: "+err.Error())
		return
	}
	key, err := uploadKey(in.Name)
	if err == nil && h.cfg.KeyCheck != nil {
		err = h.cfg.KeyCheck(key)
	}
	if err != nil {
		h.errorJSON(w, http.StatusBadRequest, "InvalidFileName", err.Error())
		return
	}
	if strings.ContainsAny(in.Type, "\r\n") || len(in.Type) > 200 {
		h.errorJSON(w, http.StatusBadRequest, "InvalidContentType", "the content type is not a media type")
		return
	}
	if key, err = h.uniqueKey(r, key); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.cfg.Uploads.PresignPut(r.Context(), r.Host, key, in.Type)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Relative: the browser sends it to the origin it is on, the host the
	// URL is signed for.
	pu, err := url.Parse(u)
	if err != nil {
		h.fail(w, r, fmt.Errorf("presigned URL: %w", err))
		return
	}
	g := uploadGrant{Key: key, Bucket: h.cfg.UploadBucket, URL: pu.RequestURI(), Header: map[string]string{}}
	if in.Type != "" {
		g.Header["Content-Type"] = in.Type
	}
	h.writeJSON(w, g)
}
