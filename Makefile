# imagerec — see README.md. `make run` and `make test` are the two commands.
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build setup lint fuzz bench lambda sam-validate sam-build clean

# setup builds bin/imagerec stamped with $(VERSION). Flags for serve go in
# ARGS (make run ARGS='--listen 127.0.0.1:9001'), or use its environment
# variables (IMAGEREC_LISTEN=127.0.0.1:9001 make run).
run: setup
	./bin/imagerec serve $(ARGS)

test:
	./scripts/test.sh

setup:
	VERSION=$(VERSION) ./scripts/setup.sh

build:
	mkdir -p bin
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/imagerec ./cmd/imagerec

# gofmt + golangci-lint v2 (pinned in tools/lint/go.mod, config .golangci.yml).
lint:
	./scripts/lint.sh

# Short fuzzing of every target (the seeds also run in `make test`).
fuzz:
	./scripts/fuzz.sh 20s

bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# Lambda bootstrap zips for arm64 and amd64 in build/lambda/ (also tests them).
lambda:
	IMAGEREC_LAMBDA_OUT=$(CURDIR)/build/lambda $(GO) test -count=1 -run TestCrossBuild ./cmd/lambda/

# Needs the SAM CLI (not available offline here; `go test ./deploy` runs the
# same checks offline).
sam-validate:
	sam validate --lint -t deploy/template.yaml

sam-build:
	cd deploy && CGO_ENABLED=0 sam build

clean:
	rm -rf bin build
