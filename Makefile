# ocp-agent: `make run` builds and starts the agent on a demo config,
# `make test` runs every test (race detector included).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME ?= 30s

.PHONY: all build run test test-short vet fmt-check fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ocp-agent ./cmd/ocp-agent
	$(GO) build -trimpath -o bin/ocp-demo ./cmd/ocp-demo

# The demo config is written with this checkout's absolute paths, since the
# agent runs start commands from /.
.run/demo.yaml: packaging/demo.yaml.in
	mkdir -p .run
	sed 's|@ROOT@|$(CURDIR)|g' $< > $@

run: build .run/demo.yaml
	bin/ocp-agent run --config .run/demo.yaml

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: fmt-check vet
	$(GO) test -race -count=1 -timeout 12m ./...

test-short:
	$(GO) test -count=1 -short ./...

# Each fuzz target for FUZZTIME (go test runs one fuzz target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf bin dist .run
