package devset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Scene tags a photo may carry.
var Scenes = []string{"outdoor", "indoor", "people", "animal", "food", "text", "art", "other"}

// Splits: calibrate on dev, report check as well.
const (
	SplitDev   = "dev"
	SplitCheck = "check"
)

// Manifest is the committed description of the set.
type Manifest struct {
	Comment  string    `json:"comment,omitempty"`
	Packages []Package `json:"packages"`
	Photos   []Photo   `json:"photos"`
}

// Package is a Debian package pinned by version and the .deb's sha256.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
}

// Spec is the apt-get argument that names exactly this package version.
func (p Package) Spec() string { return p.Name + ":" + p.Architecture + "=" + p.Version }

// Photo is one labelled photo.
type Photo struct {
	ID         string   `json:"id"`
	Source     Source   `json:"source"`
	SHA256     string   `json:"sha256"`
	Size       int64    `json:"size"`
	Width      int      `json:"width"`
	Height     int      `json:"height"`
	Licence    string   `json:"licence"`
	Author     string   `json:"author,omitempty"`
	Scene      string   `json:"scene"`
	Split      string   `json:"split"`
	Expected   []string `json:"expected"`
	Acceptable []string `json:"acceptable"`
}

// Source says where a photo comes from: a path inside a pinned package.
type Source struct {
	Package       string `json:"package"`
	Version       string `json:"version"`
	Path          string `json:"path"`
	PackageSHA256 string `json:"package_sha256"`
}

// FileName is the photo's name in the fetched directory: its id and the
// extension of its source path.
func (p Photo) FileName() string { return p.ID + strings.ToLower(path.Ext(p.Source.Path)) }

// Path is the photo's file under dir.
func (p Photo) Path(dir string) string { return filepath.Join(dir, p.FileName()) }

var (
	idPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	hexPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	photoExts  = []string{".jpg", ".jpeg", ".png", ".webp"}
)

// Labels a photo lists must be few enough to mean "clearly right".
const maxExpected = 10

// Parse decodes and validates a manifest. Unknown fields are errors, so a
// misspelt key does not silently drop data.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid manifest: %w", err)
	}
	return &m, nil
}

// Load reads and parses the manifest at path.
func Load(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return Parse(data)
}

// Validate reports every problem at once.
func (m *Manifest) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	pkgs := map[string]Package{}
	for i, p := range m.Packages {
		switch {
		case p.Name == "" || p.Version == "" || p.Architecture == "":
			bad("package %d: name, version and architecture are required", i)
		case !hexPattern.MatchString(p.SHA256):
			bad("package %s: sha256 %q is not 64 lower-case hex digits", p.Name, p.SHA256)
		case p.Size <= 0:
			bad("package %s: size %d", p.Name, p.Size)
		}
		if _, dup := pkgs[p.Name]; dup {
			bad("package %s listed twice", p.Name)
		}
		pkgs[p.Name] = p
	}
	if len(m.Photos) == 0 {
		bad("no photos")
	}
	ids, files := map[string]bool{}, map[string]bool{}
	for i, ph := range m.Photos {
		name := ph.ID
		if !idPattern.MatchString(name) {
			bad("photo %d: id %q must be lower-case letters, digits and dashes", i, ph.ID)
			name = fmt.Sprintf("#%d", i)
		}
		if ids[ph.ID] {
			bad("photo %s: id listed twice", name)
		}
		ids[ph.ID] = true
		key := ph.Source.Package + "\x00" + ph.Source.Path
		if files[key] {
			bad("photo %s: %s %s is listed twice", name, ph.Source.Package, ph.Source.Path)
		}
		files[key] = true
		errs = append(errs, validatePhoto(name, ph, pkgs)...)
	}
	return errors.Join(errs...)
}

func validatePhoto(name string, ph Photo, pkgs map[string]Package) []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("photo %s: "+format, append([]any{name}, a...)...))
	}
	p, ok := pkgs[ph.Source.Package]
	switch {
	case !ok:
		bad("package %q is not in packages", ph.Source.Package)
	case ph.Source.Version != p.Version || ph.Source.PackageSHA256 != p.SHA256:
		bad("source %s@%s (%s) does not match package %s@%s (%s)",
			ph.Source.Package, ph.Source.Version, ph.Source.PackageSHA256, p.Name, p.Version, p.SHA256)
	}
	sp := ph.Source.Path
	if sp == "" || path.IsAbs(sp) || path.Clean(sp) != sp || strings.HasPrefix(sp, "../") || sp == ".." {
		bad("path %q must be a clean relative path inside the package", sp)
	}
	if !slices.Contains(photoExts, strings.ToLower(path.Ext(sp))) {
		bad("path %q is not a JPEG, PNG or WebP file", sp)
	}
	if !hexPattern.MatchString(ph.SHA256) {
		bad("sha256 %q is not 64 lower-case hex digits", ph.SHA256)
	}
	if ph.Size <= 0 || ph.Width <= 0 || ph.Height <= 0 {
		bad("size %d and dimensions %dx%d must be positive", ph.Size, ph.Width, ph.Height)
	}
	if strings.TrimSpace(ph.Licence) == "" {
		bad("licence is required")
	}
	if !slices.Contains(Scenes, ph.Scene) {
		bad("scene %q is not one of %v", ph.Scene, Scenes)
	}
	if ph.Split != SplitDev && ph.Split != SplitCheck {
		bad("split %q is not %q or %q", ph.Split, SplitDev, SplitCheck)
	}
	if n := len(ph.Expected); n == 0 || n > maxExpected {
		bad("%d expected labels, want 1 to %d", n, maxExpected)
	}
	seen := map[string]string{}
	for _, list := range []struct {
		name   string
		labels []string
	}{{"expected", ph.Expected}, {"acceptable", ph.Acceptable}} {
		for _, l := range list.labels {
			k := labelKey(l)
			switch {
			case k == "" || strings.TrimSpace(l) != l:
				bad("%s label %q is empty or padded", list.name, l)
			case seen[k] != "":
				bad("label %q is listed twice (%s and %s)", l, seen[k], list.name)
			}
			seen[k] = list.name
		}
	}
	return errs
}

// labelKey is how label names are compared: case and inner spacing do
// not matter ("Outer Space" = "outer  space").
func labelKey(name string) string { return strings.ToLower(strings.Join(strings.Fields(name), " ")) }

// Problem is a photo that is missing or wrong in a fetched directory.
type Problem struct {
	Photo Photo
	Err   error
}

// Check reports the photos under dir that are missing or whose bytes do
// not match their sha256. An empty result means the set is complete.
func (m *Manifest) Check(dir string) []Problem {
	var out []Problem
	for _, ph := range m.Photos {
		if err := checkFile(ph.Path(dir), ph.SHA256); err != nil {
			out = append(out, Problem{Photo: ph, Err: err})
		}
	}
	return out
}

// errChecksum marks a file whose bytes differ from the manifest.
var errChecksum = errors.New("sha256 mismatch")

func checkFile(path, want string) error {
	got, err := fileSHA256(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: %w: got %s, want %s", path, errChecksum, got, want)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
