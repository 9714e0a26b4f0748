#!/usr/bin/env bash
# install.sh installs the TFLite reference harness that internal/tfconv's
# tests call (internal/tfconv/tflitetest): Debian's chromium when missing,
# and the pinned npm packages of package-lock.json (`npm ci`, checked
# against the lockfile's integrity hashes) into
# ${IMAGEREC_CACHE:-~/.cache/imagerec}/tfliteref when missing or when the
# lockfile changed. Idempotent: a second run only compares a checksum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="${IMAGEREC_CACHE:-$HOME/.cache/imagerec}"
dest="$cache/tfliteref"

if [ ! -x /usr/bin/chromium ]; then
  echo "tfliteref: installing Debian package chromium"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

want=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$want" ] && [ -d "$dest/node_modules/@tensorflow/tfjs-tflite/wasm" ]; then
  exit 0
fi
echo "tfliteref: npm ci into $dest"
rm -rf "$dest"
mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$here/.npmrc" "$dest/"
(cd "$dest" && npm ci --silent --no-audit --no-fund --ignore-scripts)
echo "$want" > "$dest/.installed"
