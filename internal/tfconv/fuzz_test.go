package tfconv

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

const fuzzGraphJSON = `{"format":"graph-model","modelTopology":{"node":[
{"name":"x","op":"Placeholder","attr":{"dtype":{"type":"DT_FLOAT"},"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"1"}]}}}},
{"name":"f","op":"Const","attr":{}},{"name":"b","op":"Const","attr":{}},
{"name":"c","op":"_FusedConv2D","input":["x","f","b"],"attr":{"strides":{"list":{"i":["1","1","1","1"]}},"padding":{"s":"U0FNRQ=="},"fused_ops":{"list":{"s":["Qmlhc0FkZA==","UmVsdQ=="]}}}},
{"name":"y","op":"Identity","input":["c"]}]},
"signature":{"outputs":{"y:0":{"name":"y:0"}}},
"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"f","shape":[1,1,1,1],"dtype":"float32"},{"name":"b","shape":[1],"dtype":"float32","quantization":{"dtype":"float16"}}]}]}`

const fuzzLayersJSON = `{"modelTopology":{"model_config":{"class_name":"Model","config":{"name":"m","layers":[
{"name":"in","class_name":"InputLayer","config":{"batch_input_shape":[null,2,2,1]},"inbound_nodes":[]},
{"name":"d","class_name":"Dense","config":{"units":1,"activation":"sigmoid","use_bias":false},"inbound_nodes":[[["in",0,0,{}]]]}],
"input_layers":[["in",0,0]],"output_layers":[["d",0,0]]}}},
"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"d/kernel","shape":[1,1],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.01}}]}]}`

// FuzzConvert feeds untrusted model.json and weight bytes to Convert: it
// must return an error or a model, never panic, hang or allocate without
// bound.
func FuzzConvert(f *testing.F) {
	bin := binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.5))
	bin = append(bin, 0x00, 0x3c)
	f.Add([]byte(fuzzGraphJSON), bin)
	f.Add([]byte(fuzzLayersJSON), []byte{7})
	f.Add([]byte(`{"modelTopology":{"node":[]}}`), []byte{})
	f.Fuzz(func(t *testing.T, js, bin []byte) {
		m := Model{JSON: js, ReadFile: func(name string) ([]byte, error) {
			if name != "w.bin" {
				return nil, errors.New("no such file")
			}
			return bin, nil
		}}
		out, err := Convert(m)
		if err == nil && len(out) == 0 {
			t.Error("no error and no model")
		}
	})
}

func TestConvertRejects(t *testing.T) {
	read := func(string) ([]byte, error) { return make([]byte, 64), nil }
	tests := []struct {
		name string
		js   string
		is   error
	}{
		{"not json", `{`, nil},
		{"no topology", `{}`, nil},
		{"neither format", `{"modelTopology":{"foo":1}}`, nil},
		{"unsupported op", `{"modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"y","op":"Einsum","input":["x"]}]}}`, ErrUnsupported},
		{"cycle", `{"modelTopology":{"node":[{"name":"a","op":"Relu","input":["b"]},{"name":"b","op":"Relu","input":["a"]},{"name":"c","op":"Relu","input":["a"]}]},"signature":{"outputs":{"c":{"name":"c"}}}}`, nil},
		{"missing input", `{"modelTopology":{"node":[{"name":"a","op":"Relu","input":["nope"]}]}}`, nil},
		{"const without weight", `{"modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"k","op":"Const"},{"name":"y","op":"Add","input":["x","k"]}]}}`, nil},
		{"weights beyond shard", `{"modelTopology":{"node":[]},"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"k","shape":[100],"dtype":"float32"}]}]}`, nil},
		{"unsupported layer", `{"modelTopology":{"model_config":{"class_name":"Model","config":{"name":"m","layers":[{"name":"in","class_name":"InputLayer","config":{"batch_input_shape":[null,2]},"inbound_nodes":[]},{"name":"l","class_name":"LSTM","config":{},"inbound_nodes":[[["in",0,0,{}]]]}],"input_layers":[["in",0,0]],"output_layers":[["l",0,0]]}}}}`, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(Model{JSON: []byte(tc.js), ReadFile: read})
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

func TestFuzzSeedModelsConvert(t *testing.T) {
	bin := binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.5))
	bin = append(bin, 0x00, 0x3c)
	for name, tc := range map[string]struct {
		js  string
		bin []byte
	}{"graph": {fuzzGraphJSON, bin}, "layers": {fuzzLayersJSON, []byte{7}}} {
		t.Run(name, func(t *testing.T) {
			read := func(string) ([]byte, error) { return tc.bin, nil }
			if _, err := Convert(Model{JSON: []byte(tc.js), ReadFile: read}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
