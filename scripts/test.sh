#!/usr/bin/env bash
# The README test command: sets up what is missing (the run set-up plus the
# test-only tools), then runs every test with the real runtime and models
# (CI=true makes model tests fail rather than skip when something is
# missing), the fuzz seeds, the ASL conformance suite and the deployment
# checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
# The ASL conformance suite (../shared/conformance/asl) must run, not skip.
export IMAGEREC_REQUIRE_CONFORMANCE=1
# The coral model mirror beside the clone (CI has no internet): used by the
# set-up's install and by the tests (absolute, as tests run in package dirs).
if [ -z "${IMAGEREC_MODEL_MIRROR:-}" ] && [ -d ../shared/models/coral ]; then
  IMAGEREC_MODEL_MIRROR="$(cd ../shared/models/coral && pwd)"
  export IMAGEREC_MODEL_MIRROR
fi
./scripts/setup.sh
# The labelled development set of real photos (pinned Debian packages,
# checksummed) that TestDevSetLabels scores DetectLabels on.
./scripts/devset.sh

cache="${IMAGEREC_CACHE:-$HOME/.cache/imagerec}"
# Test-only tools, pinned, cached outside git:
# - qemu-user runs the arm64 Lambda binaries (Debian);
# - asl-validator checks deploy/statemachine.asl.json (npm);
# - the AWS Lambda Runtime Interface Emulator drives the Lambda binaries (Go);
# - the TFLite reference (Debian chromium + pinned npm packages from
#   tools/tfliteref/package-lock.json) for internal/tfconv/tflitetest;
# - the browser harness (Debian chromium + playwright-core pinned by
#   tools/browser/package-lock.json) for the console's TestConsole.
if ! dpkg-query -W -f='${Status}' qemu-user 2>/dev/null | grep -q "install ok installed"; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
fi
# - s3cmd and rclone (Debian's, pinned) drive the S3 endpoint in
#   internal/s3api's TestS3cmd (SigV4 and --signature-v2) and TestRclone.
for pkg in s3cmd=2.3.0-1 rclone=1.60.1+dfsg-2+b5; do
  if [ "$(dpkg-query -W -f='${Version}' "${pkg%%=*}" 2>/dev/null)" != "${pkg#*=}" ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
done
if [ ! -x "$cache/node/node_modules/.bin/asl-validator" ]; then
  npm install --silent --no-audit --no-fund --prefix "$cache/node" asl-validator@4.0.0 >/dev/null
fi
if [ ! -x "$cache/bin/aws-lambda-rie" ]; then
  GOBIN="$cache/bin" go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
fi
./tools/tfliteref/install.sh
./tools/browser/install.sh

cp go.mod /tmp/imagerec-go.mod.before && cp go.sum /tmp/imagerec-go.sum.before
go mod tidy
if ! cmp -s go.mod /tmp/imagerec-go.mod.before || ! cmp -s go.sum /tmp/imagerec-go.sum.before; then
  echo "go mod tidy changed go.mod/go.sum: run it and commit the result"; git --no-pager diff go.mod go.sum | head -40; exit 1
fi
go vet ./...
# gofmt and golangci-lint v2 with STYLE.md's linters (pinned in tools/lint/go.mod).
./scripts/lint.sh
go test -count=1 -timeout 40m ./...
