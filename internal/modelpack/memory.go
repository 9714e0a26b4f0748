package modelpack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imagerec/imagerec/internal/onnxrt"
)

// MemoryReport is what loading every model in one process costs.
type MemoryReport struct {
	// RSS in bytes: before the runtime, after opening it, after creating
	// every session, and after one Run of each (ONNX Runtime allocates its
	// arenas on first use). PeakRSS is the high-water mark.
	RSSBefore, RSSRuntime, RSSLoaded, RSSRun, PeakRSS int64
	// Load is the time to open the runtime and create every session.
	Load   time.Duration
	Models []ModelLoad
}

// ModelLoad is one model's share.
type ModelLoad struct {
	Name     string
	Load     time.Duration
	FirstRun time.Duration
	RSSDelta int64 // RSS growth while creating its session
}

func (r MemoryReport) String() string {
	var b strings.Builder
	mb := func(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/(1<<20)) }
	fmt.Fprintf(&b, "%-12s %8s %9s %9s\n", "MODEL", "LOAD", "FIRST RUN", "RSS +")
	for _, m := range r.Models {
		fmt.Fprintf(&b, "%-12s %8v %9v %9s\n", m.Name, m.Load.Round(time.Millisecond), m.FirstRun.Round(time.Millisecond), mb(m.RSSDelta))
	}
	fmt.Fprintf(&b, "RSS: %s before, %s with the runtime, %s with %d sessions, %s after one run each; peak %s; load time %v\n",
		mb(r.RSSBefore), mb(r.RSSRuntime), mb(r.RSSLoaded), len(r.Models), mb(r.RSSRun), mb(r.PeakRSS), r.Load.Round(time.Millisecond))
	return b.String()
}

// MeasureMemory opens the runtime under root, creates a session for every
// model among assets with options so (the zero value: one intra-op thread
// each, as the engine does) and
// runs each once on zeros of its typical input shape. Sessions are closed
// before it returns. RSS figures come from /proc/self/status (Linux);
// elsewhere they are zero.
func MeasureMemory(ctx context.Context, root string, assets []Asset, so onnxrt.SessionOptions) (MemoryReport, error) {
	var r MemoryReport
	r.RSSBefore, _ = procStatus()
	start := time.Now()
	rt, err := onnxrt.Open(onnxrt.LibPath(root))
	if err != nil {
		return r, err
	}
	defer rt.Close()
	r.RSSRuntime, _ = procStatus()
	var sessions []*onnxrt.Session
	defer func() {
		for _, s := range sessions {
			_ = s.Close()
		}
	}()
	var models []Asset
	for _, a := range assets {
		if !a.IsModel() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		before, _ := procStatus()
		t0 := time.Now()
		ins, outs, err := rt.Inspect(a.Path(root))
		if err != nil {
			return r, err
		}
		s, err := rt.NewSession(a.Path(root), names(ins), names(outs), so)
		if err != nil {
			return r, fmt.Errorf("load %s: %w", a.Name, err)
		}
		sessions = append(sessions, s)
		models = append(models, a)
		after, _ := procStatus()
		r.Models = append(r.Models, ModelLoad{Name: a.Name, Load: time.Since(t0), RSSDelta: after - before})
	}
	r.Load = time.Since(start)
	r.RSSLoaded, _ = procStatus()
	var errs []error
	for i, s := range sessions {
		in, err := zeroInputs(models[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t0 := time.Now()
		if _, err := s.Run(in); err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", models[i].Name, err))
		}
		r.Models[i].FirstRun = time.Since(t0)
	}
	r.RSSRun, r.PeakRSS = procStatus()
	return r, errors.Join(errs...)
}

func names(ts []onnxrt.TensorInfo) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// zeroInputs builds zero tensors of each input's Typical (else declared)
// shape.
func zeroInputs(a Asset) ([]onnxrt.Tensor, error) {
	if len(a.Inputs) == 0 {
		return nil, fmt.Errorf("%s: no inputs declared", a.Name)
	}
	out := make([]onnxrt.Tensor, len(a.Inputs))
	for i, in := range a.Inputs {
		shape := in.Typical
		if shape == nil {
			shape = in.Shape
		}
		t := onnxrt.Tensor{Shape: append([]int64(nil), shape...)}
		for j, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: input %q has no concrete shape (declare Typical)", a.Name, in.Name)
			}
			t.Shape[j] = d
		}
		t.Data = make([]float32, t.Len())
		out[i] = t
	}
	return out, nil
}

// procStatus returns VmRSS and VmHWM in bytes.
func procStatus() (rss, peak int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}
