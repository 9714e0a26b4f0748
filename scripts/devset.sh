#!/usr/bin/env bash
# Fetches the labelled development set (testdata/devset/manifest.json) into
# ${IMAGEREC_CACHE:-~/.cache/imagerec}/devset/: each Debian package at its
# pinned version (apt-get download, .deb sha256 checked), only the listed
# photos extracted, each photo's sha256 checked. Idempotent: photos already
# present are only checked. TestDevSetLabels (internal/vision/onnx) reads
# them.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./tools/devset -manifest testdata/devset/manifest.json "$@"
