// Package tfconv converts TensorFlow.js models to ONNX.
//
// It reads the two TFJS formats that the project's models ship in: graph
// models (model.json with "format": "graph-model", a TensorFlow GraphDef
// in JSON plus binary weight shards) and Keras layers models
// (model.json with a "model_config"). Weights stored as float32, float16
// or uint8/uint16-quantised are dequantised to float32. The ONNX model is
// written directly as protobuf (opset 13), keeps TFJS's NHWC layout at
// its inputs and outputs, and wraps the NCHW-only ONNX operators (Conv,
// pooling, Resize) in Transposes; ONNX Runtime's optimiser removes the
// redundant pairs. The output is deterministic: the same model always
// gives the same bytes.
//
// nsfwjs ships its model.json and weight shards wrapped in JavaScript
// files; UnwrapJS returns the raw bytes.
package tfconv
