# herald — make help lists the targets.
GO            ?= go
GOBIN         := $(shell $(GO) env GOPATH)/bin
STATICCHECK   := $(GOBIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
FUZZTIME      ?= 20s
UNIT_PKGS      = $(shell $(GO) list ./... | grep -v '/tests')

.DEFAULT_GOAL := help
.PHONY: help build etcd-bins test test-unit test-integration test-long lint fuzz bench run demo clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

build: ## build herald and its tools into bin/
	$(GO) build -o bin/ ./cmd/...

etcd-bins: ## build etcd and etcdctl at the version pinned in go.mod into bin/
	$(GO) build -o bin/etcd go.etcd.io/etcd/server/v3
	$(GO) build -o bin/etcdctl go.etcd.io/etcd/etcdctl/v3

test: test-unit test-integration ## unit tests with -race, then the real-server tests (what CI runs)

test-unit: ## unit tests of every package, with the race detector
	$(GO) test -race -count=1 $(UNIT_PKGS)

test-integration: build etcd-bins ## tests against real etcd, etcdctl and herald processes
	$(GO) test -count=1 -timeout 15m ./tests/...

test-long: build etcd-bins ## the long fault and scale runs
	HERALD_LONG=1 $(GO) test -count=1 -timeout 60m ./tests/...

lint: $(STATICCHECK) ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fuzz: ## run every fuzz target for FUZZTIME (default 20s) each
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		pkg=./$$(dirname $$f); \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "== $$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

bench: build etcd-bins ## benchmarks against real etcd and etcd grpc-proxy (figures go to docs/benchmarks.md)
	HERALD_BENCH=1 $(GO) test -count=1 -timeout 60m -run '^$$' -bench . -benchtime 1x ./tests/bench/...

run: build ## run herald on 127.0.0.1:2379 (embedded etcd unless --endpoints is set in ARGS)
	./bin/herald start $(ARGS)

demo: build etcd-bins ## start herald on its embedded etcd and drive it with etcdctl
	./scripts/demo.sh

clean: ## remove built binaries
	rm -rf bin/
