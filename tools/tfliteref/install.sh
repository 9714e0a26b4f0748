#!/usr/bin/env bash
# install.sh installs the TFLite reference harness that internal/tfconv's
# tests call (internal/tfconv/tflitetest): Debian's chromium when missing,
# and the pinned npm packages of package-lock.json (`npm ci`, checked
# against the lockfile's integrity hashes) into
# ${IMAGEREC_CACHE:-~/.cache/imagerec}/tfliteref when missing or when the
# lockfile changed, with the shared installer tools/browser/install.sh.
# Idempotent: a second run only compares a checksum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../browser/install.sh" "$here" tfliteref @tensorflow/tfjs-tflite/wasm
