// ref.js runs an original TFJS model (graph or Keras layers) on a
// deterministic synthetic input and prints a compact numeric reference
// (JSON) that internal/tfconv's tests compare the converted ONNX model with.
//
// Usage (dependencies installed outside git, see README.md):
//   NODE_PATH=$HOME/.cache/imagerec/node/node_modules node ref.js \
//     --model DIR/model.json [--js] --name NAME --shape 1,224,224,3 \
//     --scale 0.00392156862745098 --offset 0 --seed 1 [--outputs a,b]
//     [--photo testdata/images/x.jpg --raw x.rgb --rawsize W,H]
//
// With --js the model and shard files are the base64/JS-wrapped files that
// nsfwjs ships (model.min.js, group1-shard1of1.min.js ...); they are loaded
// with require(), which is what nsfwjs itself does.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfc = require('@tensorflow/tfjs-converter');
const tfl = require('@tensorflow/tfjs-layers');

function args() {
  const a = {};
  for (let i = 2; i < process.argv.length; i++) {
    const k = process.argv[i].replace(/^--/, '');
    if (k === 'js') { a.js = true; continue; }
    a[k] = process.argv[++i];
  }
  return a;
}

// mulberry32: tiny 32-bit PRNG, re-implemented in Go (testinput.go).
function mulberry32(seed) {
  let s = seed >>> 0;
  return function () {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// syntheticInput builds an NHWC image: coarse 8x8-pixel blocks of colour,
// plus a little noise, as bytes, then value = byte*scale + offset (float32).
function syntheticInput(shape, scale, offset, seed) {
  const [n, h, w, c] = shape;
  const rng = mulberry32(seed);
  const out = new Float32Array(n * h * w * c);
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) {
          const base = ((x >> 3) * 37 + (y >> 3) * 91 + ch * 71 + b * 13) & 255;
          const noise = rng() >>> 27; // 0..31
          const v = (base + noise) & 255;
          out[i++] = v * scale + offset;
        }
  return out;
}

// photoInput resizes raw RGB bytes (w*h*3, as Go's image/jpeg decodes
// the photo; see -rawphoto in internal/tfconv/models_test.go) to the
// input shape by nearest neighbour, optionally to grey, then
// value = byte*scale + offset.
function photoInput(raw, rw, rh, shape, scale, offset) {
  const [n, h, w, c] = shape;
  const out = new Float32Array(n * h * w * c);
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const sy = Math.floor((y * rh) / h), sx = Math.floor((x * rw) / w);
        const p = (sy * rw + sx) * 3;
        if (c === 1) {
          const g = Math.floor((299 * raw[p] + 587 * raw[p + 1] + 114 * raw[p + 2] + 500) / 1000);
          out[i++] = g * scale + offset;
        } else {
          for (let ch = 0; ch < c; ch++) out[i++] = raw[p + ch] * scale + offset;
        }
      }
  return out;
}

function loadWeights(modelDir, manifest, js) {
  const bufs = [];
  const specs = [];
  for (const g of manifest) {
    for (const p of g.paths) {
      let data;
      if (js) {
        const b64 = require(path.resolve(modelDir, p + '.min.js'));
        data = Buffer.from(b64, 'base64');
      } else {
        data = fs.readFileSync(path.join(modelDir, p));
      }
      bufs.push(data);
    }
    specs.push(...g.weights);
  }
  const all = Buffer.concat(bufs);
  return { specs, data: all.buffer.slice(all.byteOffset, all.byteOffset + all.length) };
}

function summarise(name, t) {
  const v = t.dataSync();
  const n = v.length;
  const stride = Math.max(1, Math.ceil(n / 1024));
  const sample = [];
  let sum = 0, sumAbs = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += v[i]; sumAbs += Math.abs(v[i]);
    if (v[i] < min) min = v[i];
    if (v[i] > max) max = v[i];
    if (i % stride === 0) sample.push(v[i]);
  }
  return { name, shape: t.shape, count: n, sum, sumAbs, min, max, stride, sample };
}

async function main() {
  const a = args();
  const modelPath = a.model;
  const modelDir = path.dirname(modelPath);
  const json = a.js ? require(path.resolve(modelPath)) : JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const w = loadWeights(modelDir, json.weightsManifest, a.js);
  const artifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: w.specs,
    weightData: w.data,
  };
  const handler = { load: async () => artifacts };
  await tf.setBackend('cpu');
  const shape = a.shape.split(',').map(Number);
  const scale = Number(a.scale), offset = Number(a.offset), seed = Number(a.seed);
  let data, recipe;
  if (a.raw) {
    const [rw, rh] = a.rawsize.split(',').map(Number);
    data = photoInput(fs.readFileSync(a.raw), rw, rh, shape, scale, offset);
    recipe = 'photo ' + a.photo + ' decoded by Go image/jpeg, nearest-neighbour resize' + (shape[3] === 1 ? ', grey (299R+587G+114B+500)/1000' : '');
  } else {
    data = syntheticInput(shape, scale, offset, seed);
    recipe = 'mulberry32 blocks+noise, see tools/tfjsref/ref.js';
  }
  const input = tf.tensor(data, shape, 'float32');
  const isLayers = json.modelTopology && json.modelTopology.model_config !== undefined;
  let outs = [];
  let names = a.outputs ? a.outputs.split(',') : [];
  if (isLayers) {
    const model = await tfl.loadLayersModel(handler);
    let y = model.predict(input);
    if (!Array.isArray(y)) y = [y];
    if (names.length === 0) names = model.outputNames;
    outs = y;
  } else {
    const model = await tfc.loadGraphModel(handler);
    let y = model.execute(input, names);
    if (!Array.isArray(y)) y = [y];
    outs = y;
  }
  const ref = {
    model: a.name,
    generatedBy: 'tools/tfjsref/ref.js with @tensorflow/tfjs-* ' + tf.version_core + ' cpu backend',
    input: { shape, scale, offset, seed, photo: a.photo || '', recipe },
    outputs: outs.map((t, i) => summarise(names[i], t)),
  };
  process.stdout.write(JSON.stringify(ref, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
