// page.js runs in headless Chromium, served by run.js. It exposes
// window.tfliteref = {load, run}, which run.js calls with page.evaluate:
//   load(numThreads)  loads /model.tflite with tfjs-tflite (TFLite's C++
//                     interpreter compiled to WASM) and reports its inputs
//                     and outputs;
//   run(r, inputs)    fetches run r's raw input bytes from /in/r/k, writes
//                     them into the interpreter's input tensors, invokes it
//                     and POSTs each output tensor's raw bytes to /out/r/k.
// Tensors are passed as raw little-endian bytes in TFLite's own element
// type, through the model runner that TFLiteModel.predict uses, so no
// value is converted on the way in or out.
'use strict';
(function () {
  const arrays = {
    int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array,
    int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
  };
  if (typeof BigInt64Array !== 'undefined') {
    arrays.int64 = BigInt64Array;
    arrays.uint64 = BigUint64Array;
  }
  const intRange = {
    int8: [-128, 127], uint8: [0, 255], bool: [0, 1], int16: [-32768, 32767],
    int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
  };
  let model = null;

  function shapeOf(info) {
    return info.shape === '' ? [] : info.shape.split(',').map(Number);
  }
  function describe(info) {
    return { id: info.id, name: info.name, dtype: info.dataType, shape: shapeOf(info) };
  }

  async function load(numThreads) {
    tflite.setWasmPath('/');
    model = await tflite.loadTFLiteModel('/model.tflite', { numThreads });
    const runner = model.modelRunner;
    return {
      // What TFLiteModel reports (tfjs dtypes: every integer type is int32).
      tfjsInputs: model.inputs,
      tfjsOutputs: model.outputs,
      // TFLite's own element types, as the model runner reports them.
      inputs: runner.getInputs().map(describe),
      outputs: runner.getOutputs().map(describe),
    };
  }

  async function fetchBytes(url) {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`GET ${url}: HTTP ${resp.status}`);
    return resp.arrayBuffer();
  }

  // fill writes the job's input bytes (dtype given) into the interpreter's
  // input buffer. Same dtype: copied as is. An int32 input may feed another
  // integer type when every value fits (as TFLiteModel.predict allows);
  // anything else is an error.
  function fill(r, k, info, given, buf) {
    const want = info.dataType;
    const dst = info.data();
    const Given = arrays[given.dtype];
    if (!Given) throw new Error(`run ${r} input ${k} (${info.name}): unsupported dtype ${given.dtype}`);
    if (buf.byteLength % Given.BYTES_PER_ELEMENT !== 0) {
      throw new Error(`run ${r} input ${k} (${info.name}): ${buf.byteLength} bytes is not a whole number of ${given.dtype} values`);
    }
    const src = new Given(buf);
    if (src.length !== dst.length) {
      throw new Error(`run ${r} input ${k} (${info.name}): ${src.length} values given, the model's tensor [${info.shape}] holds ${dst.length}`);
    }
    if (given.dtype === want) {
      dst.set(src);
      return;
    }
    if (given.dtype === 'int32' && intRange[want]) {
      const [lo, hi] = intRange[want];
      for (let i = 0; i < src.length; i++) {
        if (src[i] < lo || src[i] > hi) {
          throw new Error(`run ${r} input ${k} (${info.name}): value ${src[i]} at ${i} does not fit the model's ${want}`);
        }
      }
      dst.set(src);
      return;
    }
    throw new Error(`run ${r} input ${k} (${info.name}): dtype ${given.dtype} given, the model wants ${want}`);
  }

  async function run(r, given) {
    if (!model) throw new Error('run before load');
    const runner = model.modelRunner;
    const ins = runner.getInputs();
    if (given.length !== ins.length) {
      throw new Error(`run ${r}: ${given.length} inputs given, the model has ${ins.length}`);
    }
    for (let k = 0; k < ins.length; k++) {
      const want = shapeOf(ins[k]);
      const got = given[k].shape;
      if (want.length !== got.length || !want.every((d, i) => d === -1 || d === got[i])) {
        throw new Error(`run ${r} input ${k} (${ins[k].name}): shape [${got}] given, the model wants [${want}]`);
      }
      fill(r, k, ins[k], given[k], await fetchBytes(`/in/${r}/${k}`));
    }
    const t0 = performance.now();
    if (!runner.infer()) throw new Error(`run ${r}: the interpreter's Invoke failed`);
    const inferMs = performance.now() - t0;
    const outs = runner.getOutputs();
    const meta = [];
    for (let k = 0; k < outs.length; k++) {
      const data = outs[k].data();
      // Copy out of the WASM heap before the next call can change it.
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
      const d = describe(outs[k]);
      const resp = await fetch(`/out/${r}/${k}`, { method: 'POST', body: bytes });
      if (!resp.ok) throw new Error(`POST /out/${r}/${k}: HTTP ${resp.status}`);
      meta.push({ index: k, name: d.name, dtype: d.dtype, shape: d.shape, bytes: bytes.byteLength,
        elementBytes: data.BYTES_PER_ELEMENT });
    }
    return { inferMs, outputs: meta };
  }

  window.tfliteref = { load, run };
})();
