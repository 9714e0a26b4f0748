#!/usr/bin/env bash
# Lint as STYLE.md asks: gofmt, then golangci-lint v2 (.golangci.yml) pinned
# by the `tool` directive of tools/lint/go.mod, a module of its own so the
# linter's dependencies stay out of the main go.mod. Extra arguments go to
# golangci-lint (default: ./...), e.g. scripts/lint.sh ./internal/asl/...
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted="$(gofmt -l $(git ls-files '*.go'))"
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:"; echo "$unformatted"; exit 1
fi

[ $# -gt 0 ] || set -- ./...
exec go tool -modfile=tools/lint/go.mod golangci-lint run "$@"
