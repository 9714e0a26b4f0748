#!/usr/bin/env bash
# install.sh installs a headless-browser harness: Debian's chromium when
# missing, and the pinned npm packages of a package-lock.json (`npm ci`,
# checked against the lockfile's integrity hashes) into
# ${IMAGEREC_CACHE:-~/.cache/imagerec}/NAME when missing or when the
# lockfile changed. Idempotent: a second run only compares a checksum.
#
#   tools/browser/install.sh                      # this folder (playwright-core) -> cache/browser
#   tools/browser/install.sh DIR NAME [CHECK]     # DIR's package.json -> cache/NAME
#
# CHECK is a path under node_modules that must exist for the install to
# count as complete (default: playwright-core). tools/tfliteref/install.sh
# calls it for its own packages. No browser is ever downloaded: the
# packages drive /usr/bin/chromium.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="${1:-$here}"
name="${2:-browser}"
check="${3:-playwright-core}"
cache="${IMAGEREC_CACHE:-$HOME/.cache/imagerec}"
dest="$cache/$name"

if [ ! -x /usr/bin/chromium ]; then
  echo "$name: installing Debian package chromium"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$want" ] && [ -e "$dest/node_modules/$check" ]; then
  exit 0
fi
echo "$name: npm ci into $dest"
rm -rf "$dest"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dest/"
(cd "$dest" && npm ci --silent --no-audit --no-fund --ignore-scripts)
echo "$want" > "$dest/.installed"
