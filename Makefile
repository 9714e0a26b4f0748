# imagerec — see README.md. `make run` and `make test` are the two commands.
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build setup lint fuzz bench lambda sam-validate sam-build clean

run: setup
	./bin/imagerec serve

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

build:
	mkdir -p bin
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/imagerec ./cmd/imagerec

lint:
	$(GO) vet ./...
	gofmt -l . | (! grep .)

# Short fuzzing of every target (the seeds also run in `make test`).
fuzz:
	./scripts/fuzz.sh 20s

bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin build
