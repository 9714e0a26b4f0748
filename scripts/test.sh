#!/usr/bin/env bash
# The README test command: sets up what is missing, then runs every test
# with the real runtime and models (CI=true makes model tests fail rather
# than skip when something is missing), the fuzz seeds, the ASL conformance
# suite and the deployment checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
./scripts/setup.sh
go vet ./...
go test -count=1 -timeout 25m ./... 2>&1 | tee /tmp/imagerec-test.log
