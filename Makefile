# Wharf. `make help` lists the targets; the README's two commands are
#   make run     # a local registry on 127.0.0.1:5000 with token auth and HTTPS (a generated CA)
#   make test    # everything CI runs (.ci/run is exactly this)

SHELL        := bash
.SHELLFLAGS  := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS    += --no-print-directory

GO       ?= go
BIN      := $(CURDIR)/bin
ADDR     ?= 127.0.0.1:5000
DATA     ?= $(CURDIR)/wharf-data
RUNFLAGS ?=
FUZZTIME ?= 10s

# The version wharf --version prints: the tag, commits since and commit of the
# checkout (-dirty with uncommitted changes). Without git, wharf reports the
# commit Go recorded, or (devel). `make build VERSION=v1.2.3` sets it.
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS  := -X wharf/internal/buildinfo.version=$(VERSION)

# Every package but the end-to-end tests, which run in their own step.
UNIT_PKGS = $$($(GO) list ./... | grep -vx 'wharf/e2e')

.PHONY: help build run serve deps fmt-check vet lint test test-unit test-e2e conformance load fuzz bench-token clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_ -]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/wharf
	$(GO) build -ldflags='$(LDFLAGS)' -o $(BIN)/wharf ./cmd/wharf

run serve: build ## run wharf on ADDR (127.0.0.1:5000) with data in DATA (./wharf-data), token auth, HTTPS with a generated CA (RUNFLAGS adds flags)
	$(BIN)/wharf serve --addr $(ADDR) --data $(DATA) $(RUNFLAGS)

deps: ## install test tools: docker.io, skopeo, busybox-static (apt) and pinned Go tools in ./bin
	scripts/deps.sh

fmt-check: ## fail if any Go file is not gofmt-formatted
	@files=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...) | sort -u); \
	if [[ -n "$$files" ]]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

vet: ## go vet ./...
	$(GO) vet ./...

lint: ## staticcheck ./... (pinned in scripts/deps.sh; run make deps first)
	@test -x $(BIN)/staticcheck || { echo "bin/staticcheck missing: run make deps"; exit 1; }
	$(BIN)/staticcheck ./...

# Unit and e2e tests both run even if the first fails: one CI run reports both.
test: deps fmt-check vet lint ## everything CI runs: deps, gofmt, vet, lint, unit tests (-race), e2e tests
	@rc=0; $(MAKE) test-unit || rc=1; $(MAKE) test-e2e || rc=1; exit $$rc

test-unit: ## unit tests with the race detector (every package but wharf/e2e)
	$(GO) test -race -count=1 -timeout 30m $(UNIT_PKGS)

# The e2e tests run without -race. What they test is the wharf binary they
# start: a separate process the detector cannot see into. In the clients,
# -race makes every large memory copy ~6x slower, so the crash test would get
# 5x fewer pushes in flight when it kills the server: weaker, not safer.
# (Their harness, wharf/e2e/harness, is unit-tested under -race above.)
test-e2e: ## end-to-end tests: conformance suite, docker, skopeo, crane, crash and memory; the web interface's screenshots go to build/ui-screenshots
	WHARF_UI_SCREENSHOTS=$(CURDIR)/build/ui-screenshots $(GO) test -count=1 -timeout 30m -v ./e2e/

conformance: deps ## run only the OCI distribution-spec conformance suite against a fresh wharf
	$(GO) test -count=1 -run '^TestConformance$$' -v ./e2e/

# The test bounds its own clients (WHARF_LOAD_DURATION + 10 minutes), so a
# long run needs no -timeout of its own.
load: ## the load test: 200 pulling and 20 pushing token-auth clients for WHARF_LOAD_DURATION (1m); prints its figures
	$(GO) test -count=1 -timeout 0 -run '^TestLoad$$' -v ./e2e/

fuzz: ## run every fuzz target for FUZZTIME (10s) each
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

bench-token: ## token issuance per second with the credential cache on and off, and the ratio
	bench/token.sh

clean: ## remove bin/ and the make-run data directory
	rm -rf $(BIN) $(DATA) build

# --- container image ---------------------------------------------------------
# The Dockerfile is FROM scratch and copies what this target prepares: a
# static binary, a rootfs (/tmp, the CA bundle) and the data directory. No
# image is pulled, so it builds offline. See docs/deploy.md.
IMAGE ?= wharf:latest
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
DOCKER ?= docker

.PHONY: image
image: ## build the container image IMAGE (wharf:latest): a static build/wharf in a FROM scratch image
	@test -r $(CA_BUNDLE) || { echo "$(CA_BUNDLE) missing: apt-get install ca-certificates"; exit 1; }
	rm -rf build
	mkdir -p build/rootfs/tmp build/rootfs/etc/ssl/certs build/rootfs/var/lib build/data/wharf
	chmod 1777 build/rootfs/tmp
	chmod 0700 build/data/wharf
	cp $(CA_BUNDLE) build/rootfs/etc/ssl/certs/ca-certificates.crt
	$(MAKE) static
	$(DOCKER) build -t $(IMAGE) .

# The image's binary: static (no cgo), reproducible (-trimpath), stripped.
STATIC ?= build/wharf
.PHONY: static
static: ## build STATIC (build/wharf): the static binary the image holds
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w $(LDFLAGS)' -o $(STATIC) ./cmd/wharf

# --- benchmarks --------------------------------------------------------------
# make bench [PROFILE=1] [BENCHFLAGS='-only manifest -rounds 1']: `go run
# ./bench/cmd/wharfbench -help` lists the flags (sizes, rounds, -only).
BENCHFLAGS  ?=
PROFILE     ?=
PROFILE_DIR ?= $(CURDIR)/build/bench-profiles/$(shell date +%Y%m%d-%H%M%S)
.PHONY: bench bench-smoke
bench: ## wharf and distribution side by side (bin/registry, make deps), garbage collection included, the cost of metrics, audit and notifications, blobs on S3 and two replicas: writes docs/benchmarks.md and .png; PROFILE=1 adds pprof profiles
	$(GO) run ./bench/cmd/wharfbench -write $(if $(PROFILE),-profile $(PROFILE_DIR)) $(BENCHFLAGS)

bench-smoke: ## the benchmark harness with tiny sizes (what CI runs): checks it works, measures nothing
	$(GO) test -count=1 -run TestWharfbenchSmoke ./bench/
