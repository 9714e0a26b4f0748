package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/gallery"
	"github.com/imagerec/imagerec/internal/thumbnail"
	"github.com/imagerec/imagerec/internal/ui"
	"github.com/imagerec/imagerec/web"
)

// Small fakes of the console's collaborators; the real wiring is tested
// end to end in cmd/imagerec (TestConsole*).

type fakeExecs struct{}

func (fakeExecs) ListExecutions(context.Context) ([]ui.Execution, error) {
	return []ui.Execution{
		{ARN: "arn:2", Name: "two", Status: "FAILED", StartDate: time.Unix(20, 0), Key: "b.png"},
		{ARN: "arn:1", Name: "one", Status: "SUCCEEDED", StartDate: time.Unix(10, 0), Key: "a.jpg"},
	}, nil
}

func (fakeExecs) Describe(_ context.Context, name string) (ui.Execution, error) {
	if !strings.HasPrefix(name, "a.jpg-") {
		return ui.Execution{}, fmt.Errorf("execution %q: %w", name, ui.ErrNotFound)
	}
	return ui.Execution{ARN: "arn:1", Name: name, Status: "SUCCEEDED", Key: "a.jpg", Input: json.RawMessage(`{"Source":{}}`)}, nil
}

func (fakeExecs) History(_ context.Context, name string) ([]ui.Event, error) {
	return []ui.Event{{ID: 1, Type: "ExecutionStarted", Details: json.RawMessage(`{"input":"{}"}`)}}, nil
}

type fakeObjects struct {
	mu   sync.Mutex
	objs map[string]string
}

func (f *fakeObjects) Open(_ context.Context, bucket, key string) (io.ReadCloser, ui.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objs[bucket+"/"+key]
	if !ok {
		return nil, ui.ObjectInfo{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, ui.ErrNotFound)
	}
	return io.NopCloser(strings.NewReader(b)), ui.ObjectInfo{Size: int64(len(b)), ETag: "e1"}, nil
}

func (f *fakeObjects) Exists(_ context.Context, bucket, key string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.objs[bucket+"/"+key]
	return ok, nil
}

type fakeRenditions struct{ path string }

func (f fakeRenditions) Get(_ context.Context, _, key, etag string, size thumbnail.Size) (thumbnail.Rendition, error) {
	if key == "missing.jpg" {
		return thumbnail.Rendition{}, fmt.Errorf("open: %w", thumbnail.ErrNotFound)
	}
	return thumbnail.Rendition{Path: f.path, Version: "v1"}, nil
}

type fakeUploads struct{}

func (fakeUploads) PresignPut(_ context.Context, host, key, typ string) (string, error) {
	return "http://" + host + "/up/" + url.PathEscape(key) + "?X-Amz-Signature=sig&type=" + url.QueryEscape(typ), nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	h     *ui.Handler
	srv   *httptest.Server
	clock *clock
	idx   *gallery.Index
	objs  *fakeObjects
}

