package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/vision"
)

func names(ns []vision.NameOnly) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

func TestTaxonomyEmbeddedIsValid(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cocoNames {
		name := tax.objectName(c)
		if len(tax.labels[name].Categories) == 0 {
			t.Errorf("%q (%s) has no category", name, c)
		}
	}
	for name, e := range tax.labels {
		if len(e.Categories) != 1 {
			t.Errorf("label %q has %d categories, want 1 as in Rekognition's list", name, len(e.Categories))
		}
		if name != strings.TrimSpace(name) || name == "" {
			t.Errorf("label %q: stray spaces", name)
		}
	}
	if len(tax.imagenet) != imagenetClasses {
		t.Errorf("%d imagenet classes", len(tax.imagenet))
	}
}

// taxonomyDocs returns the embedded documents as generic JSON values, for
// tests that break one thing.
func taxonomyDocs(t *testing.T) (main, imagenet map[string]any) {
	t.Helper()
	if err := json.Unmarshal(taxonomyJSON, &main); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(taxonomyImageNetJSON, &imagenet); err != nil {
		t.Fatal(err)
	}
	return main, imagenet
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTaxonomyRejects breaks the embedded taxonomy one way at a time and
// checks the loader names the problem.
func TestTaxonomyRejects(t *testing.T) {
	t.Parallel()
	type docs = map[string]any
	sub := func(d docs, keys ...string) docs {
		for _, k := range keys {
			d = d[k].(docs)
		}
		return d
	}
	imagenetClass := func(in docs, i int) docs { return in["imagenet"].([]any)[i].(docs) }
	for _, tc := range []struct {
		name   string
		raw    func(main, in []byte) (m, i []byte) // byte-level breakage
		mutate func(main, in docs)
		want   string
	}{
		{name: "syntax", raw: func(m, i []byte) ([]byte, []byte) { return m[:len(m)/2], i }, want: "parse taxonomy document 1"},
		{name: "unknown field", mutate: func(m, _ docs) { sub(m, "labels")["Dog"].(docs)["parent"] = []any{"Pet"} }, want: `unknown field "parent"`},
		{name: "duplicate key", raw: func(m, i []byte) ([]byte, []byte) {
			return bytes.Replace(m, []byte(`"labels": {`), []byte(`"labels": {"Dog": {"categories": ["Animals and Pets"]}, `), 1), i
		}, want: `$.labels: key "Dog" is given twice`},
		{name: "unmapped coco class", mutate: func(m, _ docs) { delete(sub(m, "objects"), "zebra") }, want: `coco class "zebra" has no label`},
		{name: "unknown parent", mutate: func(m, _ docs) { sub(m, "labels")["Dog"].(docs)["parents"] = []any{"Wolfish"} }, want: `label "Dog": parent "Wolfish" is not declared`},
		{name: "cycle", mutate: func(m, _ docs) { sub(m, "labels")["Animal"].(docs)["parents"] = []any{"Dog"} }, want: "taxonomy cycle"},
		{name: "label in two documents", mutate: func(_, in docs) { in["labels"] = docs{"Dog": docs{"categories": []any{"Animals and Pets"}}} }, want: `label "Dog" is declared in more than one document`},
		{name: "section in two documents", mutate: func(m, in docs) { in["objects"] = m["objects"] }, want: `section "objects" is given in more than one document`},
		{name: "imagenet class missing", mutate: func(_, in docs) {
			cl := in["imagenet"].([]any)
			in["imagenet"] = append(cl[:500:500], cl[501:]...)
		}, want: "imagenet: 1000 classes, want 1001"},
		{name: "imagenet out of order", mutate: func(_, in docs) { imagenetClass(in, 7)["id"] = 8 }, want: "id 8 at position 7"},
		{name: "imagenet labels missing", mutate: func(_, in docs) { delete(imagenetClass(in, 282), "labels") }, want: `imagenet class 282 "tabby, tabby cat": no labels`},
		{name: "imagenet undeclared label", mutate: func(_, in docs) { imagenetClass(in, 282)["labels"] = []any{"Kitty"} }, want: `label "Kitty" is not declared`},
		{name: "scene undeclared label", mutate: func(m, _ docs) {
			sub(m, "scenes", "cityscapes")["classes"].([]any)[10].(docs)["labels"] = []any{"Heaven"}
		}, want: `scenes cityscapes class 10 "sky": label "Heaven" is not declared`},
		{name: "scene share out of range", mutate: func(m, _ docs) {
			sub(m, "scenes", "cityscapes")["classes"].([]any)[10].(docs)["minShare"] = 4
		}, want: "minShare 4 is not in (0, 1]"},
		{name: "scene rule unknown class", mutate: func(m, _ docs) {
			r := sub(m, "scenes", "cityscapes")["rules"].([]any)[0].(docs)["all"].([]any)[0].(docs)
			r["classes"] = []any{"forest"}
		}, want: `scenes cityscapes rule 1 clause 1: no class "forest"`},
		{name: "scene set missing", mutate: func(m, _ docs) { delete(sub(m, "scenes"), "pascal") }, want: `scenes: no "pascal" set`},
		{name: "scene class missing", mutate: func(m, _ docs) {
			s := sub(m, "scenes", "pascal")
			s["classes"] = s["classes"].([]any)[:20]
		}, want: "scenes pascal: want 21 classes"},
		{name: "species group undeclared", mutate: func(m, _ docs) { sub(m, "species", "bird", "groups")["Kite Bird"] = []any{"Kite"} }, want: `group label "Kite Bird" is not declared`},
		{name: "species group outside its kind", mutate: func(m, _ docs) { sub(m, "species", "bird", "groups")["Moth"] = []any{"Moth"} }, want: `group label "Moth" is not under "Bird"`},
		{name: "species phrase twice", mutate: func(m, _ docs) {
			g := sub(m, "species", "insect", "groups")
			g["Moth"] = append(g["Moth"].([]any), "skipper")
		}, want: `phrase "skipper" is in groups`},
		{name: "species kind missing", mutate: func(m, _ docs) { delete(sub(m, "species"), "insect") }, want: `species: no "insect" rules`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var m, in []byte
			if tc.raw != nil {
				m, in = tc.raw(taxonomyJSON, taxonomyImageNetJSON)
			} else {
				dm, di := taxonomyDocs(t)
				tc.mutate(dm, di)
				m, in = marshal(t, dm), marshal(t, di)
			}
			_, err := loadTaxonomy(m, in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	// The unbroken documents, marshalled the same way, load.
	dm, di := taxonomyDocs(t)
	if _, err := loadTaxonomy(marshal(t, dm), marshal(t, di)); err != nil {
		t.Errorf("round trip: %v", err)
	}
}

func TestTaxonomyExpand(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	in := []vision.Label{
		{Name: "Dog", Confidence: 90, Instances: []vision.Instance{{Confidence: 90}}},
		{Name: "Cat", Confidence: 60, Instances: []vision.Instance{{Confidence: 60}}},
		{Name: "Person", Confidence: 50},
		{Name: "Person", Confidence: 80},
	}
	got := tax.expand(in, 55, 0)
	byName := map[string]vision.Label{}
	var order []string
	for _, l := range got {
		byName[l.Name] = l
		order = append(order, l.Name)
	}
	wantOrder := []string{"Animal", "Canine", "Dog", "Mammal", "Pet", "Person", "Cat"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	dog := byName["Dog"]
	if diff := cmp.Diff([]string{"Animal", "Canine", "Mammal", "Pet"}, names(dog.Parents)); diff != "" {
		t.Errorf("Dog parents (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Animals and Pets"}, names(dog.Categories)); diff != "" {
		t.Errorf("Dog categories: %s", diff)
	}
	if byName["Mammal"].Confidence != 90 || len(byName["Mammal"].Instances) != 0 || byName["Mammal"].Instances == nil {
		t.Errorf("Mammal = %+v, want confidence 90 and empty instances", byName["Mammal"])
	}
	if p := byName["Person"]; p.Confidence != 80 || !cmp.Equal(names(p.Aliases), []string{"Human"}) || p.Parents == nil {
		t.Errorf("Person = %+v", p)
	}
	if got := tax.expand(in, 55, 3); len(got) != 3 || got[0].Name != "Animal" {
		t.Errorf("MaxLabels 3 gave %v", got)
	}
	if got := tax.expand(nil, 55, 0); got == nil || len(got) != 0 {
		t.Errorf("no input gave %#v, want empty non-nil", got)
	}
}

func TestTaxonomyImpliedLabels(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	got := tax.expand([]vision.Label{{Name: "Face", Confidence: 99}, {Name: "Drawing", Confidence: 70}}, 55, 0)
	var ns []string
	for _, l := range got {
		ns = append(ns, l.Name)
	}
	if s := strings.Join(ns, ","); s != "Face,Head,Person,Art,Drawing" {
		t.Errorf("labels = %s", s)
	}
}

func TestImpliedLabels(t *testing.T) {
	t.Parallel()
	person := vision.Label{Name: "Person", Confidence: 40, Instances: []vision.Instance{
		{BoundingBox: vision.BoundingBox{Left: 0.1, Top: 0.1, Width: 0.3, Height: 0.8}},
	}}
	weakInPerson := vision.FaceDetail{Confidence: 70, BoundingBox: vision.BoundingBox{Left: 0.2, Top: 0.15, Width: 0.1, Height: 0.1}}
	weakAlone := vision.FaceDetail{Confidence: 75, BoundingBox: vision.BoundingBox{Left: 0.7, Top: 0.5, Width: 0.1, Height: 0.1}}
	strong := vision.FaceDetail{Confidence: 97, BoundingBox: vision.BoundingBox{Left: 0.7, Top: 0.5, Width: 0.1, Height: 0.1}}
	line := vision.TextDetection{Type: vision.TextLine, Confidence: 91}
	word := vision.TextDetection{Type: vision.TextWord, Confidence: 99}
	for _, tc := range []struct {
		name    string
		objects []vision.Label
		faces   []vision.FaceDetail
		texts   []vision.TextDetection
		scores  *nsfwScores
		want    string
	}{
		{"nothing", nil, nil, nil, nil, ""},
		{"weak face alone", nil, []vision.FaceDetail{weakAlone}, nil, nil, ""},
		{"weak face in a person", []vision.Label{person}, []vision.FaceDetail{weakInPerson, weakAlone}, nil, nil, "Face:70"},
		{"strong face", nil, []vision.FaceDetail{weakAlone, strong}, nil, nil, "Face:97"},
		{"text lines only", nil, nil, []vision.TextDetection{word, line}, nil, "Text:91"},
		{"drawing", nil, nil, nil, &nsfwScores{Drawing: 0.9, Neutral: 0.1}, "Drawing:90"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range impliedLabels(tc.objects, tc.faces, tc.texts, tc.scores) {
				got = append(got, fmt.Sprintf("%s:%g", l.Name, l.Confidence))
			}
			if s := strings.Join(got, ","); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

// imagenetID is the output id of an ImageNet class line (the first, for
// the two "crane" lines).
func imagenetID(t *testing.T, tax *taxonomy, class string) int {
	t.Helper()
	for i, c := range tax.imagenet {
		if c.Class == class {
			return i
		}
	}
	t.Fatalf("no imagenet class %q", class)
	return -1
}

// expandNames expands labels at confidence 90 and returns the names.
func expandNames(tax *taxonomy, labels []string) (map[string]vision.Label, []string) {
	var in []vision.Label
	for _, n := range labels {
		in = append(in, vision.Label{Name: n, Confidence: 90})
	}
	byName := map[string]vision.Label{}
	var ns []string
	for _, l := range tax.expand(in, 55, 0) {
		byName[l.Name] = l
		ns = append(ns, l.Name)
	}
	return byName, ns
}

func TestTaxonomyImageNet(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		class   string
		label   string   // the first direct label
		parents []string // among its Parents
		also    []string // other labels the class gives, with ancestors
	}{
		{"tabby, tabby cat", "Cat", []string{"Animal", "Mammal", "Pet"}, nil},
		{"tiger cat", "Cat", []string{"Animal", "Mammal", "Pet"}, nil},
		{"Persian cat", "Persian Cat", []string{"Cat", "Animal", "Mammal", "Pet"}, nil},
		{"golden retriever", "Golden Retriever", []string{"Dog", "Canine", "Mammal", "Pet", "Animal"}, nil},
		{"Chihuahua", "Chihuahua", []string{"Dog"}, nil},
		{"toy poodle", "Toy Poodle", []string{"Poodle", "Dog"}, nil},
		{"lakeside, lakeshore", "Lake", []string{"Water", "Nature", "Outdoors"}, []string{"Shoreline"}},
		{"alp", "Mountain", []string{"Nature", "Outdoors"}, nil},
		{"seashore, coast, seacoast, sea-coast", "Beach", []string{"Coast", "Sea", "Water", "Outdoors", "Nature"}, []string{"Sand"}},
		{"valley, vale", "Valley", []string{"Nature", "Outdoors"}, nil},
		{"volcano", "Volcano", []string{"Mountain", "Nature", "Outdoors"}, nil},
		{"cliff, drop, drop-off", "Cliff", []string{"Nature", "Outdoors"}, nil},
		{"coral reef", "Coral Reef", []string{"Reef", "Sea", "Outdoors", "Nature"}, []string{"Underwater"}},
		{"espresso", "Espresso", []string{"Coffee", "Beverage"}, []string{"Coffee Cup", "Cup"}},
		{"Granny Smith", "Apple", []string{"Fruit", "Food"}, nil},
		{"monarch, monarch butterfly, milkweed butterfly, Danaus plexippus", "Monarch", []string{"Butterfly", "Insect", "Animal"}, nil},
		{"daisy", "Daisy", []string{"Flower", "Plant"}, nil},
		{"church, church building", "Church", []string{"Building", "Architecture"}, nil},
		{"library", "Library", []string{"Room", "Indoors"}, []string{"Book"}},
		{"restaurant, eating house, eating place, eatery", "Restaurant", nil, []string{"Indoors"}},
		{"home theater, home theatre", "Home Theater", []string{"Indoors"}, nil},
		{"shoe shop, shoe-shop, shoe store", "Shoe Shop", []string{"Shop"}, []string{"Indoors", "Shoe", "Footwear", "Clothing"}},
		{"jersey, T-shirt, tee shirt", "T-Shirt", []string{"Clothing"}, nil},
		{"suit, suit of clothes", "Suit", []string{"Clothing", "Formal Wear"}, nil},
		{"jean, blue jean, denim", "Jeans", []string{"Pants", "Clothing"}, nil},
		{"miniskirt, mini", "Miniskirt", []string{"Skirt", "Clothing"}, nil},
		{"sports car, sport car", "Sports Car", []string{"Car", "Vehicle", "Transportation"}, nil},
		{"space shuttle", "Space Shuttle", []string{"Rocket", "Aircraft", "Vehicle"}, nil},
		{"missile", "Rocket", nil, []string{"Missile", "Weapon"}},
		{"flagpole, flagstaff", "Flag", []string{"Symbol"}, nil},
		{"comic book", "Comics", []string{"Book"}, nil},
		{"jigsaw puzzle", "Jigsaw Puzzle", []string{"Game"}, nil},
		{"pot, flowerpot", "Potted Plant", []string{"Plant"}, nil},
		{"studio couch, day bed", "Couch", []string{"Furniture"}, nil},
		{"fox squirrel, eastern fox squirrel, Sciurus niger", "Squirrel", []string{"Rodent", "Mammal"}, nil},
		{"sorrel", "Horse", []string{"Mammal", "Animal"}, nil},
		{"web site, website, internet site, site", "Text", nil, []string{"Webpage"}},
	} {
		t.Run(tc.class, func(t *testing.T) {
			labels := tax.imagenetLabels(imagenetID(t, tax, tc.class))
			if len(labels) == 0 || labels[0] != tc.label {
				t.Fatalf("labels %v, want %s first", labels, tc.label)
			}
			byName, ns := expandNames(tax, labels)
			if missing := missingFrom(names(byName[tc.label].Parents), tc.parents); len(missing) > 0 {
				t.Errorf("%s parents %v lack %v", tc.label, names(byName[tc.label].Parents), missing)
			}
			if missing := missingFrom(ns, tc.also); len(missing) > 0 {
				t.Errorf("labels %v lack %v", ns, missing)
			}
		})
	}
	if got := tax.imagenetLabels(0); len(got) != 0 {
		t.Errorf("background gave %v", got)
	}
	for _, id := range []int{-1, imagenetClasses} {
		if got := tax.imagenetLabels(id); got != nil {
			t.Errorf("id %d gave %v", id, got)
		}
	}
	// The two "crane" lines are the bird and the machine.
	var cranes []string
	for i, c := range tax.imagenet {
		if c.Class == "crane" {
			cranes = append(cranes, tax.imagenetLabels(i)...)
		}
	}
	if s := strings.Join(cranes, ","); s != "Crane Bird,Construction Crane" {
		t.Errorf("crane classes gave %s", s)
	}
}

// TestTaxonomyConsistentNames checks that the models name the same things
// alike: COCO classes and the ImageNet classes for the same objects give
// the same labels.
func TestTaxonomyConsistentNames(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	for coco, class := range map[string]string{
		"potted plant": "pot, flowerpot", "dining table": "dining table, board", "cell phone": "cellular telephone, cellular phone, cellphone, cell, mobile phone",
		"keyboard": "computer keyboard, keypad", "laptop": "laptop, laptop computer", "tv": "television, television system",
		"refrigerator": "refrigerator, icebox", "teddy bear": "teddy, teddy bear", "hair drier": "hand blower, blow dryer, blow drier, hair dryer, hair drier",
		"banana": "banana", "orange": "orange", "broccoli": "broccoli", "pizza": "pizza, pizza pie", "hot dog": "hotdog, hot dog, red hot",
		"traffic light": "traffic light, traffic signal, stoplight", "umbrella": "umbrella", "backpack": "backpack, back pack, knapsack, packsack, rucksack, haversack",
		"tie": "Windsor tie", "vase": "vase", "toaster": "toaster", "cup": "cup", "couch": "studio couch, day bed", "mouse": "mouse, computer mouse",
		"remote": "remote control, remote", "microwave": "microwave, microwave oven", "sink": "washbasin, handbasin, washbowl, lavabo, wash-hand basin",
	} {
		got := tax.imagenetLabels(imagenetID(t, tax, class))
		if len(got) == 0 || got[0] != tax.objectName(coco) {
			t.Errorf("COCO %q is %q, ImageNet %q gives %v", coco, tax.objectName(coco), class, got)
		}
	}
}

func missingFrom(have, want []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}
