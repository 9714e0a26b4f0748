package sfn_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/imagerec/imagerec/internal/sfn"
)

// helperEnv makes the test binary act as `imagerec states run` for the
// conformance runner (see TestConformance).
const helperEnv = "SFN_CONFORMANCE_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(conformanceHelper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// conformanceHelper runs one definition like `imagerec states run`.
func conformanceHelper(args []string) int {
	fs := flag.NewFlagSet("helper", flag.ContinueOnError)
	def := fs.String("definition", "", "")
	in := fs.String("input", "", "")
	typ := fs.String("type", "STANDARD", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d, err := os.ReadFile(*def)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	input, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res, err := sfn.RunDefinition(context.Background(), d, input, sfn.NewRegistry(), sfn.Options{Type: *typ})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if res.Status != sfn.StatusSucceeded {
		return 1
	}
	return 0
}

// TestConformance runs the JSONPath and JSONata cases recorded against AWS Step
// Functions (../shared/conformance/asl, or $ASL_CONFORMANCE_DIR) through
// the executor and fails when fewer pass than testdata/conformance-floor.txt.
// It skips when the cases or python3 are missing, unless
// IMAGEREC_REQUIRE_CONFORMANCE=1.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite skipped in -short mode")
	}
	dir := os.Getenv("ASL_CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance", "asl")
	}
	require := os.Getenv("IMAGEREC_REQUIRE_CONFORMANCE") == "1"
	runner := filepath.Join(dir, "run_cases.py")
	python, perr := exec.LookPath("python3")
	if _, err := os.Stat(runner); err != nil || perr != nil {
		if require {
			t.Fatalf("conformance runner %s or python3 missing", runner)
		}
		t.Skipf("conformance cases not found at %s (set ASL_CONFORMANCE_DIR) or no python3", dir)
	}
	floorText, err := os.ReadFile(filepath.Join("testdata", "conformance-floor.txt"))
	if err != nil {
		t.Fatal(err)
	}
	floor, err := strconv.Atoi(strings.TrimSpace(string(floorText)))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), python, runner, "-j", "2",
		"--cmd", self+" --type SM_TYPE --definition DEF_FILE --input INPUT_FILE")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, _ := cmd.CombinedOutput() // exits 1 unless every case passes
	m := regexp.MustCompile(`passed: (\d+)/(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no pass count in runner output:\n%s", out)
	}
	passed, _ := strconv.Atoi(string(m[1]))
	t.Logf("conformance: %s/%s passed (floor %d)", m[1], m[2], floor)
	if passed < floor {
		t.Errorf("conformance regressed: %d passed, floor is %d\n%s", passed, floor, out)
	}
}
