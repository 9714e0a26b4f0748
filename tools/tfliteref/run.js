// run.js runs a .tflite model in TensorFlow Lite's own interpreter
// (@tensorflow/tfjs-tflite: TFLite's C++ compiled to WASM) in headless
// Debian Chromium, driven by playwright-core, on every input of a job, in
// one browser launch. It is the reference that internal/tfconv's tests
// compare converted models with (through internal/tfconv/tflitetest).
//
// Usage:
//   node run.js [--modules DIR] [--chromium PATH] [--verbose] JOB.json
//
// --modules is the node_modules folder that install.sh made (default
// ${IMAGEREC_CACHE:-~/.cache/imagerec}/tfliteref/node_modules); --chromium
// defaults to /usr/bin/chromium. The job (paths relative to the job file):
//   {"model": "m.tflite", "outDir": "out", "numThreads": 1, "timeoutSeconds": 600,
//    "runs": [{"inputs": [{"name": "x", "dtype": "uint8", "shape": [1,224,224,3], "file": "in0.bin"}]}]}
// Each input file holds the tensor's raw little-endian bytes. It writes
// outDir/result.json (the model's inputs and outputs as the interpreter
// and TFLiteModel report them, per run the outputs' index, name, dtype,
// shape and file, and timings) and outDir/run<R>-out<K>.bin (raw bytes).
// Any failure (bad job, model load, page error, time-out) prints
// "tfliteref: ..." on stderr and exits 1.
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { narrowArgOutputs } = require('./int64');

const DTYPE_BYTES = {
  bool: 1, int8: 1, uint8: 1, int16: 2, int32: 4, uint32: 4, float32: 4, float64: 8, int64: 8, uint64: 8,
};
// Chromium's flags for this closed network live with the shared launcher.
const { ARGS: CHROMIUM_ARGS } = require('../browser/chromium');

class JobError extends Error {}

function parseArgs(argv) {
  const cache = process.env.IMAGEREC_CACHE || path.join(os.homedir(), '.cache', 'imagerec');
  const a = { modules: path.join(cache, 'tfliteref', 'node_modules'), chromium: '/usr/bin/chromium', verbose: false };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--modules' || k === '--chromium') {
      if (i + 1 >= argv.length) throw new JobError(`${k} needs a value`);
      a[k.slice(2)] = argv[++i];
    } else if (k === '--verbose') {
      a.verbose = true;
    } else if (k.startsWith('--')) {
      throw new JobError(`unknown flag ${k}`);
    } else {
      rest.push(k);
    }
  }
  if (rest.length !== 1) throw new JobError('usage: node run.js [--modules DIR] [--chromium PATH] [--verbose] JOB.json');
  a.job = rest[0];
  return a;
}

