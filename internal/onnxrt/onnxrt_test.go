package onnxrt_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imagerec/imagerec/internal/cachedir"
	"github.com/imagerec/imagerec/internal/citest"
	"github.com/imagerec/imagerec/internal/onnxrt"
)

// cacheRoot is where `imagerec models install` put the runtime and
// models.
func cacheRoot(tb testing.TB) string {
	tb.Helper()
	root, err := cachedir.Root(os.Getenv)
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func needB(b *testing.B, paths ...string) {
	b.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			b.Skip("benchmark needs " + p + " (run `imagerec models install`)")
		}
	}
}

// need skips the test (fails it under CI) when a file is missing.
func need(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			citest.Skip(t, "model test needs "+p+" (run `imagerec models install`)")
		}
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := onnxrt.Open(onnxrt.LibPath(t.TempDir()))
	if !errors.Is(err, onnxrt.ErrRuntimeMissing) {
		t.Fatalf("Open(missing) = %v, want ErrRuntimeMissing", err)
	}
}

func TestOpenOtherLibrary(t *testing.T) {
	lib := onnxrt.LibPath(cacheRoot(t))
	need(t, lib)
	rt, err := onnxrt.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if v := rt.Version(); v != "1.30.0" {
		t.Errorf("Version() = %q, want 1.30.0", v)
	}
	other := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.Symlink(lib, other); err != nil {
		t.Fatal(err)
	}
	if rt2, err := onnxrt.Open(other); err == nil {
		rt2.Close()
		t.Fatal("Open of a second library path while the environment is alive succeeded")
	}
	if _, _, err := rt.Inspect(filepath.Join(t.TempDir(), "none.onnx")); err == nil {
		t.Error("Inspect of a missing model succeeded")
	}
	if _, err := rt.NewSession(filepath.Join(t.TempDir(), "none.onnx"), []string{"a"}, []string{"b"}, onnxrt.SessionOptions{}); err == nil {
		t.Error("NewSession of a missing model succeeded")
	}
}

func TestSessionRun(t *testing.T) {
	root := cacheRoot(t)
	lib := onnxrt.LibPath(root)
	model := filepath.Join(root, "models", "blazeface.onnx")
	need(t, lib, model)

	// Open, close and open again: the environment is destroyed and
	// re-created.
	for round := range 2 {
		rt, err := onnxrt.Open(lib)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		rt2, err := onnxrt.Open(lib)
		if err != nil {
			t.Fatalf("round %d: second Open: %v", round, err)
		}
		if err := rt2.Close(); err != nil {
			t.Fatal(err)
		}
		ins, outs, err := rt.Inspect(model)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != 1 || len(outs) != 4 {
			t.Fatalf("blazeface: inputs %v outputs %v", ins, outs)
		}
		var outNames []string
		var wantShapes [][]int64
		for _, o := range outs {
			outNames = append(outNames, o.Name)
			wantShapes = append(wantShapes, o.Shape)
		}
		s, err := rt.NewSession(model, []string{ins[0].Name}, outNames, onnxrt.SessionOptions{IntraOpThreads: 2})
		if err != nil {
			t.Fatal(err)
		}
		// The session outlives the Runtime handle.
		if err := rt.Close(); err != nil {
			t.Fatal(err)
		}
		in := onnxrt.Tensor{Shape: []int64{1, 256, 256, 3}, Data: make([]float32, 256*256*3)}
		var wg sync.WaitGroup
		shapes := make([][][]int64, 4)
		errs := make([]error, 4)
		for i := range 4 {
			wg.Go(func() {
				res, err := s.Run([]onnxrt.Tensor{in})
				errs[i] = err
				for _, r := range res {
					if len(r.Data) != r.Len() {
						errs[i] = errors.New("output data does not match its shape")
					}
					shapes[i] = append(shapes[i], r.Shape)
				}
			})
		}
		wg.Wait()
		for i := range 4 {
			if errs[i] != nil {
				t.Fatalf("Run %d: %v", i, errs[i])
			}
			if diff := cmp.Diff(wantShapes, shapes[i]); diff != "" {
				t.Errorf("output shapes (-want +got):\n%s", diff)
			}
		}
		if _, err := s.Run([]onnxrt.Tensor{{Shape: []int64{1, 2}, Data: make([]float32, 3)}}); err == nil {
			t.Error("Run with a bad shape succeeded")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run([]onnxrt.Tensor{in}); !errors.Is(err, onnxrt.ErrClosed) {
			t.Errorf("Run after Close = %v, want ErrClosed", err)
		}
	}
}
