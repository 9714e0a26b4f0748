package devset

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func scorePhotos() []Photo {
	return []Photo{
		{ID: "beach", Scene: "outdoor", Split: SplitDev, Expected: []string{"Beach", "Sea", "Sky", "Outdoors"}, Acceptable: []string{"Sand", "Water"}},
		{ID: "dog", Scene: "animal", Split: SplitCheck, Expected: []string{"Dog", "Animal"}, Acceptable: []string{"Pet"}},
	}
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		returned map[string][]string
		k        int
		overall  Score
		beach    PhotoScore
	}{
		{
			name:     "case, spacing and duplicates",
			returned: map[string][]string{"beach": {"beach", "Water", "OUTDOORS", "Beach", "Boat"}, "dog": {"Dog", "Animal", "Pet"}},
			k:        10,
			overall:  Score{Photos: 2, Expected: 6, Found: 4, Returned: 7, Correct: 6},
			beach: PhotoScore{ID: "beach", Scene: "outdoor", Split: SplitDev,
				Score:  Score{Photos: 1, Expected: 4, Found: 2, Returned: 4, Correct: 3},
				Labels: []string{"beach", "Water", "OUTDOORS", "Boat"}, Missing: []string{"Sea", "Sky"}, Unexpected: []string{"Boat"}},
		},
		{
			name:     "only the first k count",
			returned: map[string][]string{"beach": {"Boat", "Person", "Beach", "Sea"}, "dog": {}},
			k:        2,
			overall:  Score{Photos: 2, Expected: 6, Found: 0, Returned: 2, Correct: 0},
			beach: PhotoScore{ID: "beach", Scene: "outdoor", Split: SplitDev,
				Score:  Score{Photos: 1, Expected: 4, Returned: 2},
				Labels: []string{"Boat", "Person"}, Missing: []string{"Beach", "Sea", "Sky", "Outdoors"}, Unexpected: []string{"Boat", "Person"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Evaluate(scorePhotos(), tc.returned, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.overall, r.Overall); diff != "" {
				t.Errorf("overall (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.beach, r.Photos[0]); diff != "" {
				t.Errorf("beach (-want +got):\n%s", diff)
			}
			if got := r.Scenes["outdoor"]; got != r.Photos[0].Score {
				t.Errorf("outdoor scene %+v, want the beach's %+v", got, r.Photos[0].Score)
			}
			if got := r.Splits[SplitCheck]; got != r.Photos[1].Score {
				t.Errorf("check split %+v, want the dog's %+v", got, r.Photos[1].Score)
			}
		})
	}
}

func TestEvaluateRates(t *testing.T) {
	r, err := Evaluate(scorePhotos(), map[string][]string{"beach": {"Beach", "Boat"}, "dog": {"Dog", "Animal"}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Overall.Recall(), 3.0/6; got != want {
		t.Errorf("recall %v, want %v", got, want)
	}
	if got, want := r.Overall.Precision(), 3.0/4; got != want {
		t.Errorf("precision %v, want %v", got, want)
	}
	if got := (Score{}).Precision(); got != 0 {
		t.Errorf("precision of nothing returned = %v, want 0", got)
	}
	var sum, lines strings.Builder
	r.WriteSummary(&sum)
	r.WritePhotos(&lines)
	for _, want := range []string{"overall      2 photos  recall@10 0.500 (3/6)  precision 0.750 (3/4)", "check", "outdoor"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	if !strings.Contains(lines.String(), "missing [Sea, Sky, Outdoors]  unexpected [Boat]") {
		t.Errorf("per-photo lines:\n%s", lines.String())
	}
}

func TestEvaluateBadInput(t *testing.T) {
	for _, tc := range []struct {
		name     string
		returned map[string][]string
		k        int
		errHas   string
	}{
		{"photo without labels", map[string][]string{"beach": {}}, 10, "photo dog: no labels recorded"},
		{"unknown photo", map[string][]string{"beach": {}, "dog": {}, "cat": {"Cat"}}, 10, `unknown photo "cat"`},
		{"k zero", map[string][]string{"beach": {}, "dog": {}}, 0, "k = 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(scorePhotos(), tc.returned, tc.k)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}

func TestFloor(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f, err := LoadFloor(write("ok.json", `{"k": 10, "recall": 0.5, "precision": 0.7}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Evaluate(scorePhotos(), map[string][]string{"beach": {"Beach", "Boat"}, "dog": {"Dog", "Animal"}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckFloor(f); err != nil {
		t.Errorf("recall 0.5 / precision 0.75 against floor 0.5 / 0.7: %v", err)
	}
	f.Precision = 0.8
	if err := r.CheckFloor(f); !errors.Is(err, ErrBelowFloor) || !strings.Contains(err.Error(), "precision 0.750") {
		t.Errorf("CheckFloor = %v, want precision below the floor", err)
	}
	f.K = 5
	if err := r.CheckFloor(f); err == nil {
		t.Error("floor for another k accepted")
	}
	for name, body := range map[string]string{"bad.json": "{", "range.json": `{"k": 10, "recall": 2}`, "nok.json": `{"recall": 0.1}`} {
		if _, err := LoadFloor(write(name, body)); err == nil {
			t.Errorf("LoadFloor(%s) accepted %s", name, body)
		}
	}
	if _, err := LoadFloor(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing floor: %v", err)
	}
}
