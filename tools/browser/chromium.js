// chromium.js launches Debian's headless Chromium with playwright-core,
// with the flags this closed network needs: no background connections,
// no QUIC, no component updates or sync (without them Chromium's
// connections are refused, many at a time, and it looks up Google's hosts
// at every start). playwright adds --headless and a fresh temporary
// --user-data-dir itself, and --no-sandbox with chromiumSandbox false
// (its default). Shared by tools/tfliteref and tools/browser/console.js.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// defaultModules is the node_modules folder install.sh makes for name.
function defaultModules(name) {
  const cache = process.env.IMAGEREC_CACHE || path.join(os.homedir(), '.cache', 'imagerec');
  return path.join(cache, name, 'node_modules');
}

// launch starts Chromium; it throws a message naming the install command
// when playwright-core or chromium is missing.
async function launch({ modules, executablePath = '/usr/bin/chromium', installHint } = {}) {
  if (!fs.existsSync(path.join(modules, 'playwright-core'))) {
    throw new Error(`playwright-core not found in ${modules} (run ${installHint || 'tools/browser/install.sh'})`);
  }
  if (!fs.existsSync(executablePath)) throw new Error(`chromium not found at ${executablePath} (apt-get install chromium)`);
  const { chromium } = require(path.join(modules, 'playwright-core'));
  return chromium.launch({ executablePath, args: ARGS, headless: true });
}

module.exports = { ARGS, defaultModules, launch };
