// ref.mjs runs face-api.js's own FaceRecognitionNet (the JavaScript of
// @vladmandic/face-api, with the TFJS it bundles, CPU backend) on the
// inputs of tools/tfjsref/ref.js and prints the same JSON reference,
// which internal/tfconv's TestFaceRecognitionNetMatchesFaceAPI compares
// the converted ONNX model with. See README.md.
//
// Usage: node ref.mjs --pkg DIR (the unpacked package/) --seed 1
//        node ref.mjs --pkg DIR --photo testdata/images/x.jpg --raw x.rgb --rawsize W,H
import fs from 'node:fs';

// The browser bundle picks TFJS's Node platform under Node, which needs
// modules the bundle leaves out; presenting a browser without WebGL makes
// it use the browser platform with the CPU backend.
globalThis.window = globalThis;
globalThis.document = { createElement: () => ({ getContext: () => null }) };

function args() {
  const a = {};
  for (let i = 2; i < process.argv.length; i++) a[process.argv[i].replace(/^--/, '')] = process.argv[++i];
  return a;
}

// mulberry32, syntheticInput and photoInput are copies of tools/tfjsref/ref.js.
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
          const noise = rng() >>> 27;
          out[i++] = ((base + noise) & 255) * scale + offset;
        }
  return out;
}

function photoInput(raw, rw, rh, shape, scale, offset) {
  const [n, h, w, c] = shape;
  const out = new Float32Array(n * h * w * c);
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const sy = Math.floor((y * rh) / h), sx = Math.floor((x * rw) / w);
        const p = (sy * rw + sx) * 3;
        for (let ch = 0; ch < c; ch++) out[i++] = raw[p + ch] * scale + offset;
      }
  return out;
}

function summarise(name, shape, v) {
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
  return { name, shape, count: n, sum, sumAbs, min, max, stride, sample };
}

const a = args();
const faceapi = await import(a.pkg + '/dist/face-api.esm.js');
const tf = faceapi.tf;
await tf.setBackend('cpu');
await tf.ready();
const dir = a.pkg + '/model/';
const manifest = JSON.parse(fs.readFileSync(dir + 'face_recognition_model-weights_manifest.json', 'utf8'));
const bufs = [];
const specs = [];
for (const g of manifest) {
  for (const p of g.paths) bufs.push(fs.readFileSync(dir + p));
  specs.push(...g.weights);
}
const all = Buffer.concat(bufs);
const net = faceapi.nets.faceRecognitionNet;
net.loadFromWeightMap(tf.io.decodeWeights(all.buffer.slice(all.byteOffset, all.byteOffset + all.length), specs));

const shape = [1, 150, 150, 3];
let data, recipe;
if (a.raw) {
  const [rw, rh] = a.rawsize.split(',').map(Number);
  data = photoInput(fs.readFileSync(a.raw), rw, rh, shape, 1, 0);
  recipe = 'photo ' + a.photo + ' decoded by Go image/jpeg, nearest-neighbour resize';
} else {
  data = syntheticInput(shape, 1, 0, Number(a.seed));
  recipe = 'mulberry32 blocks+noise, see tools/tfjsref/ref.js';
}
// A 150x150 tensor goes through face-api's toBatchTensor unchanged.
const d = await net.computeFaceDescriptor(tf.tensor4d(data, shape));
const ref = {
  model: 'face_recognition',
  generatedBy: 'tools/faceapiref/ref.mjs: @vladmandic/face-api ' + faceapi.version + ' FaceRecognitionNet, bundled TFJS ' + tf.version_core + ' cpu backend',
  input: { shape, scale: 1, offset: 0, seed: a.raw ? 0 : Number(a.seed), photo: a.photo || '', recipe },
  outputs: [summarise('descriptor', [1, 128], d)],
};
process.stdout.write(JSON.stringify(ref, null, 1) + '\n');
