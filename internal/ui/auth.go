package ui

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"time"
)

func (h *Handler) setCookie(w http.ResponseWriter, ss *session) {
	// Secure needs https; on a loopback http:// origin the cookie is
	// HttpOnly and SameSite=Strict, and Host-checked.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure whenever the public URL is https
		Name: cookieName, Value: ss.id, Path: h.cfg.Prefix + "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure:  h.cfg.PublicURL != nil && h.cfg.PublicURL.Scheme == "https",
		Expires: ss.expires,
	})
}

// redeem signs in with a start-up token and sends the browser on to the
// page without the token in its address.
func (h *Handler) redeem(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !h.sessions.redeem(r.URL.Query().Get("token")) {
		h.log.WarnContext(r.Context(), "console sign-in link refused: used already, expired or unknown")
		http.Redirect(w, r, h.cfg.Prefix+"/#signin=link-used", http.StatusSeeOther) //nolint:gosec // a fixed path, not the request's
		return
	}
	ss := h.sessions.create("token")
	h.setCookie(w, ss)
	h.log.InfoContext(r.Context(), "console signed in with the start-up link")
	http.Redirect(w, r, h.cfg.Prefix+"/", http.StatusSeeOther) //nolint:gosec // a fixed path, not the request's
}

// sessionInfo is what the page learns about its session.
type sessionInfo struct {
	CSRF         string    `json:"csrf"`
	Expires      time.Time `json:"expires"`
	User         string    `json:"user"`
	UploadBucket string    `json:"uploadBucket"`
	ResultBucket string    `json:"resultBucket"`
}

func (h *Handler) info(ss *session) sessionInfo {
	return sessionInfo{CSRF: ss.csrf, Expires: ss.expires, User: ss.user, UploadBucket: h.cfg.UploadBucket, ResultBucket: h.cfg.ResultBucket}
}

func (h *Handler) session(w http.ResponseWriter, _ *http.Request, ss *session) {
	h.writeJSON(w, h.info(ss))
}

// signin checks an access key and secret against the endpoint's
// credentials. The secret is compared and forgotten.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.errorJSON(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
		return
	}
	if err := h.xorigin.Check(r); err != nil {
		h.errorJSON(w, http.StatusForbidden, "CrossOriginRequest", err.Error())
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		h.errorJSON(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send the key pair as application/json")
		return
	}
	var in struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&in); err != nil {
		h.errorJSON(w, http.StatusBadRequest, "MalformedRequest", "the body is not {\"accessKeyId\": ..., \"secretAccessKey\": ...}: "+err.Error())
		return
	}
	if h.cfg.CheckSecret == nil || !h.cfg.CheckSecret(in.AccessKeyID, in.SecretAccessKey) {
		wait := h.sessions.failed()
		h.log.WarnContext(r.Context(), "console sign-in refused", "access_key_id", in.AccessKeyID)
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
		h.errorJSON(w, http.StatusUnauthorized, "InvalidCredentials", "the access key id or the secret access key is wrong")
		return
	}
	ss := h.sessions.create(in.AccessKeyID)
	h.setCookie(w, ss)
	h.log.InfoContext(r.Context(), "console signed in", "access_key_id", in.AccessKeyID)
	h.writeJSON(w, h.info(ss))
}

func (h *Handler) signout(w http.ResponseWriter, _ *http.Request, ss *session) {
	h.sessions.end(ss)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: h.cfg.Prefix + "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode}) //nolint:gosec // removes the cookie
	w.WriteHeader(http.StatusNoContent)
}
