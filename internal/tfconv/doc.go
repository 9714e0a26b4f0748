// Package tfconv converts TensorFlow.js and TensorFlow Lite models to ONNX.
//
// Both front ends share one ONNX writer: the graph is written directly as
// protobuf (opset 13), keeps TensorFlow's NHWC layout at its inputs and
// outputs, and wraps the NCHW-only ONNX operators (Conv, pooling, Resize)
// in Transposes. The output is deterministic: the same model and options
// always give the same bytes.
//
// # TensorFlow.js
//
// Convert reads the two TFJS formats that the project's models ship in:
// graph models (model.json with "format": "graph-model", a TensorFlow
// GraphDef in JSON plus binary weight shards) and Keras layers models
// (model.json with a "model_config"). Weights stored as float32, float16
// or uint8/uint16-quantised are dequantised to float32; ONNX Runtime's
// optimiser removes redundant transpose pairs. nsfwjs ships its model.json
// and weight shards wrapped in JavaScript files; UnwrapJS returns the raw
// bytes.
//
// ConvertFaceRecognitionNet converts face-api.js's FaceRecognitionNet
// (dlib's ResNet-34 face descriptor, from @vladmandic/face-api), which
// ships as a weights manifest only: the network is rebuilt from face-api's
// JavaScript (facerecognition.go) and agrees with it, run on TFJS
// (tools/faceapiref), to 2e-4 relative.
//
// # TensorFlow Lite
//
// ConvertTFLite converts a quantised .tflite model (uint8 or int8
// activations, uint8 per-tensor or int8 per-channel weights, int32 biases)
// with the operators of the Coral models: CONV_2D, DEPTHWISE_CONV_2D
// (dilation, depth multiplier), FULLY_CONNECTED, ADD, AVERAGE_POOL_2D,
// MEAN, RESHAPE, SOFTMAX, TILE, CONCATENATION, RESIZE_BILINEAR
// (align_corners, half_pixel_centers), QUANTIZE, DEQUANTIZE and ARG_MAX,
// with fused RELU, RELU6 and RELU_N1_TO_1 and SAME or VALID padding.
// InspectTFLite lists a model's inputs, outputs and operators.
//
// The ONNX graph's interface: one float32 NHWC input [1,H,W,3], named as
// the TFLite input tensor, holding the raw quantised values (for the
// image models, the 0-255 pixel values; the graph rounds and saturates
// them); one float32 output per chosen TFLite tensor, named as it,
// dequantised (softmax probabilities, logits), NHWC for 4-D tensors,
// ARG_MAX indices as floats. TFLiteOptions.Outputs picks tensors by name
// (DeepLab's logits before the final RESIZE_BILINEAR and ARG_MAX, for
// example), leaving out operators nothing chosen depends on;
// InputHeight/InputWidth replace the input size and recompute what
// depends on it (a pooling window over the whole feature map stays
// global; TILE and RESIZE_BILINEAR targets that were a feature-map or
// input size follow it).
//
// The flatbuffer is read by a small reader of this package (flatbuf.go,
// tflite.go) that reads only the tables needed, checks every offset and
// length against the buffer and returns an error, never panics, on any
// malformed file (FuzzConvertTFLite). The FlatBuffers project's Go module
// (github.com/google/flatbuffers) is served, but its generated accessors
// need flatc and TFLite's schema, and it deliberately panics on
// out-of-range offsets and has no verifier for Go; the tests use its
// Builder to write synthetic models, an independent writer for this
// reader.
//
// Arithmetic. The default form (TFLiteQuantized) keeps TFLite's integer
// arithmetic. Convolutions and fully connected layers are QLinearConv on
// uint8 activations with the file's weights and int32 biases (ONNX
// Runtime requantises with float scales and round-half-to-even, as
// XNNPACK does); int8 tensors are held as uint8 with the zero point moved
// by 128, which is exact. Where ONNX's operators would round otherwise,
// the graph computes what TFLite computes: ADD is a 256x256 table of
// XNNPACK's integer formula, QUANTIZE a 256-entry table of XNNPACK's
// 8-bit-multiplier requantisation (TFLite's fixed-point Requantize outside
// XNNPACK's range), MEAN over height and width XNNPACK's float-scaled
// integer sum, RESIZE_BILINEAR interpolates the stored values and rounds
// half up as TFLite's kernel does. TFLite's interpreter hands these
// operators to its default XNNPACK delegate, whose rounding differs from
// TFLite's own kernels in places (ADD by one step on rare pairs, QUANTIZE
// on about a tenth of the values, MEAN likewise); the converter follows
// what the interpreter runs. Result, measured against TFLite's own
// interpreter (@tensorflow/tfjs-tflite with XNNPACK, package tflitetest)
// on 24 inputs from the repository's licensed photos per model: every
// output of the four classifiers and every pixel of both DeepLab class
// maps identical (0 steps off). AVERAGE_POOL_2D with an even window count
// and SOFTMAX can still differ by one step on exact ties.
//
// The alternative form (TFLiteFloat: dequantised float weights, float
// activations, the fused activations and each output's quantised range
// as clamps) was measured and is kept as an option only: it is not
// faster and drifts from TFLite because activations are never rounded to
// the quantisation grid: against the same reference, max 13-42 steps on
// the classifiers with top-1 different on 1-3 of 24 inputs, 88.2% and
// 99.1% of DeepLab pixels. A float form with QuantizeLinear and
// DequantizeLinear after each operator cannot be expressed: ONNX
// Runtime's WeightBiasQuantization pass requantises the float weights of
// a Conv between Q/DQ nodes with its own scales.
//
// Speed, CPU ms per run with one intra-op thread (ONNX Runtime 1.30,
// 2-core Xeon with AVX-512 VNNI, other work on the machine; median of
// three BenchmarkTFLiteModels runs; DeepLab with its logits as output,
// the full-size ARG_MAX map costs 6-45 ms more):
//
//	model                            quantized   signed weights   float
//	MobileNetV2 ImageNet (TF1)          10.7          8.2           8.4
//	MobileNetV2 iNat bird / insect    11.4 / 12.0   9.2 / 8.6     9.0 / 9.4
//	MobileNetV2 ImageNet (TF2 int8)     11.7          5.5           8.3
//	DeepLab Cityscapes 513/321/257   110/37/24     59/21/13      86/33/20
//	DeepLab PASCAL 513/321/257        80/31/20     60/21/14      61/23/15
//
// The float form is 5-25% faster than the default here but does not
// agree; the default is kept.
//
// TFLiteOptions.SignedWeights stores every filter as int8 so that ONNX
// Runtime runs its uint8 x int8 kernels: the fastest form here, and
// identical in results on this CPU, but those kernels can saturate 16-bit
// intermediate sums on x86 CPUs without VNNI (AVX2 or AVX-512 without
// VNNI) and give wrong results there; the default (uint8 x uint8) is
// exact on every CPU.
//
// # Int8 quantisation of float models
//
// Quantize rewrites a float32 ONNX model (the converter's output or a
// copied ONNX file) into ONNX Runtime's QDQ form: QuantizeLinear and
// DequantizeLinear around the activations entering and leaving every
// Conv, MatMul and Gemm with a constant weight (uint8, asymmetric, from
// calibrated ranges), int8 weights with one scale per output channel,
// int32 biases. ONNX Runtime fuses each group into QLinearConv (or
// QLinearMatMul, QLinearAdd, QLinearGlobalAveragePool where both sides
// are quantised). A small ONNX reader (onnxread.go) keeps every field it
// does not interpret as stored. Before quantising, Constant nodes become
// initializers, BatchNormalization and Mul/Add by per-channel constants
// after a Conv are folded into it (float64 arithmetic rounded once, so
// the bytes are the same on every machine), and a ReduceMean over an
// NHWC tensor's height and width becomes GlobalAveragePool. Models of
// opset 11 or 12 are lifted to 13 when their operators do not change
// meaning; opset 9 and 10 models are lifted to 10 (Slice's attributes
// become inputs) and take com.microsoft's per-channel DequantizeLinear.
// CalibrationModel exposes the activations Quantize needs ranges for as
// extra outputs; the caller runs it on calibration inputs.
//
// QuantizeOptions.ReduceRange keeps the weights in 7 bits, which ONNX
// Runtime's uint8 x int8 kernels cannot saturate on x86 CPUs without
// VNNI (AVX2, AVX-512 without VNNI): such a file computes exactly on
// every CPU, so no CPU-dependent choice of file is needed.
package tfconv
