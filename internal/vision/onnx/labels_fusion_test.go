package onnx

import (
	"math"
	"slices"
	"testing"

	"github.com/imagerec/imagerec/internal/vision"
)

func testTaxonomy(t *testing.T) *taxonomy {
	t.Helper()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

func probsOf(t *testing.T, tax *taxonomy, by map[string]float32) []float32 {
	t.Helper()
	p := make([]float32, imagenetClasses)
	for name, v := range by {
		p[imagenetID(t, tax, name)] = v
	}
	return p
}

func TestClassifierEvidence(t *testing.T) {
	t.Parallel()
	tax := testTaxonomy(t)
	calib := classifierCalib{Top: 10, Floor: 0.01, Gamma: 1}
	tests := []struct {
		name  string
		probs map[string]float32
		want  map[string]float64 // label -> probability (Gamma 1)
	}{
		{"breeds add up for Dog", map[string]float32{"golden retriever": 0.3, "Labrador retriever": 0.25, "tabby, tabby cat": 0.1},
			map[string]float64{"Dog": 0.55, "Golden Retriever": 0.3, "Cat": 0.1, "Animal": 0.65, "Mammal": 0.65}},
		{"a scene class gives its labels and their ancestors", map[string]float32{"lakeside, lakeshore": 0.6},
			map[string]float64{"Lake": 0.6, "Water": 0.6, "Outdoors": 0.6, "Nature": 0.6}},
		{"classes under the floor do not count", map[string]float32{"tabby, tabby cat": 0.005},
			map[string]float64{"Cat": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := tax.classifierEvidence(probsOf(t, tax, tt.probs), calib)
			for label, want := range tt.want {
				if got := e[label]; math.Abs(got-want) > 1e-6 {
					t.Errorf("%s = %.4f, want %.4f (evidence %v)", label, got, want, e)
				}
			}
		})
	}
	// Gamma lifts: sqrt(0.25) = 0.5.
	e := tax.classifierEvidence(probsOf(t, tax, map[string]float32{"tabby, tabby cat": 0.25}), classifierCalib{Top: 10, Floor: 0.01, Gamma: 0.5})
	if math.Abs(e["Cat"]-0.5) > 1e-6 {
		t.Errorf("Cat with gamma 0.5 = %v, want 0.5", e["Cat"])
	}
}

func TestFuse(t *testing.T) {
	t.Parallel()
	tax := testTaxonomy(t)
	dog := vision.Label{Name: "Dog", Confidence: 60, Instances: []vision.Instance{{BoundingBox: vision.BoundingBox{Width: 0.5, Height: 0.5}, Confidence: 60}}}
	conf := func(ls []vision.Label, name string) float64 {
		i := slices.IndexFunc(ls, func(l vision.Label) bool { return l.Name == name })
		if i < 0 {
			return -1
		}
		return ls[i].Confidence
	}
	t.Run("two witnesses", func(t *testing.T) {
		t.Parallel()
		got := tax.fuse([]vision.Label{dog}, tax.labelsEvidence([]vision.Label{dog}), labelEvidence{"Dog": 0.5})
		if c := conf(got, "Dog"); math.Abs(c-80) > 0.01 {
			t.Errorf("Dog = %v, want 80 (1 - 0.4*0.5)", c)
		}
		if c := conf(got, "Animal"); c < 60 {
			t.Errorf("Animal = %v, want at least the detector's 60", c)
		}
		i := slices.IndexFunc(got, func(l vision.Label) bool { return l.Name == "Dog" })
		if len(got[i].Instances) != 1 {
			t.Errorf("Dog instances %v, want the detector's", got[i].Instances)
		}
	})
	t.Run("context", func(t *testing.T) {
		t.Parallel()
		got := tax.fuse(nil, labelEvidence{"Sky": 0.8})
		if c := conf(got, "Outdoors"); c < 70 {
			t.Errorf("Outdoors = %v from Sky 80, want >= 70", c)
		}
	})
	t.Run("indoors or outdoors", func(t *testing.T) {
		t.Parallel()
		got := tax.fuse(nil, labelEvidence{"Outdoors": 0.6, "Landscape": 0.6, "Indoors": 0.9})
		if conf(got, "Outdoors") >= 0 || conf(got, "Landscape") >= 0 {
			t.Errorf("Outdoors or its child Landscape kept beside a stronger Indoors: %v", got)
		}
		if conf(got, "Indoors") != 90 {
			t.Errorf("Indoors = %v, want 90", conf(got, "Indoors"))
		}
	})
}

func TestPeopleLabels(t *testing.T) {
	t.Parallel()
	face := func(conf float64, low, high int, gender string, width float64) vision.FaceDetail {
		return vision.FaceDetail{
			Confidence: conf, BoundingBox: vision.BoundingBox{Left: 0.4, Top: 0.2, Width: width, Height: width},
			AgeRange: &vision.AgeRange{Low: low, High: high}, Gender: &vision.GenderAttr{Value: gender, Confidence: 90},
		}
	}
	names := func(ls []vision.Label) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	tests := []struct {
		name  string
		faces []vision.FaceDetail
		want  []string
	}{
		{"a man's portrait", []vision.FaceDetail{face(99, 30, 40, "Male", 0.3)}, []string{"Adult", "Male", "Man", "Portrait"}},
		{"two girls", []vision.FaceDetail{face(95, 6, 9, "Female", 0.1), face(95, 8, 11, "Female", 0.1)}, []string{"Child", "Female", "Girl"}},
		{"a weak face outside any person counts for nothing", []vision.FaceDetail{face(70, 30, 40, "Male", 0.1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := peopleLabels(tt.faces, nil)
			if !slices.Equal(names(got), tt.want) {
				t.Errorf("labels %v, want %v", names(got), tt.want)
			}
			for _, l := range got {
				if l.Confidence <= 0 || l.Confidence > 100 {
					t.Errorf("%s confidence %v", l.Name, l.Confidence)
				}
			}
		})
	}
}

// TestVerify: the white horse that the detector scores Sheep 62, Cow 62
// and Horse 56 on one box, and that the PASCAL segmenter sees as a horse
// in its crop; distant boats the detector takes for birds.
func TestVerify(t *testing.T) {
	t.Parallel()
	tax := testTaxonomy(t)
	px := tax.pascalIndex()
	box := vision.BoundingBox{Left: 0.63, Top: 0.32, Width: 0.31, Height: 0.48}
	dogBox := vision.BoundingBox{Left: 0.1, Top: 0.62, Width: 0.2, Height: 0.21}
	inst := func(b vision.BoundingBox, c float64) vision.Instance {
		return vision.Instance{BoundingBox: b, Confidence: c}
	}
	shares := func(by map[string]float64) []float64 {
		s := make([]float64, len(px.label))
		for name, v := range by {
			s[px.id[name]] = v
		}
		return s
	}
	t.Run("horse, sheep and cow on one box", func(t *testing.T) {
		t.Parallel()
		objects := []vision.Label{
			{Name: "Dog", Confidence: 73, Instances: []vision.Instance{inst(dogBox, 73), inst(box, 48)}},
			{Name: "Sheep", Confidence: 62, Instances: []vision.Instance{inst(box, 62), inst(dogBox, 42)}},
			{Name: "Cow", Confidence: 62, Instances: []vision.Instance{inst(box, 62)}},
			{Name: "Horse", Confidence: 56, Instances: []vision.Instance{inst(box, 56)}},
		}
		ds := doubts(objects, px, nil, 0)
		if len(ds) == 0 {
			t.Fatal("no doubt found")
		}
		factor, added := settle(objects, ds[0], shares(map[string]float64{"Horse": 0.35}), px, tax)
		if len(added) != 0 {
			t.Errorf("added %v, the winner was named", added)
		}
		verified := map[instRef]bool{}
		ceiling := map[int]float64{}
		for _, r := range ds[0].refs {
			verified[r] = true
			ceiling[r.label] = math.Max(ceiling[r.label], 62)
		}
		got := demote(objects, factor, verified, ceiling)
		byName := map[string]vision.Label{}
		for _, l := range got {
			byName[l.Name] = l
		}
		if h, ok := byName["Horse"]; !ok || h.Confidence <= 56 {
			t.Errorf("Horse %+v, want raised above 56", byName["Horse"])
		}
		for _, n := range []string{"Sheep", "Cow"} {
			if l, ok := byName[n]; ok {
				t.Errorf("%s kept: %+v", n, l)
			}
		}
		if d, ok := byName["Dog"]; !ok || d.Confidence != 73 || len(d.Instances) != 1 {
			t.Errorf("Dog %+v, want its own instance only", byName["Dog"])
		}
	})
	t.Run("boats taken for birds", func(t *testing.T) {
		t.Parallel()
		objects := []vision.Label{{Name: "Bird", Confidence: 60, Instances: []vision.Instance{inst(box, 60), inst(dogBox, 45)}}}
		cls := labelEvidence{"Boat": 0.7}
		ds := doubts(objects, px, cls, 0.6)
		if len(ds) != 2 || !ds[0].contradicted || !ds[1].contradicted || ds[0].best != 60 {
			t.Fatalf("doubts %+v, want both birds, contradicted, the best first", ds)
		}
		factor, added := settle(objects, ds[0], shares(map[string]float64{"Boat": 0.4}), px, tax)
		if len(added) != 1 || added[0].Name != "Boat" || len(added[0].Instances) != 1 {
			t.Errorf("added %+v, want a Boat instance on the box", added)
		}
		got := demote(objects, factor, map[instRef]bool{{0, 0}: true}, map[int]float64{0: 60})
		if len(got) != 0 {
			t.Errorf("birds kept: %+v", got)
		}
	})
	t.Run("a sure detection the classifier agrees with is not checked", func(t *testing.T) {
		t.Parallel()
		objects := []vision.Label{{Name: "Cat", Confidence: 90, Instances: []vision.Instance{inst(box, 90)}}}
		if ds := doubts(objects, px, labelEvidence{"Cat": 0.8}, 0.8); len(ds) != 0 {
			t.Errorf("doubts %+v", ds)
		}
	})
}
