// console.js drives the web console of a running `imagerec serve` in
// Debian's headless Chromium (playwright-core), as a user would, and
// checks what the console's Go tests (cmd/imagerec TestConsole*) need.
//
// Usage:
//   node console.js e2e JOB.json        sign in, upload, gallery, search, detail, executions, layout, idle traffic
//   node console.js firstpaint JOB.json time to first paint of the gallery
//
// The job: {"base": "http://127.0.0.1:PORT", "token": "...", "accessKeyId": "...", "secretAccessKey": "...", "uploads": ["/abs/dog.jpg", ...],
//   "corrupt": "/abs/corrupt.jpg", "screenshots": "/abs/dir", "docs": "/abs/dir or empty",
//   "idleSeconds": 10, "timeoutSeconds": 300, "out": "/abs/report.json",
//   "search": {"text": "bicycle", "key": "dog.jpg"}, "details": [{"key": "dog.jpg", "min": {"objects": 1}}],
//   "happyPath": ["InspectImage", ...]}
// firstpaint's job: {"base", "accessKeyId", "secretAccessKey", "runs": 3, "screenshots", "out"}.
// It writes the report (what it saw and measured) to out, prints one line
// per step on stderr, and exits 1 with "console: <what failed>" when a
// check fails.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, defaultModules } = require('./chromium');

class CheckError extends Error {}
const check = (ok, msg) => { if (!ok) throw new CheckError(msg); };
const log = (msg) => process.stderr.write(`console: ${msg}\n`);

const WIDTHS = [1280, 390];
const HEIGHT = { 1280: 800, 390: 844 };

// overflow returns how far the page is wider than the viewport.
async function overflow(page) {
  return page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
}

// shoot saves a screenshot of the view at each width and checks it does
// not overflow horizontally.
async function shoot(page, job, report, name, ready) {
  for (const w of WIDTHS) {
    await page.setViewportSize({ width: w, height: HEIGHT[w] });
    if (ready) await ready();
    await page.waitForTimeout(150); // layout after resize (ResizeObserver)
    const over = await overflow(page);
    report.overflow[`${name}@${w}`] = over;
    check(over <= 0, `${name} at ${w} px is ${over} px wider than the window`);
    const file = path.join(job.screenshots, `${name}-${w}.png`);
    await page.screenshot({ path: file, fullPage: false });
    report.screenshots.push(file);
    if (job.docs && w === 1280 && ['gallery', 'detail-astronaut', 'execution'].includes(name)) {
      const doc = path.join(job.docs, `console-${name === 'detail-astronaut' ? 'detail' : name}.jpg`);
      await page.screenshot({ path: doc, type: 'jpeg', quality: 80 });
      report.docs.push(doc);
    }
  }
  await page.setViewportSize({ width: 1280, height: HEIGHT[1280] });
}

// apiPaths are the console's API calls; without a session each must be
// refused.
const API_PATHS = ['session', 'results', 'result?key=x', 'thumb?key=x', 'preview?key=x', 'original?key=x', 'executions',
  'execution?name=x', 'statemachine', 'health', 'events', 'uploads', 'signout'];

