# ocp-agent: `make run` builds and starts the agent on a demo config,
# `make test` runs every test (race detector included).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME ?= 30s
# Packages: PKG_VERSION is the version of the .deb and .rpm (and of the
# binary in them); the architecture is Go's name of it, which nfpm maps.
PKG_VERSION ?= 0.1.0
PKG_RELEASE ?= 1
PKG_ARCH    ?= $(shell $(GO) env GOARCH)
PKG_LDFLAGS := -s -w -X main.version=$(PKG_VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: all build run test test-short vet fmt-check fuzz clean package package-test test-systemd verify-unit bench man

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ocp-agent ./cmd/ocp-agent
	$(GO) build -trimpath -o bin/ocp-demo ./cmd/ocp-demo

# The demo: the agent's API on DEMO_LISTEN, its demo process on DEMO_PORT
# (change them when another demo holds those ports).
DEMO_LISTEN ?= 127.0.0.1:62888
DEMO_PORT   ?= 8089
# Where the demo's processes get their cgroups: auto, off, or a path.
DEMO_CGROUP ?= auto

# The demo config is written with this checkout's absolute paths, since the
# agent runs start commands from /; anew each time, so that DEMO_* apply.
.PHONY: .run/demo.yaml
.run/demo.yaml: packaging/demo.yaml.in
	@mkdir -p .run
	@sed -e 's|@ROOT@|$(CURDIR)|g' -e 's|@LISTEN@|$(DEMO_LISTEN)|g' -e 's|@PORT@|$(DEMO_PORT)|g' -e 's|@CGROUP@|$(DEMO_CGROUP)|g' $< > $@

# The agent in the foreground. Its processes outlive it by design (as
# under systemd), so when it ends (Ctrl-C) the recipe says how to stop them.
run: build .run/demo.yaml
	@echo "ocp-agent on $(DEMO_LISTEN), demo process on port $(DEMO_PORT); try: export OCP_AGENT_CONFIG=$(CURDIR)/.run/demo.yaml; bin/ocp-agent ps"
	@trap : INT; bin/ocp-agent run --config .run/demo.yaml; status=$$?; \
	printf '\nThe agent stopped; the demo processes keep running, as they would under systemd.\nTo stop them and remove the demo state: make clean   (make run takes them over again)\n' >&2; \
	exit $$status

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: fmt-check vet verify-unit
	$(GO) test -race -count=1 -timeout 12m ./...
	$(MAKE) package-test

# systemd-analyze verify on the shipped unit; any warning fails.
verify-unit: build
	systemd/verify.sh bin/ocp-agent

# The .deb and .rpm, into dist/, through nfpm built at the version pinned in
# packaging/tools/go.mod. The binary is static (no cgo), so that one package
# runs on old and new distributions alike.
package: bin/nfpm man
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(PKG_LDFLAGS)' -o dist/bin/ocp-agent ./cmd/ocp-agent
	mkdir -p dist/completion
	dist/bin/ocp-agent completion bash > dist/completion/ocp-agent.bash
	rm -f dist/ocp-agent_*.deb dist/ocp-agent-*.rpm
	PKG_VERSION=$(PKG_VERSION) PKG_RELEASE=$(PKG_RELEASE) PKG_ARCH=$(PKG_ARCH) bin/nfpm pkg -f packaging/nfpm.yaml -p deb -t dist/
	PKG_VERSION=$(PKG_VERSION) PKG_RELEASE=$(PKG_RELEASE) PKG_ARCH=$(PKG_ARCH) bin/nfpm pkg -f packaging/nfpm.yaml -p rpm -t dist/

# Man pages of every command, from the CLI's own help, into dist/man
# (gzipped, as installed). The generator is built with the tag "man" only,
# so the released binary does not carry it; the pages are dated by the last
# commit, so that two builds of one tree are identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
man:
	$(GO) build -tags man -o bin/ocp-agent-man ./cmd/ocp-agent
	rm -rf dist/man
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) bin/ocp-agent-man __gen-man dist/man
	gzip -9n dist/man/*.1

bin/nfpm: packaging/tools/go.mod
	$(GO) -C packaging/tools build -o $(CURDIR)/bin/nfpm github.com/goreleaser/nfpm/v2/cmd/nfpm

# Installs the .deb on this machine, checks it and purges it (as root, and
# not where systemd runs the host; it says why when it skips).
package-test:
	packaging/test-deb.sh

# Installs the .deb and the .rpm under systemd as PID 1 of a throw-away
# container, in both cgroup layouts, and checks the unit with systemctl
# (root; the first run builds a Debian root under /var/tmp with debootstrap).
test-systemd:
	packaging/test-systemd.sh

test-short:
	$(GO) test -count=1 -short ./...

# Each fuzz target for FUZZTIME (go test runs one fuzz target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# supervisord and ocp-agent side by side on identical managed programs
# (bench/run.sh: installs Debian's supervisor if missing; about 5 minutes);
# prints one table. BENCH_IDLE and BENCH_LOAD shorten or lengthen it.
bench:
	@GO=$(GO) bench/run.sh

# Stops the demo's processes (through the agent, started briefly when it is
# not running, so that each is recognised by its identity) before deleting
# their state.
clean:
	@if [ -f .run/demo.yaml ] && [ -x bin/ocp-agent ]; then packaging/demo-stop.sh bin/ocp-agent .run/demo.yaml; fi
	rm -rf bin dist .run
