package devset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// testDeb builds a real .deb with dpkg-deb holding files (path -> bytes)
// and symlinks (path -> target), and returns its path and sha256.
func testDeb(t *testing.T, files map[string][]byte, links map[string]string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	root := filepath.Join(t.TempDir(), "pkg")
	control := "Package: devset-test\nVersion: 1.0-1\nArchitecture: all\nMaintainer: test <test@example.org>\nDescription: test\n"
	all := map[string][]byte{"DEBIAN/control": []byte(control)}
	for p, b := range files {
		all[p] = b
	}
	for p, b := range all {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	deb := root + ".deb"
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v: %s", err, out)
	}
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	return deb, sum(data)
}

// fakeApt serves deb as the package: it counts calls and can refuse the
// pinned version first.
type fakeApt struct {
	deb   string
	calls int
	gone  bool // the pinned version is no longer served
	fail  error
}

func (a *fakeApt) download(_ context.Context, p Package, dir string, latest bool) (string, error) {
	a.calls++
	if a.fail != nil {
		return "", a.fail
	}
	if a.gone && !latest {
		return "", ErrVersionGone
	}
	data, err := os.ReadFile(a.deb)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, p.Name+"_"+p.Version+"_all.deb")
	return out, os.WriteFile(out, data, 0o644)
}

var (
	photoA = []byte("\x89PNG photo a")
	photoB = []byte("\xff\xd8 photo b")
)

func fetchManifest(debSum string) *Manifest {
	photo := func(id, path, sha string) Photo {
		return Photo{ID: id, Source: Source{Package: "devset-test", Version: "1.0-1", Path: path, PackageSHA256: debSum},
			SHA256: sha, Size: 1, Width: 1, Height: 1, Licence: "CC0", Scene: "other", Split: SplitDev, Expected: []string{"Thing"}}
	}
	return &Manifest{
		Packages: []Package{{Name: "devset-test", Version: "1.0-1", Architecture: "all", SHA256: debSum, Size: 1}},
		Photos:   []Photo{photo("a", "usr/share/t/a.png", sum(photoA)), photo("b", "usr/share/t/b.jpg", sum(photoB))},
	}
}

func readPhoto(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetch(t *testing.T) {
	deb, debSum := testDeb(t, map[string][]byte{"usr/share/t/a.png": photoA, "usr/share/t/b.jpg": photoB, "usr/share/t/other": []byte("x")}, nil)
	m := fetchManifest(debSum)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	apt := &fakeApt{deb: deb}
	f := &Fetcher{Dir: dir, Download: apt.download}
	if got := len(m.Check(dir)); got != 2 {
		t.Fatalf("Check before fetching: %d problems, want 2", got)
	}
	st, err := f.Fetch(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if st.Extracted != 2 || st.Present != 0 || apt.calls != 1 {
		t.Errorf("first fetch: %+v, %d downloads", st, apt.calls)
	}
	if string(readPhoto(t, dir, "a.png")) != string(photoA) || string(readPhoto(t, dir, "b.jpg")) != string(photoB) {
		t.Error("extracted bytes differ")
	}
	if p := m.Check(dir); len(p) != 0 {
		t.Errorf("Check after fetching: %v", p)
	}
	// Idempotent: nothing downloaded the second time.
	st, err = f.Fetch(t.Context(), m)
	if err != nil || st.Present != 2 || st.Extracted != 0 || apt.calls != 1 {
		t.Errorf("second fetch: %+v, %v, %d downloads", st, err, apt.calls)
	}
	// A damaged photo is detected and fetched again.
	if err := os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := m.Check(dir); len(p) != 1 || p[0].Photo.ID != "b" || !errors.Is(p[0].Err, errChecksum) {
		t.Errorf("Check of a damaged photo: %v", p)
	}
	if st, err = f.Fetch(t.Context(), m); err != nil || st.Extracted != 1 || apt.calls != 2 {
		t.Errorf("repair: %+v, %v, %d downloads", st, err, apt.calls)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want the 2 photos only (no temporary files or debs)", len(entries))
	}
}

func TestFetchErrors(t *testing.T) {
	deb, debSum := testDeb(t, map[string][]byte{"usr/share/t/a.png": photoA, "usr/share/t/b.jpg": []byte("not b")},
		map[string]string{"usr/share/t/link.png": "a.png"})
	for _, tc := range []struct {
		name      string
		edit      func(*Manifest)
		apt       fakeApt
		errHas    string
		extracted int
	}{
		{name: "package checksum", edit: func(m *Manifest) { m.Packages[0].SHA256 = sumA }, errHas: "sha256 mismatch", extracted: 0},
		{name: "photo checksum", errHas: "photo b: usr/share/t/b.jpg: sha256 mismatch", extracted: 1},
		{name: "path not in package", edit: func(m *Manifest) { m.Photos[1].Source.Path = "usr/share/t/c.jpg" }, errHas: "not in", extracted: 1},
		{name: "symlink", edit: func(m *Manifest) { m.Photos[1].Source.Path = "usr/share/t/link.png" }, errHas: "not a regular file", extracted: 1},
		{name: "download fails", apt: fakeApt{fail: errors.New("no network")}, errHas: "package devset-test@1.0-1: no network", extracted: 0},
		// The pinned version is gone: the current one is taken (its sha256
		// differs) and the photos' own checksums still decide.
		{name: "version gone", edit: func(m *Manifest) { m.Packages[0].SHA256 = sumA }, apt: fakeApt{gone: true}, errHas: "photo b", extracted: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fetchManifest(debSum)
			if tc.edit != nil {
				tc.edit(m)
			}
			apt := tc.apt
			apt.deb = deb
			dir := t.TempDir()
			st, err := (&Fetcher{Dir: dir, Download: apt.download}).Fetch(t.Context(), m)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Fetch error %v, want one containing %q", err, tc.errHas)
			}
			if st.Extracted != tc.extracted {
				t.Errorf("extracted %d, want %d", st.Extracted, tc.extracted)
			}
			if _, err := os.Stat(filepath.Join(dir, "b.jpg")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("b.jpg written despite the error: %v", err)
			}
		})
	}
}

func TestFetchCancelled(t *testing.T) {
	deb, debSum := testDeb(t, map[string][]byte{"usr/share/t/a.png": photoA, "usr/share/t/b.jpg": photoB}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	apt := &fakeApt{deb: deb}
	_, err := (&Fetcher{Dir: t.TempDir(), Download: apt.download}).Fetch(ctx, fetchManifest(debSum))
	if !errors.Is(err, context.Canceled) || apt.calls != 0 {
		t.Errorf("Fetch on a cancelled context: %v after %d downloads", err, apt.calls)
	}
}
