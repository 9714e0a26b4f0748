package onnx

import (
	"strings"
	"testing"
)

// shares builds a share vector for a scene set from class names.
func shares(t *testing.T, s *sceneSet, by map[string]float64) []float64 {
	t.Helper()
	out := make([]float64, len(s.Classes))
	for name, v := range by {
		id, ok := s.index[name]
		if !ok {
			t.Fatalf("no class %q", name)
		}
		out[id] = v
	}
	return out
}

func TestTaxonomyScene(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		set          string
		by           map[string]float64
		want, absent []string
	}{
		{"street", "cityscapes", map[string]float64{"road": 0.38, "sidewalk": 0.1, "building": 0.25, "sky": 0.15, "car": 0.05, "vegetation": 0.05, "pole": 0.02},
			[]string{"Road", "Building", "Sky", "Outdoors", "City", "Urban", "Street"}, []string{"Tree", "Grass", "Car", "Sidewalk", "Vegetation"}},
		{"park", "cityscapes", map[string]float64{"vegetation": 0.45, "terrain": 0.25, "sky": 0.2, "person": 0.05},
			[]string{"Vegetation", "Tree", "Grass", "Sky", "Outdoors", "Nature"}, []string{"City", "Street", "Road", "Person"}},
		{"indoor room read as a street", "cityscapes", map[string]float64{"building": 0.5, "wall": 0.35, "road": 0.06, "person": 0.06, "sky": 0.01},
			nil, []string{"Sky", "Outdoors", "City", "Street", "Road", "Person", "Building", "Wall"}},
		{"living room", "pascal", map[string]float64{"background": 0.6, "sofa": 0.25, "tvmonitor": 0.05, "person": 0.1},
			[]string{"Couch", "TV", "Person", "Indoors"}, []string{"Dog"}},
		{"dog on a lawn", "pascal", map[string]float64{"background": 0.7, "dog": 0.3},
			[]string{"Dog"}, []string{"Indoors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tax.scene(tc.set)
			got, err := s.supported(shares(t, s, tc.by))
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]sceneLabel{}
			for _, l := range got {
				byName[l.Name] = l
				if l.Ratio < 1 || l.Share <= 0 {
					t.Errorf("%+v: evidence under its threshold", l)
				}
			}
			for _, w := range tc.want {
				if _, ok := byName[w]; !ok {
					t.Errorf("no %s in %v", w, got)
				}
			}
			for _, n := range tc.absent {
				if _, ok := byName[n]; ok {
					t.Errorf("%s supported: %+v", n, byName[n])
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i].Ratio > got[i-1].Ratio {
					t.Errorf("not by decreasing ratio: %v", got)
				}
			}
		})
	}
	s := tax.scene("cityscapes")
	if _, err := s.supported(make([]float64, 3)); err == nil || !strings.Contains(err.Error(), "3 class shares for 19 classes") {
		t.Errorf("short share vector: %v", err)
	}
	// Sky is the strongest evidence at 40% of the image: ratio 20.
	got, _ := s.supported(shares(t, s, map[string]float64{"sky": 0.4}))
	if len(got) == 0 || got[0].Name != "Sky" || got[0].Share != 0.4 || got[0].Ratio != 20 {
		t.Errorf("sky alone: %+v", got)
	}
	if tax.scene("ade20k") != nil {
		t.Error("unknown scene set")
	}
}
