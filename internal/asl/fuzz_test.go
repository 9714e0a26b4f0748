package asl_test

import (
	"testing"

	"github.com/imagerec/imagerec/internal/asl"
)

// FuzzParse checks that the definition parser never panics and that an
// accepted definition's states are consistent.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sm, err := asl.Parse(data)
		if err != nil {
			return
		}
		if _, ok := sm.States[sm.StartAt]; !ok {
			t.Fatalf("accepted definition without its StartAt state %q", sm.StartAt)
		}
	})
}

const fuzzDoc = `{"a":{"b":[1,2,{"c":"x"}]},"items":[{"v":1},{"v":5}],"s":"str"}`

// FuzzPath compiles and evaluates arbitrary paths against a fixed document
// and checks that a definite path round-trips through SetPath.
func FuzzPath(f *testing.F) {
	f.Add("$.a.b[0]")
	doc, err := asl.Decode([]byte(fuzzDoc))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p, err := asl.CompilePath(path)
		if err != nil {
			return
		}
		_, _ = p.Get(doc)
		if _, err := asl.CompileRef(path); err != nil {
			t.Fatalf("CompilePath accepted %q but CompileRef did not: %v", path, err)
		}
		if !p.Definite() || p.IsRoot() {
			return
		}
		out, err := asl.SetPath(doc, p, "marker")
		if err != nil {
			return
		}
		got, found := p.Get(out)
		if !found || got != "marker" {
			t.Fatalf("SetPath(%q) then Get = %v, %v", path, got, found)
		}
	})
}

// FuzzIntrinsic parses and evaluates arbitrary intrinsic function calls.
func FuzzIntrinsic(f *testing.F) {
	f.Add("States.Format('{}', $.s)")
	doc, err := asl.Decode([]byte(fuzzDoc))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		fn, err := asl.CompileIntrinsic(expr)
		if err != nil {
			return
		}
		v, e := fn.Eval(&asl.Env{Input: doc, Context: doc})
		if e != nil && e.Name == "" {
			t.Fatalf("error without a name for %q", expr)
		}
		_ = asl.Marshal(v)
	})
}

// FuzzJSONata compiles and evaluates arbitrary JSONata field values: it
// must return errors, never panic.
func FuzzJSONata(f *testing.F) {
	f.Add("{% $states.input.a.b[0] %}")
	f.Fuzz(func(t *testing.T, expr string) {
		jv, err := asl.CompileJSONataValue(expr)
		if err != nil {
			return
		}
		doc, _ := asl.Decode([]byte(fuzzDoc))
		st := asl.NewObject(1)
		st.Set("input", doc)
		v, e := jv.Eval(&asl.JSONataEnv{States: st, Vars: map[string]any{"x": doc}}, "Output")
		if e != nil && e.Name == "" {
			t.Fatalf("error without a name for %q", expr)
		}
		_ = asl.Marshal(v)
	})
}