func newEnv(t *testing.T, mod func(*ui.Config)) *env {
	t.Helper()
	idx := gallery.New()
	for _, d := range []struct{ doc, body string }{
		{"a.jpg.json", `{"Labels":[{"Name":"Dog","Confidence":90}],"FaceDetails":[{}],"Source":{"Bucket":"up","Key":"a.jpg","ETag":"v1"}}`},
		{"b.png.error.json", `{"Source":{"Bucket":"up","Key":"b.png"},"Error":"InvalidImageFormatException","Message":"not an image"}`},
	} {
		it, err := gallery.Summarize(d.doc, time.Unix(int64(len(d.doc)), 0), []byte(d.body))
		if err != nil {
			t.Fatal(err)
		}
		idx.Put(it)
	}
	thumb := filepath.Join(t.TempDir(), "t.jpg")
	if err := os.WriteFile(thumb, []byte("\xff\xd8\xff fake jpeg"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	objs := &fakeObjects{objs: map[string]string{"res/a.jpg.json": `{"Labels":[]}`, "up/a.jpg": "JPEG", "up/taken.jpg": "x", "up/taken (2).jpg": "x"}}
	cfg := ui.Config{
		PublicURL:    &url.URL{Scheme: "https", Host: "imagerec.example.org"},
		CheckSecret:  func(k, s string) bool { return k == "AK" && s == "right-secret" },
		Executions:   fakeExecs{},
		Gallery:      idx,
		Objects:      objs,
		Renditions:   fakeRenditions{path: thumb},
		Uploads:      fakeUploads{},
		UploadBucket: "up", ResultBucket: "res",
		KeyCheck: func(k string) error {
			if len(k) > 20 {
				return fmt.Errorf("key of %d bytes is too long", len(k))
			}
			return nil
		},
		StateMachine: json.RawMessage(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`),
		Static:       web.Static(),
		Now:          c.now,
	}
	if mod != nil {
		mod(&cfg)
	}
	h := ui.New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/_imagerec/healthz", h.Guard(h.Health()))
	mux.Handle("/_imagerec/", http.StripPrefix("/_imagerec", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return &env{t: t, h: h, srv: srv, clock: c, idx: idx, objs: objs}
}

// client is a browser-like client: a cookie jar, no redirects followed.
func (e *env) client() *http.Client {
	jar := &jar{}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// jar keeps cookies without the public suffix rules (127.0.0.1).
type jar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = c
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(c *http.Client, method, path, body string, hdr map[string]string) reply {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// signIn signs in with the form and returns the client and CSRF token.
func (e *env) signIn() (*http.Client, string) {
	e.t.Helper()
	c := e.client()
	r := e.do(c, "POST", "/_imagerec/api/signin", `{"accessKeyId":"AK","secretAccessKey":"right-secret"}`, map[string]string{"Content-Type": "application/json"})
	if r.status != 200 {
		e.t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	var info struct{ CSRF string }
	if err := json.Unmarshal([]byte(r.body), &info); err != nil || info.CSRF == "" {
		e.t.Fatalf("sign in: %s", r.body)
	}
	return c, info.CSRF
}

// apiCalls is every API call the page makes.
var apiCalls = []struct{ method, path string }{
	{"GET", "session"}, {"POST", "signout"}, {"GET", "results"}, {"GET", "result?key=a.jpg"},
	{"GET", "thumb?key=a.jpg&v=v1"}, {"GET", "preview?key=a.jpg&v=v1"}, {"GET", "original?key=a.jpg"},
	{"POST", "uploads"}, {"GET", "executions"}, {"GET", "execution?name=a.jpg-1"}, {"GET", "statemachine"},
	{"GET", "health"}, {"GET", "events"}, {"GET", "nonexistent"},
}

func TestEveryAPICallNeedsASession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.client()
	for _, call := range apiCalls {
		for _, cookie := range []string{"", "imagerec_session=forged"} {
			r := e.do(c, call.method, "/_imagerec/api/"+call.path, "{}", map[string]string{"Cookie": cookie})
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "SignInRequired") {
				t.Errorf("%s %s with cookie %q: %d %s", call.method, call.path, cookie, r.status, r.body)
			}
		}
	}
	// The page itself is served (it holds no data).
	if r := e.do(c, "GET", "/_imagerec/", "", nil); r.status != 200 || !strings.Contains(r.body, "<title>imagerec</title>") {
		t.Errorf("index: %d %.200s", r.status, r.body)
	}
}

func TestStartToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.h.NewStartToken()
	c := e.client()
	r := e.do(c, "GET", "/_imagerec/?token="+tok, "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/_imagerec/" {
		t.Fatalf("token: %d %v", r.status, r.header)
	}
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"imagerec_session=", "Path=/_imagerec/", "HttpOnly", "SameSite=Strict", "Secure"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	if r := e.do(c, "GET", "/_imagerec/api/session", "", nil); r.status != 200 || !strings.Contains(r.body, `"csrf"`) {
		t.Errorf("session after token: %d %s", r.status, r.body)
	}
	// Single use: a second browser gets the sign-in form.
	c2 := e.client()
	r = e.do(c2, "GET", "/_imagerec/?token="+tok, "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/_imagerec/#signin=link-used" || r.header.Get("Set-Cookie") != "" {
		t.Errorf("reused token: %d %v", r.status, r.header)
	}
	// Expired.
	tok2 := e.h.NewStartToken()
	e.clock.add(ui.DefaultTokenTTL + time.Second)
	if r := e.do(c2, "GET", "/_imagerec/?token="+tok2, "", nil); r.header.Get("Set-Cookie") != "" {
		t.Errorf("expired token signed in: %v", r.header)
	}
	// Sessions expire too.
	e.clock.add(ui.DefaultSessionTTL)
	if r := e.do(c, "GET", "/_imagerec/api/session", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("expired session: %d", r.status)
	}
}

func TestSignInForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	json := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name   string
		method string
		body   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"wrong secret", "POST", `{"accessKeyId":"AK","secretAccessKey":"guess"}`, json, 401, "InvalidCredentials"},
		{"unknown key", "POST", `{"accessKeyId":"BK","secretAccessKey":"right-secret"}`, json, 401, "InvalidCredentials"},
		{"form encoded", "POST", `accessKeyId=AK`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "UnsupportedMediaType"},
		{"not JSON", "POST", `{`, json, 400, "MalformedRequest"},
		{"cross-site", "POST", `{"accessKeyId":"AK","secretAccessKey":"right-secret"}`, map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "CrossOriginRequest"},
		{"foreign origin", "POST", `{"accessKeyId":"AK","secretAccessKey":"right-secret"}`, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403, "CrossOriginRequest"},
		{"GET", "GET", ``, nil, 405, "MethodNotAllowed"},
		{"right pair", "POST", `{"accessKeyId":"AK","secretAccessKey":"right-secret"}`, json, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(e.client(), tc.method, "/_imagerec/api/signin", tc.body, tc.hdr)
			if r.status != tc.status || !strings.Contains(r.body, tc.code) {
				t.Errorf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if (r.header.Get("Set-Cookie") != "") != (tc.status == 200) {
				t.Errorf("Set-Cookie = %q", r.header.Get("Set-Cookie"))
			}
			if strings.Contains(r.body, "right-secret") {
				t.Error("the secret is echoed")
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, csrf := e.signIn()
	body := `{"name":"new.jpg","type":"image/jpeg","size":4}`
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"no token", nil, 403, "InvalidCSRFToken"},
		{"wrong token", map[string]string{"X-CSRF-Token": "x" + csrf}, 403, "InvalidCSRFToken"},
		{"token but cross-site", map[string]string{"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}, 403, "CrossOriginRequest"},
		{"token", map[string]string{"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-origin"}, 200, `"key":"new.jpg"`},
	}
	for _, tc := range tests {
		r := e.do(c, "POST", "/_imagerec/api/uploads", body, tc.hdr)
		if r.status != tc.status || !strings.Contains(r.body, tc.code) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	// Sign out ends the session.
	if r := e.do(c, "POST", "/_imagerec/api/signout", "", map[string]string{"X-CSRF-Token": csrf}); r.status != 204 {
		t.Fatalf("sign out: %d %s", r.status, r.body)
	}
	if r := e.do(c, "GET", "/_imagerec/api/session", "", nil); r.status != 401 {
		t.Errorf("after sign out: %d", r.status)
	}
}

func TestHostCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, _ := e.signIn()
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:9000", true}, {"localhost:9000", true}, {"LOCALHOST.", true}, {"app.localhost:1", true},
		{"[::1]:9000", true}, {"127.9.9.9", true}, {"imagerec.example.org", true}, {"ImageRec.Example.Org:443", true},
		{"evil.example:9000", false}, {"imagerec.example.org.evil.example", false}, {"localhost.evil.example", false},
		{"10.0.0.5:9000", false}, {"[::]:9000", false}, {"0.0.0.0:9000", false}, {"127.0.0.1:9000@evil", false}, {"127.0.0.1:x", false},
	}
	for _, tc := range tests {
		for _, path := range []string{"/_imagerec/", "/_imagerec/api/session", "/_imagerec/healthz"} {
			r := e.do(c, "GET", path, "", map[string]string{"Host": tc.host})
			if refused := r.status == http.StatusMisdirectedRequest; refused == tc.ok {
				t.Errorf("Host %q %s: %d %.80s", tc.host, path, r.status, r.body)
			}
		}
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	for _, open := range []bool{false, true} {
		e := newEnv(t, func(c *ui.Config) { c.PublicMetrics = open })
		mux := http.NewServeMux()
		mux.Handle("/healthz", e.h.Guard(e.h.Health()))
		for remote, want := range map[string]int{"127.0.0.1:5000": 200, "[::1]:5000": 200, "192.0.2.7:5000": map[bool]int{false: 403, true: 200}[open]} {
			req := httptest.NewRequest("GET", "http://127.0.0.1:9000/healthz", nil)
			req.RemoteAddr = remote
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != want {
				t.Errorf("public metrics %v, client %s: %d, want %d", open, remote, w.Code, want)
			}
		}
	}
}

func TestResultsAndDetail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, _ := e.signIn()
	get := func(path string, want int) string {
		t.Helper()
		r := e.do(c, "GET", "/_imagerec/api/"+path, "", nil)
		if r.status != want {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return r.body
	}
	var p struct {
		Items []gallery.Item
		Total int
		Next  string
	}
	if err := json.Unmarshal([]byte(get("results?limit=1", 200)), &p); err != nil {
		t.Fatal(err)
	}
	if p.Total != 2 || len(p.Items) != 1 || p.Items[0].Key != "b.png" || !p.Items[0].Failed || p.Next == "" {
		t.Errorf("first page: %+v", p)
	}
	next := p.Next
	p.Items, p.Next = nil, ""
	if err := json.Unmarshal([]byte(get("results?cursor="+next, 200)), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Key != "a.jpg" || p.Next != "" {
		t.Errorf("second page: %+v", p)
	}
	if s := get("results?q=dog&faces=1", 200); !strings.Contains(s, `"total":1`) {
		t.Errorf("search: %s", s)
	}
	if s := get("results?failed=1", 200); !strings.Contains(s, `"key":"b.png"`) || strings.Contains(s, `"key":"a.jpg"`) {
		t.Errorf("failed filter: %s", s)
	}
	get("results?cursor=!!", 400)
	get("results?limit=0", 400)
	if s := get("result?key=a.jpg", 200); !strings.Contains(s, `"document":{"Labels":[]}`) {
		t.Errorf("detail: %s", s)
	}
	get("result?key=nope.jpg", 404)
	get("result?key=b.png", 404) // its error document is not in the fake store
	// A rendition for the current version is immutable; asked again
	// with its ETag it is a 304.
	r := e.do(c, "GET", "/_imagerec/api/thumb?key=a.jpg&v=v1", "", nil)
	if r.status != 200 || r.header.Get("Cache-Control") != "private, max-age=31536000, immutable" || r.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("thumb: %d %v", r.status, r.header)
	}
	if r2 := e.do(c, "GET", "/_imagerec/api/thumb?key=a.jpg&v=v1", "", map[string]string{"If-None-Match": r.header.Get("ETag")}); r2.status != 304 {
		t.Errorf("thumb revalidation: %d", r2.status)
	}
	if r := e.do(c, "GET", "/_imagerec/api/preview?key=a.jpg&v=old", "", nil); r.header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("stale version cached: %v", r.header)
	}
	get("thumb?key=b.png", 404) // failed: no preview
	r = e.do(c, "GET", "/_imagerec/api/original?key=a.jpg", "", nil)
	if r.status != 200 || r.body != "JPEG" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("original: %d %v %q", r.status, r.header, r.body)
	}
}

func TestUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, csrf := e.signIn()
	hdr := map[string]string{"X-CSRF-Token": csrf, "Host": "localhost:9000"}
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"fresh name", `{"name":"cat.jpg","type":"image/jpeg"}`, 200, `"key":"cat.jpg","bucket":"up","url":"/up/cat.jpg?X-Amz-Signature=sig\u0026type=image%2Fjpeg","headers":{"Content-Type":"image/jpeg"}`},
		{"taken twice", `{"name":"taken.jpg","type":""}`, 200, `"key":"taken (3).jpg"`},
		{"path stripped", `{"name":"C:\\photos\\../x.png","type":"image/png"}`, 200, `"key":"x.png"`},
		{"own prefix", `{"name":"_imagerec.jpg"}`, 200, `"key":"__imagerec.jpg"`},
		{"too long for a document", `{"name":"a-very-long-name-indeed.jpg"}`, 400, "too long"},
		{"no name", `{"name":"  "}`, 400, "no name"},
		{"header injection", `{"name":"a.jpg","type":"image/jpeg\r\nX: y"}`, 400, "InvalidContentType"},
		{"not JSON", `name=a.jpg`, 400, "MalformedRequest"},
	}
	for _, tc := range tests {
		r := e.do(c, "POST", "/_imagerec/api/uploads", tc.body, hdr)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
}

func TestExecutionsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, _ := e.signIn()
	r := e.do(c, "GET", "/_imagerec/api/executions?status=FAILED", "", nil)
	if r.status != 200 || !strings.Contains(r.body, `"name":"two"`) || strings.Contains(r.body, `"name":"one"`) || !strings.Contains(r.body, `"counts":{"FAILED":1,"SUCCEEDED":1}`) {
		t.Errorf("failed executions: %d %s", r.status, r.body)
	}
	e.h.PublishExecution(ui.Execution{ARN: "arn:3", Name: "three", Status: "RUNNING", StartDate: time.Unix(30, 0)})
	r = e.do(c, "GET", "/_imagerec/api/executions?limit=1", "", nil)
	if !strings.Contains(r.body, `"name":"three"`) || !strings.Contains(r.body, `"next":1`) || !strings.Contains(r.body, `"total":3`) {
		t.Errorf("after a new execution: %s", r.body)
	}
	e.h.PublishExecution(ui.Execution{ARN: "arn:3", Name: "three", Status: "SUCCEEDED", StartDate: time.Unix(30, 0)})
	if r = e.do(c, "GET", "/_imagerec/api/executions?status=RUNNING", "", nil); !strings.Contains(r.body, `"total":0`) {
		t.Errorf("finished execution still running: %s", r.body)
	}
	for path, want := range map[string]int{"executions?status=BOGUS": 400, "executions?offset=-1": 400, "execution?name=nope": 404, "execution": 400} {
		if r := e.do(c, "GET", "/_imagerec/api/"+path, "", nil); r.status != want {
			t.Errorf("%s: %d, want %d", path, r.status, want)
		}
	}
	it, _ := e.idx.Get("a.jpg")
	r = e.do(c, "GET", "/_imagerec/api/execution?name="+it.Execution, "", nil)
	if r.status != 200 || !strings.Contains(r.body, `"events":[{"id":1,"previousEventId":0,"type":"ExecutionStarted"`) || !strings.Contains(r.body, `"item":{"key":"a.jpg"`) {
		t.Errorf("execution: %d %s", r.status, r.body)
	}
	if r = e.do(c, "GET", "/_imagerec/api/statemachine", "", nil); !strings.Contains(r.body, `"StartAt":"A"`) {
		t.Errorf("statemachine: %s", r.body)
	}
}

// TestEvents reads the event stream as the page does: published documents
// and executions arrive; Close ends the stream.
func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, _ := e.signIn()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/_imagerec/api/events", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	next := func() (string, string) {
		t.Helper()
		var ev, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev != "":
				return ev, data
			}
		}
		return "", ""
	}
	if ev, _ := next(); ev != "hello" {
		t.Fatalf("first event %q", ev)
	}
	it, _ := gallery.Summarize("new.jpg.json", time.Unix(99, 0), []byte(`{"Labels":[{"Name":"Cat","Confidence":80}]}`))
	e.idx.Put(it)
	e.h.PublishDocument(it)
	if ev, data := next(); ev != "document" || !strings.Contains(data, `"key":"new.jpg"`) || !strings.Contains(data, `"Cat"`) {
		t.Errorf("document event: %s %s", ev, data)
	}
	e.h.PublishExecution(ui.Execution{ARN: "arn:9", Name: "nine", Status: "RUNNING", Key: "new.jpg"})
	if ev, data := next(); ev != "execution" || !strings.Contains(data, `"name":"nine"`) {
		t.Errorf("execution event: %s %s", ev, data)
	}
	e.h.PublishState("nine", 2, "TaskStateEntered", "InspectImage", time.Unix(100, 0))
	if ev, data := next(); ev != "state" || !strings.Contains(data, `"state":"InspectImage"`) {
		t.Errorf("state event: %s %s", ev, data)
	}
	e.h.Close()
	for sc.Scan() {
	}
	if err := sc.Err(); err != nil {
		t.Errorf("stream after Close: %v", err)
	}
}

func TestStatusAndHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     func(context.Context) ui.Status
		wantHealth string
		wantAPI    string
	}{
		{name: "no status source", wantHealth: "ok\n", wantAPI: `"degraded":false,"problems":[]`},
		{name: "healthy", status: func(context.Context) ui.Status { return ui.Status{Reconciled: 2} },
			wantHealth: "ok\n", wantAPI: `"reconciled":2`},
		{name: "degraded", status: func(context.Context) ui.Status {
			return ui.Status{Degraded: true, QuarantinedExecutions: 1, Problems: []string{"queue lost 6 messages", "1 execution file in quarantine"}}
		}, wantHealth: "degraded\nqueue lost 6 messages\n1 execution file in quarantine\n", wantAPI: `"quarantinedExecutions":1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *ui.Config) { c.Status = tc.status; c.QueueDepth = func() int { return 3 } })
			c, _ := e.signIn()
			e.h.PublishUpload("up", "x.jpg", "e")
			if r := e.do(c, "GET", "/_imagerec/healthz", "", nil); r.body != tc.wantHealth {
				t.Errorf("healthz = %q, want %q", r.body, tc.wantHealth)
			}
			r := e.do(c, "GET", "/_imagerec/api/health", "", nil)
			for _, want := range []string{tc.wantAPI, `"queueDepth":3`, `"uploadsPerMinute":1`, `"results":2`} {
				if !strings.Contains(r.body, want) {
					t.Errorf("health = %s, want %s", r.body, want)
				}
			}
		})
	}
}

func TestStaticRevalidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.client()
	r := e.do(c, "GET", "/_imagerec/app.js", "", nil)
	if r.status != 200 || r.header.Get("ETag") == "" || r.header.Get("Cache-Control") != "no-cache" || !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("app.js: %d %v", r.status, r.header)
	}
	if r2 := e.do(c, "GET", "/_imagerec/app.js", "", map[string]string{"If-None-Match": r.header.Get("ETag")}); r2.status != 304 {
		t.Errorf("revalidation: %d", r2.status)
	}
	if r := e.do(c, "POST", "/_imagerec/", "", nil); r.status != 405 {
		t.Errorf("POST to the page: %d", r.status)
	}
	_ = bytes.MinRead
}
