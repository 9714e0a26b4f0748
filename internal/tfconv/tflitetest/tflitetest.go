package tflitetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/imagerec/imagerec/internal/cachedir"
)

// ErrNotInstalled is returned by Find when a part of the harness is
// missing; the message says which and how to install it.
var ErrNotInstalled = errors.New("TFLite reference harness not installed")

// dtypeSize is the byte size of each element type the harness passes.
var dtypeSize = map[string]int{
	"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "uint32": 4,
	"float32": 4, "float64": 8, "int64": 8, "uint64": 8,
}

// DTypeSize returns the byte size of one element of dtype, or 0 when the
// harness does not know it.
func DTypeSize(dtype string) int { return dtypeSize[dtype] }

// Tensor is one tensor: raw little-endian bytes of Shape's product
// elements of DType (TFLite's name: uint8, int8, int32, int64, float32...).
type Tensor struct {
	// Name is the tensor's name in the model (outputs); ignored on input.
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// Len is the number of elements Shape holds.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// check reports whether Data holds exactly Shape's elements of DType.
func (t Tensor) check() error {
	size := dtypeSize[t.DType]
	if size == 0 {
		return fmt.Errorf("dtype %q is not one of bool, int8, uint8, int16, int32, uint32, int64, uint64, float32, float64", t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("shape %v has a negative dimension", t.Shape)
		}
	}
	if want := t.Len() * size; len(t.Data) != want {
		return fmt.Errorf("%d bytes of data, %s %v needs %d", len(t.Data), t.DType, t.Shape, want)
	}
	return nil
}

// TensorInfo describes a model input or output.
type TensorInfo struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// ReadAs is "int32" for an int64 ARG_MAX output computed as int32
	// (see the package doc), else empty.
	ReadAs string `json:"readAs,omitempty"`
}

// ModelInfo is what the interpreter reports about a model.
type ModelInfo struct {
	// Inputs and Outputs carry TFLite's own element types.
	Inputs  []TensorInfo `json:"inputs"`
	Outputs []TensorInfo `json:"outputs"`
	// TFJSInputs and TFJSOutputs are what loadTFLiteModel's model.inputs
	// and model.outputs say: tfjs dtypes, where every integer type is
	// int32 (no ID).
	TFJSInputs  []TensorInfo `json:"tfjsInputs"`
	TFJSOutputs []TensorInfo `json:"tfjsOutputs"`
}

// Timings are the wall-clock costs of one job.
type Timings struct {
	Launch time.Duration // start Chromium, load the page and scripts
	Load   time.Duration // fetch and load the model (loadTFLiteModel)
	Runs   time.Duration // every run: inputs in, Invoke, outputs out
	Total  time.Duration // the whole node process, as it measured itself
}

// Result is what one job gives.
type Result struct {
	Model ModelInfo
	// Outputs holds each run's outputs, in the model's output order.
	Outputs [][]Tensor
	// Infer is each run's Invoke time alone.
	Infer    []time.Duration
	Timings  Timings
	Chromium string
	// Log holds the browser console and the harness's notes.
	Log []string
}

// Harness is an installed reference harness.
type Harness struct {
	Node     string // the node binary
	Script   string // tools/tfliteref/run.js in the repository
	Modules  string // the node_modules folder install.sh made
	Chromium string // Debian's chromium
}

// RepoRoot returns the first folder from dir upwards holding go.mod.
func RepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or above", dir)
		}
		d = parent
	}
}

// Find locates the harness: the runner script in the repository holding
// dir, the npm packages under the cache root, node on PATH and
// /usr/bin/chromium. A missing part gives an error wrapping
// ErrNotInstalled.
func Find(getenv func(string) string, dir string) (*Harness, error) {
	root, err := RepoRoot(dir)
	if err != nil {
		return nil, err
	}
	cache, err := cachedir.Root(getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	h := &Harness{
		Script:   filepath.Join(root, "tools", "tfliteref", "run.js"),
		Modules:  filepath.Join(cache, "tfliteref", "node_modules"),
		Chromium: "/usr/bin/chromium",
	}
	install := "run tools/tfliteref/install.sh (scripts/test.sh does)"
	if _, err := os.Stat(h.Script); err != nil {
		return nil, fmt.Errorf("%w: runner: %w", ErrNotInstalled, err)
	}
	if h.Node, err = exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("%w: %w (install Node.js)", ErrNotInstalled, err)
	}
	for _, p := range []string{"playwright-core", "@tensorflow/tfjs-tflite/wasm"} {
		if _, err := os.Stat(filepath.Join(h.Modules, p)); err != nil {
			return nil, fmt.Errorf("%w: %s missing in %s: %s", ErrNotInstalled, p, h.Modules, install)
		}
	}
	if _, err := os.Stat(h.Chromium); err != nil {
		return nil, fmt.Errorf("%w: %s missing: %s", ErrNotInstalled, h.Chromium, install)
	}
	return h, nil
}

// Run runs model once on inputs and returns its outputs.
func (h *Harness) Run(ctx context.Context, model string, inputs []Tensor) ([]Tensor, error) {
	res, err := h.RunAll(ctx, model, [][]Tensor{inputs})
	if err != nil {
		return nil, err
	}
	return res.Outputs[0], nil
}

// job is run.js's job file.
type job struct {
	Model          string   `json:"model"`
	OutDir         string   `json:"outDir"`
	NumThreads     int      `json:"numThreads"`
	TimeoutSeconds float64  `json:"timeoutSeconds"`
	Runs           []jobRun `json:"runs"`
}