function isFile(p) {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

// readJob parses and checks the job, resolving paths against its folder.
function readJob(file) {
  let job;
  try {
    job = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new JobError(`read job ${file}: ${e.message}`);
  }
  const dir = path.dirname(path.resolve(file));
  const abs = (p) => path.resolve(dir, p);
  if (typeof job.model !== 'string' || !job.model) throw new JobError('job: "model" (path of a .tflite file) is missing');
  job.model = abs(job.model);
  if (!isFile(job.model)) throw new JobError(`job: model ${job.model} is not a file`);
  if (typeof job.outDir !== 'string' || !job.outDir) throw new JobError('job: "outDir" is missing');
  job.outDir = abs(job.outDir);
  job.numThreads = job.numThreads === undefined ? 1 : job.numThreads;
  if (!Number.isInteger(job.numThreads) || job.numThreads < 1) throw new JobError(`job: numThreads ${job.numThreads} is not a positive integer`);
  job.timeoutSeconds = job.timeoutSeconds === undefined ? 600 : job.timeoutSeconds;
  if (!(job.timeoutSeconds > 0)) throw new JobError(`job: timeoutSeconds ${job.timeoutSeconds} is not positive`);
  if (!Array.isArray(job.runs) || job.runs.length === 0) throw new JobError('job: "runs" must be a non-empty list');
  job.runs.forEach((run, r) => {
    if (!run || !Array.isArray(run.inputs)) throw new JobError(`job: run ${r} has no "inputs" list`);
    run.inputs.forEach((inp, k) => {
      const where = `job: run ${r} input ${k}`;
      if (!DTYPE_BYTES[inp.dtype]) throw new JobError(`${where}: dtype ${JSON.stringify(inp.dtype)} is not one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
      if (!Array.isArray(inp.shape) || !inp.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new JobError(`${where}: shape ${JSON.stringify(inp.shape)} is not a list of non-negative integers`);
      }
      if (typeof inp.file !== 'string' || !inp.file) throw new JobError(`${where}: "file" is missing`);
      inp.file = abs(inp.file);
      let size;
      try { size = fs.statSync(inp.file).size; } catch (e) { throw new JobError(`${where}: ${e.message}`); }
      const want = inp.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[inp.dtype];
      if (size !== want) throw new JobError(`${where}: ${inp.file} has ${size} bytes, ${inp.dtype} [${inp.shape}] needs ${want}`);
    });
  });
  return job;
}

// serve starts the one HTTP server the page uses, on 127.0.0.1:0.
function serve(modules, job, model, log) {
  const here = __dirname;
  const files = {
    '/': [path.join(here, 'page.html'), 'text/html'],
    '/page.js': [path.join(here, 'page.js'), 'text/javascript'],
    '/tf-core.min.js': [path.join(modules, '@tensorflow/tfjs-core/dist/tf-core.min.js'), 'text/javascript'],
    '/tf-backend-cpu.min.js': [path.join(modules, '@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js'), 'text/javascript'],
    '/tf-tflite.min.js': [path.join(modules, '@tensorflow/tfjs-tflite/dist/tf-tflite.min.js'), 'text/javascript'],
  };
  const wasmDir = path.join(modules, '@tensorflow/tfjs-tflite/wasm');
  for (const name of fs.readdirSync(wasmDir)) {
    files['/' + name] = [path.join(wasmDir, name), name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript'];
  }
  for (const [p, [f]] of Object.entries(files)) {
    if (!isFile(f)) throw new JobError(`harness file for ${p} missing: ${f} (run tools/tfliteref/install.sh)`);
  }
  const outputs = new Map(); // "r/k" -> file written
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const fail = (code, msg) => {
      log(`http: ${req.method} ${url.pathname}: ${code} ${msg}`);
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(msg);
    };
    let m;
    if (req.method === 'GET' && url.pathname === '/model.tflite') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(model);
    } else if (req.method === 'GET' && url.pathname === '/favicon.ico') {
      res.writeHead(204); // Chromium asks for one; answering spares a 404 in the log.
      res.end();
    } else if (req.method === 'GET' && files[url.pathname]) {
      const [f, type] = files[url.pathname];
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      fs.createReadStream(f).pipe(res);
    } else if (req.method === 'GET' && (m = url.pathname.match(/^\/in\/(\d+)\/(\d+)$/))) {
      const run = job.runs[Number(m[1])];
      const inp = run && run.inputs[Number(m[2])];
      if (!inp) return fail(404, 'no such input');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
      fs.createReadStream(inp.file).pipe(res);
    } else if (req.method === 'POST' && (m = url.pathname.match(/^\/out\/(\d+)\/(\d+)$/))) {
      const r = Number(m[1]), k = Number(m[2]);
      if (r >= job.runs.length) return fail(404, 'no such run');
      const name = `run${r}-out${k}.bin`;
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        fs.writeFileSync(path.join(job.outDir, name), Buffer.concat(chunks));
        outputs.set(`${r}/${k}`, name);
        res.writeHead(204);
        res.end();
      });
    } else {
      fail(404, 'not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, outputs, base: `http://127.0.0.1:${server.address().port}` }));
  });
}

// pageMessage is the first line of an error thrown in the page, without
// playwright's prefix and the stack.
function pageMessage(e) {
  return String((e && e.message) || e).split('\n')[0].replace(/^page\.evaluate: (Error: )?/, '');
}

// withTimeout rejects when promise has not settled within ms; what() says
// what was going on.
function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new JobError(`${what()}: timed out after ${(ms / 1000).toFixed(1)} s`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function main() {
  const t0 = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const job = readJob(args.job);
  if (!fs.existsSync(path.join(args.modules, 'playwright-core'))) {
    throw new JobError(`playwright-core not found in ${args.modules} (run tools/tfliteref/install.sh)`);
  }
  if (!isFile(args.chromium)) throw new JobError(`chromium not found at ${args.chromium} (apt-get install chromium)`);
  fs.mkdirSync(job.outDir, { recursive: true });
  const logs = [];
  const log = (line) => {
    logs.push(line);
    if (args.verbose) process.stderr.write(`tfliteref: ${line}\n`);
  };
  const { chromium } = require(path.join(args.modules, 'playwright-core'));
  let model;
  try {
    model = fs.readFileSync(job.model);
  } catch (e) {
    throw new JobError(`read model: ${e.message}`);
  }
  let narrowed;
  try {
    narrowed = narrowArgOutputs(model);
  } catch (e) {
    throw new JobError(`model ${job.model}: ${e.message}`);
  }
  for (const n of narrowed) log(`output ${n}: ARG_MAX output_type int64 narrowed to int32 (tfjs-tflite cannot read int64); widened back to int64`);
  const { server, outputs, base } = await serve(args.modules, job, model, log);
  let browser;
  const deadline = job.timeoutSeconds * 1000;
  let stage = 'launch chromium';
  try {
    await withTimeout((async () => {
      const tLaunch = Date.now();
      browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM_ARGS, headless: true });
      const page = await browser.newPage();
      let pageError = null;
      page.on('pageerror', (e) => { pageError = e; log(`page error: ${e.message}`); });
      page.on('console', (msg) => log(`console.${msg.type()}: ${msg.text()}`));
      page.on('crash', () => { pageError = new Error('the page crashed'); log('page crashed'); });
      page.setDefaultTimeout(deadline);
      await page.goto(base + '/', { waitUntil: 'load' });
      await page.waitForFunction(() => window.tfliteref !== undefined && window.tflite !== undefined);
      if (pageError) throw new JobError(`page: ${pageError.message}`);
      const launchMs = Date.now() - tLaunch;

      stage = 'load model';
      const tLoad = Date.now();
      let info;
      try {
        info = await page.evaluate((n) => window.tfliteref.load(n), job.numThreads);
      } catch (e) {
        throw new JobError(`load model ${job.model}: ${pageMessage(e)}`);
      }
      const loadMs = Date.now() - tLoad;
      for (const o of info.outputs) {
        if (narrowed.includes(o.name)) {
          if (o.dtype !== 'int32') throw new JobError(`output ${o.name}: narrowed to int32 but the interpreter reports ${o.dtype}`);
          o.dtype = 'int64';
          o.readAs = 'int32';
        } else if (!DTYPE_BYTES[o.dtype]) {
          throw new JobError(`output ${o.name}: the interpreter reports dtype ${o.dtype}, which the harness cannot read`);
        }
      }

      const tRuns = Date.now();
      const runs = [];
      for (let r = 0; r < job.runs.length; r++) {
        stage = `run ${r} (${r} of ${job.runs.length} done)`;
        const given = job.runs[r].inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
        let got;
        try {
          got = await page.evaluate(([i, g]) => window.tfliteref.run(i, g), [r, given]);
        } catch (e) {
          throw new JobError(pageMessage(e));
        }
        if (pageError) throw new JobError(`page: ${pageError.message}`);
        for (const o of got.outputs) {
          o.file = outputs.get(`${r}/${o.index}`);
          if (!o.file) throw new JobError(`run ${r}: output ${o.index} was not received`);
          const want = o.shape.reduce((a, b) => a * b, 1) * o.elementBytes;
          if (o.bytes !== want) throw new JobError(`run ${r} output ${o.index} (${o.name}): ${o.bytes} bytes for [${o.shape}] of ${o.dtype}`);
          delete o.bytes;
          if (narrowed.includes(o.name)) {
            const f = path.join(job.outDir, o.file);
            const b = fs.readFileSync(f);
            const wide = Buffer.alloc(2 * b.length);
            for (let i = 0; i < b.length / 4; i++) wide.writeBigInt64LE(BigInt(b.readInt32LE(4 * i)), 8 * i);
            fs.writeFileSync(f, wide);
            o.dtype = 'int64';
            o.readAs = 'int32';
            o.elementBytes = 8;
          }
        }
        runs.push(got);
      }
      const runsMs = Date.now() - tRuns;
      const result = {
        model: info,
        runs,
        chromium: browser.version(),
        timings: { launchMs, loadMs, runsMs, totalMs: Date.now() - t0 },
        log: logs,
      };
      fs.writeFileSync(path.join(job.outDir, 'result.json'), JSON.stringify(result, null, 1) + '\n');
    })(), deadline, () => stage);
  } catch (e) {
    if (!args.verbose && logs.length) process.stderr.write(logs.map((l) => `tfliteref: ${l}\n`).join(''));
    throw e;
  } finally {
    // Bounded: after a time-out the page may still be busy.
    if (browser) await withTimeout(browser.close(), 5000, () => 'close browser').catch(() => {});
    server.close();
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`tfliteref: ${e instanceof JobError ? e.message : (e && e.stack) || e}\n`);
  process.exit(1);
});
