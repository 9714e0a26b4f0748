package devset

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sumB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// validManifest is a small manifest that passes Validate.
func validManifest() Manifest {
	return Manifest{
		Packages: []Package{{Name: "pkg", Version: "1.0-1", Architecture: "all", SHA256: sumA, Size: 10}},
		Photos: []Photo{{
			ID:     "beach",
			Source: Source{Package: "pkg", Version: "1.0-1", Path: "usr/share/pkg/beach.jpg", PackageSHA256: sumA},
			SHA256: sumB, Size: 5, Width: 4, Height: 3, Licence: "CC0", Scene: "outdoor", Split: SplitDev,
			Expected: []string{"Beach", "Sea"}, Acceptable: []string{"Sand"},
		}},
	}
}

func TestParseValid(t *testing.T) {
	data, err := json.Marshal(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Photos[0].FileName(); got != "beach.jpg" {
		t.Errorf("FileName = %q", got)
	}
	if got := m.Packages[0].Spec(); got != "pkg:all=1.0-1" {
		t.Errorf("Spec = %q", got)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Manifest)
		raw    string // used instead of edit when set
		errHas string
	}{
		{name: "not JSON", raw: "{", errHas: "parse manifest"},
		{name: "unknown field", raw: `{"packages":[],"photos":[],"extra":1}`, errHas: "unknown field"},
		{name: "trailing data", raw: `{"packages":[],"photos":[]} {}`, errHas: "trailing data"},
		{name: "no photos", edit: func(m *Manifest) { m.Photos = nil }, errHas: "no photos"},
		{name: "bad package sha", edit: func(m *Manifest) { m.Packages[0].SHA256 = "ABC" }, errHas: "package pkg: sha256"},
		{name: "package twice", edit: func(m *Manifest) { m.Packages = append(m.Packages, m.Packages[0]) }, errHas: "listed twice"},
		{name: "bad id", edit: func(m *Manifest) { m.Photos[0].ID = "../x" }, errHas: "id \"../x\""},
		{name: "id twice", edit: func(m *Manifest) {
			p := m.Photos[0]
			p.Source.Path = "usr/b.jpg"
			m.Photos = append(m.Photos, p)
		}, errHas: "id listed twice"},
		{name: "unknown package", edit: func(m *Manifest) { m.Photos[0].Source.Package = "other" }, errHas: "not in packages"},
		{name: "version mismatch", edit: func(m *Manifest) { m.Photos[0].Source.Version = "2.0" }, errHas: "does not match package"},
		{name: "absolute path", edit: func(m *Manifest) { m.Photos[0].Source.Path = "/etc/passwd.jpg" }, errHas: "clean relative path"},
		{name: "escaping path", edit: func(m *Manifest) { m.Photos[0].Source.Path = "../x.jpg" }, errHas: "clean relative path"},
		{name: "not a photo", edit: func(m *Manifest) { m.Photos[0].Source.Path = "usr/x.txt" }, errHas: "not a JPEG"},
		{name: "bad photo sha", edit: func(m *Manifest) { m.Photos[0].SHA256 = "" }, errHas: "photo beach: sha256"},
		{name: "no size", edit: func(m *Manifest) { m.Photos[0].Width = 0 }, errHas: "dimensions"},
		{name: "no licence", edit: func(m *Manifest) { m.Photos[0].Licence = " " }, errHas: "licence is required"},
		{name: "bad scene", edit: func(m *Manifest) { m.Photos[0].Scene = "beach" }, errHas: "scene \"beach\""},
		{name: "bad split", edit: func(m *Manifest) { m.Photos[0].Split = "train" }, errHas: "split \"train\""},
		{name: "no expected", edit: func(m *Manifest) { m.Photos[0].Expected = nil }, errHas: "0 expected labels"},
		{name: "padded label", edit: func(m *Manifest) { m.Photos[0].Expected[0] = " Beach" }, errHas: "empty or padded"},
		{name: "label in both lists", edit: func(m *Manifest) { m.Photos[0].Acceptable = []string{"sea"} }, errHas: "listed twice (expected and acceptable)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.raw == "" {
				m := validManifest()
				tc.edit(&m)
				var err error
				if data, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Parse(data)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	m := validManifest()
	m.Photos[0].Scene = "beach"
	m.Photos[0].Split = "train"
	err := m.Validate()
	if err == nil || !strings.Contains(err.Error(), "scene") || !strings.Contains(err.Error(), "split") {
		t.Fatalf("Validate = %v, want both the scene and the split reported", err)
	}
}

// TestCommittedManifest checks the manifest in testdata/devset: it parses,
// has enough photos in every scene, and about 30 % of them are held apart.
func TestCommittedManifest(t *testing.T) {
	m, err := Load("../../../testdata/devset/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Photos) < 100 {
		t.Errorf("%d photos, want at least 100", len(m.Photos))
	}
	scenes, check := map[string]int{}, 0
	for _, p := range m.Photos {
		scenes[p.Scene]++
		if p.Split == SplitCheck {
			check++
		}
		if n := len(p.Expected); n < 3 || n > 8 {
			t.Errorf("photo %s: %d expected labels, want 3 to 8", p.ID, n)
		}
	}
	for _, s := range Scenes {
		if scenes[s] < 5 {
			t.Errorf("scene %s: %d photos, want at least 5", s, scenes[s])
		}
	}
	if share := float64(check) / float64(len(m.Photos)); share < 0.25 || share > 0.35 {
		t.Errorf("check split holds %.0f %% of the photos, want about 30 %%", 100*share)
	}
}

func FuzzParse(f *testing.F) {
	data, err := json.Marshal(validManifest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses is valid and round-trips.
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest is invalid: %v", err)
		}
		for _, p := range m.Photos {
			if strings.ContainsAny(p.FileName(), "/\\") {
				t.Fatalf("file name %q leaves the directory", p.FileName())
			}
		}
	})
}
