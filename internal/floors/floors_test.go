package floors

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const root = "../.."

// readFloors maps the table's package patterns to their floors. A
// pattern is a directory relative to the module root; internal/ is
// implied for names outside cmd/, tools/, deploy and web, and a trailing
// /* stands for every package below.
func readFloors(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A row of the table: "| 3 engines | `a`, `b/c` | …".
	floorRow := regexp.MustCompile(`^\| (\d) [^|]*\| ([^|]*)\|`)
	name := regexp.MustCompile("`([^`]+)`")
	floors := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := floorRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		for _, nm := range name.FindAllStringSubmatch(m[2], -1) {
			p := nm[1]
			switch top, _, _ := strings.Cut(p, "/"); top {
			case "cmd", "tools", "deploy", "web":
			default:
				p = "internal/" + p
			}
			floors[p] = n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(floors) < 20 {
		t.Fatalf("docs/architecture.md: found %d packages in the floors table, want the whole table", len(floors))
	}
	return floors
}

func floorOf(floors map[string]int, dir string) (int, bool) {
	if n, ok := floors[dir]; ok {
		return n, true
	}
	for p, n := range floors {
		if base, ok := strings.CutSuffix(p, "/*"); ok && strings.HasPrefix(dir, base+"/") {
			return n, true
		}
	}
	return 0, false
}

// testHelper reports a package that exists to help tests (objstoretest,
// sigv4test, the devset…): it may import anything it helps test.
func testHelper(dir string) bool {
	return strings.HasSuffix(dir, "test") || dir == "internal/floors"
}

func modulePath(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if m, ok := strings.CutPrefix(l, "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod: no module line")
	return ""
}

// imports lists, per package directory, the module's packages its
// non-test files import.
func imports(t *testing.T, module string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "node_modules", ".git", "build", "bin":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		if _, ok := out[dir]; !ok {
			out[dir] = nil
		}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if q, ok := strings.CutPrefix(ip, module+"/"); ok {
				out[dir] = append(out[dir], q)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFloors(t *testing.T) {
	floors := readFloors(t)
	pkgs := imports(t, modulePath(t))
	if len(pkgs) < 30 {
		t.Fatalf("found %d packages under %s, want the whole module", len(pkgs), root)
	}
	for dir, deps := range pkgs {
		if testHelper(dir) || path.Dir(dir) == "tools" && len(deps) == 0 {
			continue
		}
		n, ok := floorOf(floors, dir)
		if !ok {
			t.Errorf("%s is not in the floors table of docs/architecture.md: add it to its floor", dir)
			continue
		}
		for _, q := range deps {
			if testHelper(q) {
				t.Errorf("%s (floor %d) imports the test helper %s", dir, n, q)
				continue
			}
			m, ok := floorOf(floors, q)
			if ok && m > n {
				t.Errorf("%s (floor %d) imports %s (floor %d): imports go down or sideways, never up", dir, n, q, m)
			}
		}
	}
}