type jobRun struct {
	Inputs []jobInput `json:"inputs"`
}

type jobInput struct {
	Name  string `json:"name,omitempty"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

// result is run.js's result.json.
type result struct {
	Model ModelInfo `json:"model"`
	Runs  []struct {
		InferMs float64 `json:"inferMs"`
		Outputs []struct {
			Index  int    `json:"index"`
			Name   string `json:"name"`
			DType  string `json:"dtype"`
			Shape  []int  `json:"shape"`
			ReadAs string `json:"readAs"`
			File   string `json:"file"`
		} `json:"outputs"`
	} `json:"runs"`
	Chromium string `json:"chromium"`
	Timings  struct {
		LaunchMs, LoadMs, RunsMs, TotalMs float64
	} `json:"timings"`
	Log []string `json:"log"`
}

// defaultTimeout bounds a job when ctx has no deadline.
const defaultTimeout = 10 * time.Minute

// RunAll runs model on every entry of runs (each a full set of inputs, in
// the model's input order) in one browser launch. A run's inputs must
// match the model's inputs in shape and dtype; an int32 input may also
// feed an integer input of another width when every value fits.
func (h *Harness) RunAll(ctx context.Context, model string, runs [][]Tensor) (*Result, error) {
	if len(runs) == 0 {
		return nil, errors.New("tflite reference: no runs")
	}
	if _, err := os.Stat(model); err != nil {
		return nil, fmt.Errorf("tflite reference: model: %w", err)
	}
	dir, err := os.MkdirTemp("", "tfliteref-")
	if err != nil {
		return nil, fmt.Errorf("tflite reference: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()

	timeout := defaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= time.Second {
		return nil, fmt.Errorf("tflite reference: %w", context.DeadlineExceeded)
	}
	abs, err := filepath.Abs(model)
	if err != nil {
		return nil, fmt.Errorf("tflite reference: %w", err)
	}
	// run.js reports its own time-out, with what it was doing, before ctx
	// kills it.
	margin := min(timeout/4, 5*time.Second)
	j := job{Model: abs, OutDir: filepath.Join(dir, "out"), NumThreads: 1, TimeoutSeconds: (timeout - margin).Seconds()}
	for r, ins := range runs {
		var jr jobRun
		for k, in := range ins {
			if err := in.check(); err != nil {
				return nil, fmt.Errorf("tflite reference: run %d input %d: %w", r, k, err)
			}
			f := filepath.Join(dir, fmt.Sprintf("in%d-%d.bin", r, k))
			if err := os.WriteFile(f, in.Data, 0o600); err != nil {
				return nil, fmt.Errorf("tflite reference: %w", err)
			}
			jr.Inputs = append(jr.Inputs, jobInput{Name: in.Name, DType: in.DType, Shape: in.Shape, File: f})
		}
		j.Runs = append(j.Runs, jr)
	}
	jobFile := filepath.Join(dir, "job.json")
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("tflite reference: %w", err)
	}
	if err := os.WriteFile(jobFile, b, 0o600); err != nil {
		return nil, fmt.Errorf("tflite reference: %w", err)
	}
	if err := h.exec(ctx, jobFile); err != nil {
		return nil, fmt.Errorf("tflite reference %s: %w", filepath.Base(model), err)
	}
	res, err := readResult(j.OutDir, len(runs))
	if err != nil {
		return nil, fmt.Errorf("tflite reference %s: %w", filepath.Base(model), err)
	}
	return res, nil
}

// exec runs node run.js on the job, in its own process group so that a
// cancelled ctx also ends Chromium.
func (h *Harness) exec(ctx context.Context, jobFile string) error {
	cmd := exec.CommandContext(ctx, h.Node, h.Script, "--modules", h.Modules, "--chromium", h.Chromium, jobFile) //nolint:gosec // the harness's own runner and job
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(stderr.String())
	if ctx.Err() != nil && msg == "" {
		return fmt.Errorf("node run.js: %w", ctx.Err())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("node run.js: %w:\n%s", ctx.Err(), msg)
	}
	if msg == "" {
		return fmt.Errorf("node run.js: %w", err)
	}
	return fmt.Errorf("node run.js: %w:\n%s", err, msg)
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// readResult reads result.json and the output files it names.
func readResult(outDir string, runs int) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(outDir, "result.json"))
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse result.json: %w", err)
	}
	if len(r.Runs) != runs {
		return nil, fmt.Errorf("result.json has %d runs, the job %d", len(r.Runs), runs)
	}
	res := &Result{Model: r.Model, Chromium: r.Chromium, Log: r.Log, Timings: Timings{
		Launch: ms(r.Timings.LaunchMs), Load: ms(r.Timings.LoadMs), Runs: ms(r.Timings.RunsMs), Total: ms(r.Timings.TotalMs),
	}}
	for i, run := range r.Runs {
		outs := make([]Tensor, 0, len(run.Outputs))
		for _, o := range run.Outputs {
			data, err := os.ReadFile(filepath.Join(outDir, filepath.Base(o.File)))
			if err != nil {
				return nil, fmt.Errorf("run %d output %d: %w", i, o.Index, err)
			}
			t := Tensor{Name: o.Name, DType: o.DType, Shape: o.Shape, Data: data}
			if err := t.check(); err != nil {
				return nil, fmt.Errorf("run %d output %d (%s): %w", i, o.Index, o.Name, err)
			}
			outs = append(outs, t)
		}
		res.Outputs = append(res.Outputs, outs)
		res.Infer = append(res.Infer, ms(run.InferMs))
	}
	return res, nil
}