async function e2e(browser, job, report) {
  const base = job.base + '/_imagerec/';
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const net = await watchNetwork(page);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push('console: ' + m.text()); });

  // 1. Sign in with the start-up token; the address loses the token.
  await page.goto(base + '?token=' + encodeURIComponent(job.token));
  await page.waitForSelector('.gallery .toolbar', { timeout: 15000 });
  check(!page.url().includes('token='), `the token stays in the address: ${page.url()}`);
  check(await page.locator('.signin').count() === 0, 'the sign-in form shows after the token');
  await page.waitForSelector('#live.on', { timeout: 15000 });
  log('signed in with the start-up link');

  // 2. Without a session every API call is refused, and the used token
  // does not sign in again.
  const anon = await browser.newContext();
  const ap = await anon.newPage();
  await ap.goto(base + '?token=' + encodeURIComponent(job.token));
  await ap.waitForSelector('.signin .msg:not([hidden])', { timeout: 15000 });
  report.reusedToken = await ap.locator('.signin .msg').innerText();
  check(/used already|expired/.test(report.reusedToken), `reused token: ${report.reusedToken}`);
  report.anonymous = await ap.evaluate(async (paths) => {
    const out = {};
    for (const p of paths) {
      const method = p === 'uploads' || p === 'signout' ? 'POST' : 'GET';
      const r = await fetch('api/' + p, { method, headers: method === 'POST' ? { 'Content-Type': 'application/json' } : {}, body: method === 'POST' ? '{}' : undefined });
      out[method + ' ' + p] = r.status;
    }
    return out;
  }, API_PATHS);
  for (const [k, v] of Object.entries(report.anonymous)) check(v === 401, `${k} without a session: ${v}`);
  await shoot(ap, job, report, 'signin');
  // The form: a wrong secret is refused, the right pair signs in.
  await ap.fill('input[name=accessKeyId]', job.accessKeyId);
  await ap.fill('input[name=secretAccessKey]', 'not-the-secret');
  await ap.click('.signin button[type=submit]');
  await ap.waitForFunction(() => /wrong/.test(document.querySelector('.signin .msg').innerText), null, { timeout: 15000 });
  await ap.fill('input[name=secretAccessKey]', job.secretAccessKey);
  await ap.click('.signin button[type=submit]');
  await ap.waitForSelector('.gallery .toolbar', { timeout: 15000 });
  report.formSignIn = await ap.evaluate(async () => (await fetch('api/session')).status);
  check(report.formSignIn === 200, `session after the form: ${report.formSignIn}`);
  check(await ap.evaluate(() => !document.cookie.includes('imagerec_session')), 'the session cookie is readable from JavaScript');
  await anon.close();
  log('API refused without a session; a used link shows the sign-in form; the form signs in with the key pair');

  // 3. Upload through the page: each file reaches its final state.
  await page.evaluate(() => { window.__noReload = true; });
  const files = [...job.uploads, job.corrupt];
  await page.setInputFiles('#file', files);
  const names = files.map((f) => path.basename(f));
  const t0 = Date.now();
  await page.waitForFunction((n) => {
    const rows = [...document.querySelectorAll('li.upload')];
    return rows.length >= n && rows.every((r) => r.dataset.state === 'done' || r.dataset.state === 'failed');
  }, files.length, { timeout: job.timeoutSeconds * 1000 });
  report.uploadSeconds = (Date.now() - t0) / 1000;
  report.uploads = await page.$$eval('li.upload', (rows) => rows.map((r) => ({
    name: r.querySelector('.name').innerText, state: r.dataset.state,
    code: r.querySelector('.code') ? r.querySelector('.code').innerText : '', text: r.querySelector('.state').innerText,
  })));
  for (const n of names) {
    const u = report.uploads.find((x) => x.name === n);
    check(u, `no upload row for ${n}`);
    if (n === path.basename(job.corrupt)) check(u.state === 'failed' && u.code === 'InvalidImageFormatException', `corrupt upload: ${JSON.stringify(u)}`);
    else check(u.state === 'done', `upload ${n}: ${JSON.stringify(u)}`);
    if (job.details.some((d) => d.key === n && d.min.labels)) check(u.text.includes('%'), `upload ${n} shows no labels: ${JSON.stringify(u)}`);
  }
  log(`uploads reached their final state in ${report.uploadSeconds.toFixed(1)} s`);

  // 4. The gallery shows them without a reload.
  for (const n of names) await page.waitForSelector(`.grid .tile[data-key="${n}"]`, { timeout: 15000 });
  check(await page.evaluate(() => window.__noReload === true), 'the page reloaded');
  report.tiles = await page.$$eval('.grid .tile', (ts) => ts.map((t) => t.dataset.key));
  await page.waitForFunction((n) => document.querySelector('.summary').innerText.startsWith(n + ' results'), names.length, { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('.grid .tile img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 20000 });
  await shoot(page, job, report, 'gallery');
  log(`gallery updated live: ${report.tiles.join(', ')}`);

  // 5. Search by a label finds the photo.
  await page.fill('.toolbar input[type=search]', job.search.text);
  await page.waitForFunction((want) => {
    const keys = [...document.querySelectorAll('.grid .tile')].map((t) => t.dataset.key);
    return keys.length === 1 && keys[0] === want;
  }, job.search.key, { timeout: 10000 });
  report.search = { text: job.search.text, found: job.search.key };
  await shoot(page, job, report, 'search');
  await page.fill('.toolbar input[type=search]', '');
  await page.waitForFunction((n) => document.querySelectorAll('.grid .tile').length >= n, names.length);
  log(`search "${job.search.text}" finds ${job.search.key}`);

  // 6. Idle: no image requests (and how many bytes) while nothing happens.
  report.idle = await idle(page, net, job.idleSeconds);
  check(report.idle.imageRequests === 0, `an idle page made ${report.idle.imageRequests} image requests`);
  log(`idle ${job.idleSeconds} s: ${report.idle.requests} requests, ${report.idle.bytes} bytes received ${JSON.stringify(report.idle.bytesByRequest)}`);

  // 7. Detail views: boxes, landmarks, text polygons drawn, labels listed,
  // captions not overlapping.
  report.detail = {};
  for (const d of job.details) {
    await page.click(`.grid .tile[data-key="${d.key}"]`);
    await page.waitForSelector('.stage img', { timeout: 10000 });
    await page.waitForFunction(() => { const i = document.querySelector('.stage img'); return i.complete && i.naturalWidth > 0; }, null, { timeout: 20000 });
    await page.waitForTimeout(200);
    const seen = await page.evaluate(() => {
      const vis = (sel) => [...document.querySelectorAll(sel)].filter((e) => !e.classList.contains('hidden') && e.getBBox().width > 0).length;
      const caps = [...document.querySelectorAll('.captions .caption')].map((c) => c.getBoundingClientRect());
      let overlaps = 0;
      for (let i = 0; i < caps.length; i++) for (let j = i + 1; j < caps.length; j++) {
        const a = caps[i], b = caps[j];
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps++;
      }
      return {
        objects: vis('.overlay rect.obj'), faces: vis('.overlay rect.face'), landmarks: vis('.overlay circle.landmark'),
        textPolygons: vis('.overlay polygon.text'), labels: document.querySelectorAll('.labels-list .label').length,
        captions: caps.length, captionOverlaps: overlaps,
      };
    });
    report.detail[d.key] = seen;
    for (const [k, min] of Object.entries(d.min)) check(seen[k] >= min, `${d.key}: ${k} = ${seen[k]}, want at least ${min} (${JSON.stringify(seen)})`);
    check(seen.captionOverlaps === 0, `${d.key}: ${seen.captionOverlaps} captions overlap`);
    // Hiding a layer hides its marks.
    if (d.min.faces) {
      await page.uncheck('.layers input[data-layer=faces]');
      const left = await page.evaluate(() => [...document.querySelectorAll('.overlay rect.face')].filter((e) => !e.classList.contains('hidden')).length);
      check(left === 0, `${d.key}: ${left} face boxes still shown with the layer off`);
      await page.check('.layers input[data-layer=faces]');
    }
    await shoot(page, job, report, 'detail-' + d.key.replace(/\..*$/, ''));
    log(`detail of ${d.key}: ${JSON.stringify(seen)}`);
    await page.keyboard.press('Escape');
    await page.waitForSelector('.gallery .toolbar', { timeout: 10000 });
  }

  // 8. The execution of the first photo: every state that ran is green.
  await page.click(`.grid .tile[data-key="${job.details[0].key}"]`);
  await page.click('a.exec-link');
  await page.waitForSelector('.graph .node', { timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll('.history tbody tr').length > 0);
  report.graph = await page.$$eval('.graph .node', (ns) => Object.fromEntries(ns.map((n) => [n.dataset.state, n.dataset.status])));
  for (const s of job.happyPath) check(report.graph[s] === 'succeeded', `state ${s} is ${report.graph[s]} in ${JSON.stringify(report.graph)}`);
  for (const [s, st] of Object.entries(report.graph)) check(st === 'succeeded' || st === 'notrun', `state ${s} is ${st}`);
  const historyRows = await page.locator('.history tbody tr').count();
  await page.locator('.history details summary').first().click();
  report.historyRows = historyRows;
  await shoot(page, job, report, 'execution');
  log(`execution graph: ${JSON.stringify(report.graph)}; ${historyRows} events`);

  // 9. The executions list and the health panel.
  await page.click('[data-nav=executions]');
  await page.waitForSelector('.executions tbody tr', { timeout: 10000 });
  report.executions = await page.locator('.executions tbody tr').count();
  check(report.executions >= files.length, `${report.executions} executions listed for ${files.length} uploads`);
  await page.selectOption('.executions select', 'FAILED');
  await page.waitForFunction(() => [...document.querySelectorAll('.executions tbody tr')].every((r) => r.dataset.status === 'FAILED') && document.querySelectorAll('.executions tbody tr').length > 0);
  await page.selectOption('.executions select', '');
  await page.waitForFunction((n) => document.querySelectorAll('.executions tbody tr').length >= n, files.length);
  await shoot(page, job, report, 'executions');
  await page.click('[data-nav=health]');
  await page.waitForSelector('.stats .stat', { timeout: 10000 });
  report.health = await page.$$eval('.stats .stat', (ss) => Object.fromEntries(ss.map((s) => [s.querySelector('.stat-label').innerText, s.querySelector('.value').innerText])));
  check(report.health['reconciled'] !== undefined && report.health['quarantined executions'] !== undefined, `health panel: ${JSON.stringify(report.health)}`);
  await shoot(page, job, report, 'health');
  log(`executions listed: ${report.executions}; health: ${JSON.stringify(report.health)}`);

  // 10. Keyboard: the gallery's tiles are links reached with Tab.
  await page.click('[data-nav=gallery]');
  await page.waitForSelector('.grid .tile');
  await page.focus('.grid .tile');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.stage, .error-box', { timeout: 10000 });
  report.keyboard = true;

  report.pageErrors = pageErrors;
  check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
  await ctx.close();
}

// watchNetwork counts the page's requests and received bytes with the
// DevTools protocol, from before the page loads, so the event stream's
// bytes are counted too.
async function watchNetwork(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const net = { requests: 0, imageRequests: 0, bytes: 0, urls: [], types: {} };
  const types = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    net.requests++;
    net.urls.push(e.request.url.replace(/^https?:\/\/[^/]+/, ''));
    types.set(e.requestId, e.request.url.includes('/api/events') ? 'events' : e.type);
    if (e.type === 'Image') net.imageRequests++;
  });
  cdp.on('Network.dataReceived', (e) => {
    net.bytes += e.encodedDataLength || e.dataLength;
    const t = types.get(e.requestId) || 'other';
    net.types[t] = (net.types[t] || 0) + (e.encodedDataLength || e.dataLength);
  });
  return net;
}

// idle reports what the page fetched and received while nothing happened
// for seconds.
async function idle(page, net, seconds) {
  const before = { requests: net.requests, imageRequests: net.imageRequests, bytes: net.bytes, urls: net.urls.length, types: { ...net.types } };
  await page.waitForTimeout(seconds * 1000);
  const byType = {};
  for (const [k, v] of Object.entries(net.types)) if (v - (before.types[k] || 0) > 0) byType[k] = v - (before.types[k] || 0);
  return {
    seconds, requests: net.requests - before.requests, imageRequests: net.imageRequests - before.imageRequests,
    bytes: net.bytes - before.bytes, bytesByRequest: byType, urls: net.urls.slice(before.urls),
  };
}

// firstpaint opens the gallery cold (a new context, no cache) runs times
// and reports when the first screen of thumbnails has painted.
async function firstpaint(browser, job, report) {
  report.runs = [];
  for (let i = 0; i < job.runs; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Signed in with the key pair (the form's call), so the timing below
    // is the gallery's alone, with an empty browser cache.
    const r = await ctx.request.post(job.base + '/_imagerec/api/signin', { data: { accessKeyId: job.accessKeyId, secretAccessKey: job.secretAccessKey } });
    check(r.ok(), `sign in: ${r.status()}`);
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(job.base + '/_imagerec/');
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('.grid .tile img')].filter((im) => im.getBoundingClientRect().top < innerHeight);
      return imgs.length > 0 && imgs.every((im) => im.complete && im.naturalWidth > 0);
    }, null, { timeout: 60000, polling: 16 });
    const wall = Date.now() - t0;
    const m = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const visible = [...document.querySelectorAll('.grid .tile img')].filter((im) => im.getBoundingClientRect().top < innerHeight).length;
      const thumbs = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/thumb'));
      const lastThumb = Math.max(...thumbs.map((r) => r.responseEnd));
      return {
        fcpMs: fcp ? fcp.startTime : -1, domContentLoadedMs: nav.domContentLoadedEventEnd, visibleThumbs: visible,
        tiles: document.querySelectorAll('.grid .tile').length, total: document.querySelector('.summary').innerText,
        thumbsDoneMs: lastThumb, resultsApiMs: (performance.getEntriesByType('resource').find((r) => r.name.includes('/api/results')) || {}).duration,
      };
    });
    report.runs.push({ wallMs: wall, ...m });
    log(`first paint run ${i}: ${JSON.stringify(report.runs[i])}`);
    if (i === 0 && job.screenshots) await page.screenshot({ path: path.join(job.screenshots, 'gallery-10000-1280.png') });
    await ctx.close();
  }
}

async function main() {
  const [mode, jobFile] = process.argv.slice(2);
  if (!['e2e', 'firstpaint'].includes(mode) || !jobFile) throw new CheckError('usage: node console.js e2e|firstpaint JOB.json');
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
  job.timeoutSeconds = job.timeoutSeconds || 300;
  job.idleSeconds = job.idleSeconds ?? 10;
  if (job.screenshots) fs.mkdirSync(job.screenshots, { recursive: true });
  if (job.docs) fs.mkdirSync(job.docs, { recursive: true });
  const report = { mode, overflow: {}, screenshots: [], docs: [] };
  const browser = await launch({ modules: job.modules || defaultModules('browser') });
  report.chromium = browser.version();
  const t0 = Date.now();
  try {
    if (mode === 'e2e') await e2e(browser, job, report);
    else await firstpaint(browser, job, report);
  } finally {
    report.seconds = (Date.now() - t0) / 1000;
    fs.writeFileSync(job.out, JSON.stringify(report, null, 1) + '\n');
    await browser.close().catch(() => {});
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`console: ${e instanceof CheckError ? e.message : (e && e.stack) || e}\n`);
  process.exit(1);
});
