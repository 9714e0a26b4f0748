package tfconv

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/imagerec/imagerec/internal/citest"
)

// coralModel is one of the Coral TFLite models in ../shared/models/coral.
type coralModel struct {
	name   string // file name without .tflite
	size   int    // input height and width
	labels string
	kind   string // "classifier" or "segmenter"
}

// deeplabLogits is the DeepLab models' tensor of class logits before the
// final RESIZE_BILINEAR and ARG_MAX (output stride 16: 33x33 at 513).
const deeplabLogits = "logits/semantic/BiasAdd;logits/semantic/Conv2D;logits/semantic/biases1"

var coralModels = []coralModel{
	{"mobilenet_v2_1.0_224_quant", 224, "imagenet_labels.txt", "classifier"},
	{"tf2_mobilenet_v2_1.0_224_ptq", 224, "imagenet_labels.txt", "classifier"},
	{"mobilenet_v2_1.0_224_inat_bird_quant", 224, "inat_bird_labels.txt", "classifier"},
	{"mobilenet_v2_1.0_224_inat_insect_quant", 224, "inat_insect_labels.txt", "classifier"},
	{"deeplab_mobilenet_edgetpu_slim_cityscapes_quant", 513, "cityscapes_segmentation_labels.txt", "segmenter"},
	{"deeplabv3_mnv2_pascal_quant", 513, "pascal_voc_segmentation_labels.txt", "segmenter"},
}

// repoRoot is the directory holding go.mod above the test's directory.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// coralFile reads a file of the Coral mirror (../shared/models/coral from
// the repository root); it skips the test when the mirror is missing,
// except under CI.
func coralFile(tb testing.TB, name string) []byte {
	tb.Helper()
	path := filepath.Join(repoRoot(tb), "..", "shared", "models", "coral", name)
	b, err := os.ReadFile(path)
	if err != nil {
		citest.Skipf(tb, "Coral model mirror not found (../shared/models/coral): %v", err)
	}
	return b
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTFLiteModels runs each converted Coral model in ONNX Runtime
// with one intra-op thread, in each execution form and, for DeepLab, at
// smaller input sizes and with two outputs: the full-size ARG_MAX class
// map (the model's own output) and the low-resolution logits. Besides ns/op it reports cpu-ms/op, the CPU time of
// the running thread (ONNX Runtime runs a one-thread session on the
// caller's thread), which other load on the machine disturbs less.
//
//	go test ./internal/tfconv -run '^$' -bench TFLiteModels -benchtime 20x
func BenchmarkTFLiteModels(b *testing.B) {
	initORT(&testing.T{})
	for _, cm := range coralModels {
		data := coralFile(b, cm.name+".tflite")
		sizes := []int{cm.size}
		if cm.kind == "segmenter" {
			sizes = []int{513, 449, 385, 321, 257}
		}
		info, err := InspectTFLite(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range sizes {
			outputs := []string{info.Outputs[0].Name}
			if cm.kind == "segmenter" {
				outputs = append(outputs, deeplabLogits)
			}
			for _, v := range tfliteVariants {
				for _, out := range outputs {
					name := cm.name + "/" + v.name
					opts := v.opts
					if size != cm.size {
						opts.InputHeight, opts.InputWidth = size, size
					}
					if cm.kind == "segmenter" {
						name += "/" + itoa(size) + "/" + map[bool]string{true: "logits", false: "argmax"}[out == deeplabLogits]
						opts.Outputs = []string{out}
					}
					b.Run(name, func(b *testing.B) {
						onnx, err := ConvertTFLite(data, opts)
						if err != nil {
							b.Fatal(err)
						}
						benchONNX(b, onnx, info.Inputs[0].Name, out, size)
					})
				}
			}
		}
	}
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for n > 0 {
		d = append([]byte{byte('0' + n%10)}, d...)
		n /= 10
	}
	return string(d)
}

func benchONNX(b *testing.B, model []byte, input, output string, size int) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(1); err != nil {
		b.Fatal(err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		b.Fatal(err)
	}
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		b.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{input}, []string{output}, so)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Destroy()
	x := make([]float32, size*size*3)
	for i := range x {
		x[i] = float32((i * 7) % 256)
	}
	in, err := ort.NewTensor(ort.NewShape(1, int64(size), int64(size), 3), x)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Destroy()
	run := func() {
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{in}, outs); err != nil {
			b.Fatal(err)
		}
		outs[0].Destroy()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	run() // warm-up
	cpu := threadCPU()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}
