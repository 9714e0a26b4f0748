package onnxrt

import (
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Len is the number of elements Shape describes.
func (t Tensor) Len() int {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return int(n)
}

// SessionOptions tune one session. The zero value is the default: one
// intra-op thread, no spinning, full graph optimisation.
type SessionOptions struct {
	// IntraOpThreads is the number of threads one Run may use (default 1).
	// Parallelism usually comes from concurrent Runs instead.
	IntraOpThreads int
	// AllowSpinning lets idle intra-op threads busy-wait for work: lower
	// latency, but burnt CPU on a shared machine. Off by default.
	AllowSpinning bool
	// NoArena turns off ONNX Runtime's CPU memory arena: intermediate
	// buffers are freed after each Run instead of kept for the next one
	// (lower resident memory, a little more allocation per Run).
	NoArena bool
	// Optimization limits ONNX Runtime's graph optimisation (default
	// OptimizeAll).
	Optimization Optimization
	// Parallel runs independent branches of the graph concurrently
	// (ONNX Runtime's parallel execution mode, with inter-op threads);
	// the default runs nodes one after another.
	Parallel bool
}

// Optimization is a graph optimisation level. The zero value is
// OptimizeAll.
type Optimization int

// Graph optimisation levels.
const (
	OptimizeAll Optimization = iota
	OptimizeExtended
	OptimizeBasic
	OptimizeNone
)

func (o Optimization) level() ort.GraphOptimizationLevel {
	switch o {
	case OptimizeExtended:
		return ort.GraphOptimizationLevelEnableExtended
	case OptimizeBasic:
		return ort.GraphOptimizationLevelEnableBasic
	case OptimizeNone:
		return ort.GraphOptimizationLevelDisableAll
	default:
		return ort.GraphOptimizationLevelEnableAll
	}
}

// Session runs one model. It is safe for concurrent use.
type Session struct {
	path    string
	in, out []string
	onRun   func(string, []Tensor)
	mu      sync.RWMutex // Run holds R; Close holds W
	s       *ort.DynamicAdvancedSession
}

// NewSession loads modelPath and prepares it to be run with the given
// input and output names, in that order.
func (r *Runtime) NewSession(modelPath string, inputNames, outputNames []string, opts SessionOptions) (*Session, error) {
	if !r.open() {
		return nil, ErrClosed
	}
	if len(inputNames) == 0 || len(outputNames) == 0 {
		return nil, fmt.Errorf("new session %s: input and output names are required", modelPath)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("new session %s: %w", modelPath, err)
	}
	defer so.Destroy()
	threads := max(opts.IntraOpThreads, 1)
	spin := "0"
	if opts.AllowSpinning {
		spin = "1"
	}
	mode, inter := ort.ExecutionMode(ort.ExecutionModeSequential), 1
	if opts.Parallel {
		mode, inter = ort.ExecutionModeParallel, threads
	}
	for _, err := range []error{
		so.SetIntraOpNumThreads(threads),
		so.SetInterOpNumThreads(inter),
		so.SetGraphOptimizationLevel(opts.Optimization.level()),
		so.SetExecutionMode(mode),
		so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin),
		so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0"),
		so.SetCpuMemArena(!opts.NoArena),
	} {
		if err != nil {
			return nil, fmt.Errorf("new session %s: options: %w", modelPath, err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(modelPath, inputNames, outputNames, so)
	if err != nil {
		return nil, fmt.Errorf("new session %s: %w", modelPath, err)
	}
	acquire()
	return &Session{
		path:  modelPath,
		onRun: r.onRun,
		in:    append([]string(nil), inputNames...),
		out:   append([]string(nil), outputNames...),
		s:     s,
	}, nil
}

// Inputs returns the input names the session was created with.
func (s *Session) Inputs() []string { return append([]string(nil), s.in...) }

// Outputs returns the output names the session was created with.
func (s *Session) Outputs() []string { return append([]string(nil), s.out...) }

// Run runs the model on inputs (one per input name, in order) and returns
// one tensor per output name, in order. Inputs are not modified and may be
// reused once Run returns.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.s == nil {
		return nil, ErrClosed
	}
	if len(inputs) != len(s.in) {
		return nil, fmt.Errorf("run %s: %d inputs given, model takes %d (%v)", s.path, len(inputs), len(s.in), s.in)
	}
	if s.onRun != nil {
		s.onRun(s.path, inputs)
	}
	ins := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	for i, t := range inputs {
		if t.Len() != len(t.Data) || len(t.Shape) == 0 {
			return nil, fmt.Errorf("run %s: input %q: shape %v needs %d values, have %d", s.path, s.in[i], t.Shape, t.Len(), len(t.Data))
		}
		v, err := ort.NewTensor(ort.NewShape(t.Shape...), t.Data)
		if err != nil {
			return nil, fmt.Errorf("run %s: input %q: %w", s.path, s.in[i], err)
		}
		ins[i] = v
	}
	outs := make([]ort.Value, len(s.out))
	defer func() {
		for _, v := range outs {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	if err := s.s.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.path, err)
	}
	res := make([]Tensor, len(outs))
	for i, v := range outs {
		t, err := toTensor(v)
		if err != nil {
			return nil, fmt.Errorf("run %s: output %q: %w", s.path, s.out[i], err)
		}
		res[i] = t
	}
	return res, nil
}

// toTensor copies an output value into a float32 Tensor.
func toTensor(v ort.Value) (Tensor, error) {
	shape := []int64(v.GetShape().Clone())
	switch t := v.(type) {
	case *ort.Tensor[float32]:
		return Tensor{Shape: shape, Data: append([]float32(nil), t.GetData()...)}, nil
	case *ort.Tensor[float64]:
		return Tensor{Shape: shape, Data: convert(t.GetData())}, nil
	case *ort.Tensor[int64]:
		return Tensor{Shape: shape, Data: convert(t.GetData())}, nil
	case *ort.Tensor[int32]:
		return Tensor{Shape: shape, Data: convert(t.GetData())}, nil
	case *ort.Tensor[uint8]:
		return Tensor{Shape: shape, Data: convert(t.GetData())}, nil
	case *ort.Tensor[int8]:
		return Tensor{Shape: shape, Data: convert(t.GetData())}, nil
	case *ort.Tensor[bool]:
		d := t.GetData()
		out := make([]float32, len(d))
		for i, b := range d {
			if b {
				out[i] = 1
			}
		}
		return Tensor{Shape: shape, Data: out}, nil
	default:
		return Tensor{}, fmt.Errorf("unsupported output type %T", v)
	}
}

func convert[T int8 | uint8 | int32 | int64 | float64](d []T) []float32 {
	out := make([]float32, len(d))
	for i, x := range d {
		out[i] = float32(x)
	}
	return out
}

// Close waits for Runs in flight, frees the session and releases its
// reference to the environment. Calling Close twice is harmless.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return errors.Join(err, release())
}
