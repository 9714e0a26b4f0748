package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/citest"
)

func TestTaxonomySpecies(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind, line string
		label      string
		parents    []string // all of them
	}{
		{"bird", "Cyanocitta cristata (Blue Jay)", "Blue Jay", []string{"Animal", "Bird", "Jay"}},
		{"bird", "Aphelocoma californica (California Scrub-Jay)", "California Scrub-Jay", []string{"Animal", "Bird", "Jay"}},
		{"bird", "Haemorhous cassinii (Cassin's Finch)", "Cassin's Finch", []string{"Animal", "Bird", "Finch"}},
		{"bird", "Bubo virginianus (Great Horned Owl)", "Great Horned Owl", []string{"Animal", "Bird", "Owl"}},
		{"bird", "Megascops asio (Eastern Screech-Owl)", "Eastern Screech-Owl", []string{"Animal", "Bird", "Owl"}},
		{"bird", "Ardea herodias (Great Blue Heron)", "Great Blue Heron", []string{"Animal", "Bird", "Heron"}},
		{"bird", "Calidris alba (Sanderling)", "Sanderling", []string{"Animal", "Bird", "Sandpiper"}},
		{"bird", "Aramus guarauna (Limpkin)", "Limpkin", []string{"Animal", "Bird"}},
		// A declared label keeps its hierarchy.
		{"bird", "Haliaeetus leucocephalus (Bald Eagle)", "Bald Eagle", []string{"Animal", "Bird", "Eagle"}},
		{"bird", "Anas platyrhynchos (Mallard)", "Mallard", []string{"Animal", "Bird", "Duck"}},
		// A qualifier in the name is dropped; a hybrid names its group.
		{"bird", "Circus cyaneus hudsonius (Northern Harrier (American))", "Northern Harrier", []string{"Animal", "Bird", "Hawk"}},
		{"bird", `Anas superciliosa \xd7 platyrhynchos (Pacific Black Duck \xd7 Mallard hybrid)`, "Duck", []string{"Animal", "Bird"}},
		{"insect", "Danaus plexippus (Monarch)", "Monarch", []string{"Animal", "Butterfly", "Insect", "Invertebrate"}},
		{"insect", "Vanessa cardui (Painted Lady)", "Painted Lady", []string{"Animal", "Butterfly", "Insect", "Invertebrate"}},
		{"insect", "Apis mellifera (Honey Bee)", "Honey Bee", []string{"Animal", "Bee", "Insect", "Invertebrate"}},
		{"insect", "Bombus impatiens (Common Eastern Bumble Bee)", "Common Eastern Bumble Bee", []string{"Animal", "Bee", "Insect", "Invertebrate"}},
		{"insect", "Coccinella septempunctata (Seven-spotted Lady Beetle)", "Seven-spotted Lady Beetle", []string{"Animal", "Beetle", "Insect", "Invertebrate", "Ladybug"}},
		{"insect", "Dasymutilla occidentalis (Red Velvet Ant)", "Red Velvet Ant", []string{"Animal", "Insect", "Invertebrate", "Wasp"}},
		{"insect", "Cercyonis pegala (Common Wood Nymph)", "Common Wood Nymph", []string{"Animal", "Butterfly", "Insect", "Invertebrate"}},
		{"insect", "Eudryas grata (Beautiful Wood-nymph)", "Beautiful Wood-nymph", []string{"Animal", "Insect", "Invertebrate", "Moth"}},
		{"insect", "Orthetrum sabina (Green Marsh Hawk)", "Green Marsh Hawk", []string{"Animal", "Dragonfly", "Insect", "Invertebrate"}},
		{"insect", "Halyomorpha halys (Brown Marmorated Stink Bug)", "Brown Marmorated Stink Bug", []string{"Animal", "Insect", "Invertebrate"}},
		{"insect", `Diaethria anna (Anna\u2019s Eighty-eight)`, "Anna's Eighty-eight", []string{"Animal", "Butterfly", "Insect", "Invertebrate"}},
		{"insect", "Lycaena phlaeas hypophlaeas (American Copper ssp. hypophlaeas)", "American Copper", []string{"Animal", "Butterfly", "Insect", "Invertebrate"}},
		// No common name: the genus's group; a name the taxonomy uses for
		// something else (a machine): the group.
		{"insect", "Syntomoides imaon ()", "Moth", []string{"Animal", "Insect", "Invertebrate"}},
		{"insect", "Scantius aegyptius ()", "Insect", []string{"Animal", "Invertebrate"}},
		{"insect", "Feniseca tarquinius (Harvester)", "Butterfly", []string{"Animal", "Insect", "Invertebrate"}},
		{"bird", "background", "", nil},
		{"insect", "", "", nil},
		{"fish", "Cyanocitta cristata (Blue Jay)", "", nil},
	} {
		t.Run(tc.kind+" "+tc.line, func(t *testing.T) {
			label, parents := tax.species(tc.kind, tc.line)
			if label != tc.label {
				t.Errorf("label %q, want %q", label, tc.label)
			}
			if diff := cmp.Diff(tc.parents, parents); diff != "" {
				t.Errorf("parents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTaxonomyAddSpecies(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	got, err := tax.addSpecies("bird", []string{"Cyanocitta cristata (Blue Jay)", "Haliaeetus leucocephalus (Bald Eagle)", "background"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Blue Jay", "Bald Eagle", ""}, got); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	byName, _ := expandNames(tax, []string{"Blue Jay"})
	jay := byName["Blue Jay"]
	if diff := cmp.Diff([]string{"Animal", "Bird", "Jay"}, names(jay.Parents)); diff != "" {
		t.Errorf("Blue Jay parents (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Animals and Pets"}, names(jay.Categories)); diff != "" {
		t.Errorf("Blue Jay categories (-want +got):\n%s", diff)
	}
	if _, ok := byName["Jay"]; !ok {
		t.Error("no Jay label")
	}
	// The same common name with another hierarchy, and a line of another
	// form, are errors that name the line.
	_, err = tax.addSpecies("insect", []string{"Cyanocitta cristata (Blue Jay)", "not a species"})
	for _, want := range []string{`insect line 1: "Blue Jay" has parents`, `insect line 2 "not a species": not a species line`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
	if _, err := tax.addSpecies("fish", nil); err == nil {
		t.Error("unknown kind accepted")
	}
}

// coralLabels reads a label file from the coral mirror: $IMAGEREC_MODEL_MIRROR,
// else ../shared/models/coral beside the repository. It skips when the
// mirror is missing, and fails under CI.
func coralLabels(t *testing.T, name string) []string {
	t.Helper()
	dir := os.Getenv("IMAGEREC_MODEL_MIRROR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "models", "coral")
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		citest.Skipf(t, "coral mirror: %v (set IMAGEREC_MODEL_MIRROR)", err)
	}
	return labelLines(data)
}

// TestTaxonomyLabelFiles checks the taxonomy against the models' own label
// files: every ImageNet and segmentation class is mapped at its output id,
// and every iNaturalist line gives a species label under Bird or Insect.
func TestTaxonomyLabelFiles(t *testing.T) {
	t.Parallel()
	tax, err := defaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	for set, file := range map[string]string{
		"imagenet": "imagenet_labels.txt", "cityscapes": "cityscapes_segmentation_labels.txt", "pascal": "pascal_voc_segmentation_labels.txt",
	} {
		if err := tax.verifyClasses(set, coralLabels(t, file)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	for kind, size := range map[string]int{"bird": 965, "insect": 1022} {
		lines := coralLabels(t, "inat_"+kind+"_labels.txt")
		if len(lines) != size {
			t.Fatalf("%s: %d lines, the model has %d outputs", kind, len(lines), size)
		}
		// The background class is the last output, not the first.
		if lines[size-1] != "background" {
			t.Errorf("%s: last line %q", kind, lines[size-1])
		}
		got, err := tax.addSpecies(kind, lines)
		if err != nil {
			t.Fatal(err)
		}
		def := map[string]string{"bird": "Bird", "insect": "Insect"}[kind]
		grouped := 0
		for i, label := range got[:size-1] {
			anc := tax.ancestors[label]
			if label != def && !slices.Contains(anc, def) {
				t.Errorf("%s %d %q: %q is not under %s", kind, i, lines[i], label, def)
			}
			for _, a := range anc {
				if a != def && slices.Contains(tax.ancestors[a], def) {
					grouped++
					break
				}
			}
		}
		// Loose floors on the rule table's reach, so that a change that
		// drops a group shows: the rest are named under Bird or Insect.
		if floor := map[string]float64{"bird": 0.7, "insect": 0.9}[kind]; float64(grouped) < floor*float64(size-1) {
			t.Errorf("%s: %d of %d species in a group, want at least %.0f%%", kind, grouped, size-1, 100*floor)
		}
		t.Logf("%s: %d of %d species under a group below %s", kind, grouped, size-1, def)
	}
}

// FuzzSpeciesLine feeds label-file lines of any form to the species rules:
// nothing may panic, and every label and parent named must be usable.
func FuzzSpeciesLine(f *testing.F) {
	for _, s := range []string{
		"Cyanocitta cristata (Blue Jay)", "background", "", "()", " (", "X ()", "A b (c (d))",
		`Anas superciliosa \xd7 platyrhynchos (Pacific Black Duck \xd7 Mallard hybrid)`,
		"Lycaena phlaeas hypophlaeas (American Copper ssp. hypophlaeas)", "a (×)", "Genus (- -)",
	} {
		f.Add(s)
	}
	tax, err := defaultTaxonomy()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		genus, name, exact, ok := parseSpeciesLine(line)
		if !ok && (genus != "" || name != "" || exact) {
			t.Fatalf("not a species line but %q %q %v", genus, name, exact)
		}
		if exact && (name == "" || strings.TrimSpace(name) != name) {
			t.Fatalf("exact name %q", name)
		}
		for _, kind := range speciesKinds {
			label, parents := tax.species(kind, line)
			if label == "" && parents != nil {
				t.Fatalf("no label but parents %v", parents)
			}
			for _, p := range parents {
				if _, declared := tax.labels[p]; !declared {
					t.Fatalf("%s %q: parent %q is not declared", kind, line, p)
				}
			}
		}
	})
}
