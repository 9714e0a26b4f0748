package onnxrt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibFile is the library's path relative to the cache root.
const LibFile = "lib/libonnxruntime.so.1"

// ErrRuntimeMissing is returned by Open when the shared library is not
// installed.
var ErrRuntimeMissing = errors.New("ONNX Runtime library not installed (run `imagerec models install`)")

// ErrClosed is returned when a closed Runtime or Session is used.
var ErrClosed = errors.New("onnxrt: closed")

// LibPath returns where `imagerec models install` puts the ONNX Runtime
// library under cacheRoot.
func LibPath(cacheRoot string) string {
	return filepath.Join(cacheRoot, filepath.FromSlash(LibFile))
}

// LogLevel is ONNX Runtime's logging threshold; it logs to stderr.
type LogLevel int

// Log levels. The zero value is LogError.
const (
	LogError LogLevel = iota
	LogWarning
	LogInfo
	LogVerbose
	LogFatal
)

// Options configure the environment. They apply only when Open creates
// it; later Opens share the existing environment. The zero value is the
// default.
type Options struct {
	// LogLevel is ONNX Runtime's log threshold (default LogError).
	LogLevel LogLevel
	// OnRun, when set, is called by every Session of this Runtime
	// (unlike LogLevel it applies per Runtime) with the model path and
	// the inputs before each Run, e.g. to collect calibration inputs. It
	// must not keep or modify the inputs' Data after returning.
	OnRun func(modelPath string, inputs []Tensor)
}

// env is the process-global environment guard (see the package doc).
var env struct {
	mu   sync.Mutex
	refs int
	lib  string
}

func acquire() { env.mu.Lock(); env.refs++; env.mu.Unlock() }

// release drops one reference, destroying the environment at zero.
func release() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.refs--
	if env.refs > 0 {
		return nil
	}
	env.refs = 0
	env.lib = ""
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("destroy onnx runtime environment: %w", err)
	}
	return nil
}

// Runtime is a handle on the loaded ONNX Runtime. Close it when done.
type Runtime struct {
	lib   string
	onRun func(string, []Tensor)
	once  sync.Once
	mu    sync.Mutex
	done  bool
}

// Open loads the library at libPath (see LibPath) and initialises the
// environment unless it already exists. It returns an error wrapping
// ErrRuntimeMissing when the file does not exist.
func Open(libPath string, opts ...Options) (*Runtime, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	abs, err := filepath.Abs(libPath)
	if err != nil {
		return nil, fmt.Errorf("open onnx runtime %s: %w", libPath, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrRuntimeMissing, abs)
		}
		return nil, fmt.Errorf("open onnx runtime: %w", err)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs > 0 {
		if env.lib != abs {
			return nil, fmt.Errorf("open onnx runtime %s: environment already uses %s", abs, env.lib)
		}
		env.refs++
		return &Runtime{lib: abs, onRun: o.OnRun}, nil
	}
	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(logOption(o.LogLevel)); err != nil {
		return nil, fmt.Errorf("open onnx runtime %s: %w", abs, err)
	}
	env.refs, env.lib = 1, abs
	return &Runtime{lib: abs, onRun: o.OnRun}, nil
}

func logOption(l LogLevel) ort.EnvironmentOption {
	switch l {
	case LogWarning:
		return ort.WithLogLevelWarning()
	case LogInfo:
		return ort.WithLogLevelInfo()
	case LogVerbose:
		return ort.WithLogLevelVerbose()
	case LogFatal:
		return ort.WithLogLevelFatal()
	default:
		return ort.WithLogLevelError()
	}
}

// LibPath returns the absolute path of the loaded library.
func (r *Runtime) LibPath() string { return r.lib }

// Version returns ONNX Runtime's version string.
func (r *Runtime) Version() string { return ort.GetVersion() }

// Close releases the Runtime's reference to the environment. Sessions it
// created stay usable until closed. Calling Close twice is harmless.
func (r *Runtime) Close() error {
	var err error
	r.once.Do(func() {
		r.mu.Lock()
		r.done = true
		r.mu.Unlock()
		err = release()
	})
	return err
}

func (r *Runtime) open() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.done
}

// TensorInfo describes a model input or output.
type TensorInfo struct {
	Name string
	// Shape has -1 for dynamic dimensions.
	Shape []int64
	// Type is the element type as ONNX Runtime names it (e.g. "float").
	Type string
}

// Inspect lists a model's inputs and outputs without keeping a session.
func (r *Runtime) Inspect(modelPath string) (inputs, outputs []TensorInfo, err error) {
	if !r.open() {
		return nil, nil, ErrClosed
	}
	ins, outs, err := ort.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, nil, fmt.Errorf("inspect %s: %w", modelPath, err)
	}
	conv := func(l []ort.InputOutputInfo) []TensorInfo {
		out := make([]TensorInfo, len(l))
		for i, x := range l {
			out[i] = TensorInfo{Name: x.Name, Shape: append([]int64(nil), x.Dimensions...), Type: x.DataType.String()}
		}
		return out
	}
	return conv(ins), conv(outs), nil
}
