# herald — make help lists the targets.
GO            ?= go
GOBIN         := $(shell $(GO) env GOPATH)/bin
STATICCHECK   := $(GOBIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
FUZZTIME      ?= 20s
# The end-to-end tests under tests/ need real servers; tests/layers (the
# dependency rules) needs only `go list`, so it is a unit test.
UNIT_PKGS      = $(shell $(GO) list ./... | grep -v '/tests') ./tests/layers
# upstream/zookeeper again without -race: its session-failover test cannot run
# under it (a data race inside go-zookeeper; upstream/zookeeper/failover_test.go).
INTEGRATION_PKGS = $(shell $(GO) list ./tests/... | grep -v '/tests/layers$$') ./upstream/zookeeper
# The real-server tests mostly wait (for processes, TTLs, faults): four run
# at once, whatever the number of cores (go test's default is GOMAXPROCS).
TEST_PARALLEL ?= 4
# The test targets print their progress as tests finish (tests/testfmt:
# packages, failures with their output, tests that took 5 s or more, what
# still runs every minute, the slowest at the end). TESTFMT= shows go
# test's own output instead.
TESTFMT       ?= $(GO) run ./tests/testfmt
TESTJSON       = $(if $(TESTFMT),-json)

.DEFAULT_GOAL := help
.PHONY: help build etcd-bins node-client test test-unit test-integration test-long test-etcd-e2e test-etcd-e2e-ci lint fuzz bench bench-scenario run demo clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

build: ## build herald and its tools into bin/
	$(GO) build -buildvcs=auto -o bin/ ./cmd/...

etcd-bins: ## build etcd and etcdctl at the version pinned in go.mod into bin/
	$(GO) build -o bin/etcd go.etcd.io/etcd/server/v3
	$(GO) build -o bin/etcdctl go.etcd.io/etcd/etcdctl/v3

test: test-unit test-integration ## unit tests with -race, then the real-server tests (what CI runs)

test-unit: ## unit tests of every package, with the race detector
	$(TESTFMT) $(GO) test $(TESTJSON) -race -count=1 $(UNIT_PKGS)

test-integration: build etcd-bins node-client ## tests against real etcd, etcdctl, etcd3 (Node.js) and herald processes
	$(TESTFMT) $(GO) test $(TESTJSON) -count=1 -timeout 15m -parallel $(TEST_PARALLEL) $(INTEGRATION_PKGS)

node-client: ## install the Node.js etcd3 client the tests drive (npm, from tests/node/package-lock.json)
	npm ci --prefix tests/node --no-audit --no-fund

test-long: build etcd-bins node-client ## the long fault and scale runs, then etcd's e2e suite through herald
	HERALD_LONG=1 $(TESTFMT) $(GO) test $(TESTJSON) -count=1 -timeout 60m ./tests/...
	$(MAKE) test-etcd-e2e

# etcd's own e2e suite (go.etcd.io/etcd/tests/v3 at the pinned version), each
# test through etcd grpc-proxy and through herald; see tests/etcde2e/run/doc.go.
# E2E_RUN=regexp picks tests by pkg.TestName (e.g. E2E_RUN='^common\.TestKV|^e2e\.TestCtlV3Watch$'); it reaches the runner unexpanded, so $ anchors survive make.
E2E_RUN       ?=
E2E_LIST      ?=
E2E_TIMEOUT   ?= 5m
E2E_MODES     ?= grpc-proxy,herald
E2E_MINIMAL   ?= false
E2E_LAZY      ?= false
E2E_WORK      ?= $(or $(TMPDIR),/tmp)/herald-etcd-e2e
# Locked around each test (the framework's ports are fixed): runs sharing it
# take turns test by test; each needs its own E2E_WORK.
E2E_PORTS_LOCK ?= $(or $(TMPDIR),/tmp)/herald-etcd-e2e.ports.lock
E2E_ARGS       = -work $(E2E_WORK) -ports-lock $(E2E_PORTS_LOCK) -run '$(value E2E_RUN)' -timeout $(E2E_TIMEOUT) -modes $(E2E_MODES) -lazy-baseline=$(E2E_LAZY) \
	-known-failures tests/etcde2e/known-failures.txt

test-etcd-e2e: build etcd-bins ## etcd's e2e suite through grpc-proxy and herald (hours; E2E_RUN=regexp, E2E_LIST=file)
	$(GO) run ./tests/etcde2e/run $(E2E_ARGS) -minimal=$(E2E_MINIMAL) $(if $(E2E_LIST),-list $(E2E_LIST))

test-etcd-e2e-ci: build etcd-bins ## a few minutes of etcd's e2e suite (tests/etcde2e/ci-subset.txt), 1- and 3-member clusters
	$(GO) run ./tests/etcde2e/run $(E2E_ARGS) -minimal=true -list tests/etcde2e/ci-subset.txt

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

bench: build etcd-bins ## benchmarks against real etcd and etcd grpc-proxy, bench-scenario included (figures go to docs/benchmarks.md)
	ulimit -n $$(ulimit -Hn) 2>/dev/null; HERALD_BENCH=1 $(GO) test -count=1 -timeout 120m -run '^$$' -bench . -benchtime 1x ./tests/bench/...

# The founding scenario (issue 15) at the issue's scale: 10 racks × 5000 leased
# nodes, 50k watchers. Smaller: HERALD_BENCH_SCENARIO_RACKS, _NODES (per
# rack), _SERVICES, _WATCHERS (see tests/bench/doc.go). The soft limit on open
# files is raised to the hard one (the run needs a few hundred descriptors per
# process; the raise only guards against a low soft limit).
bench-scenario: build etcd-bins ## issue 15's founding scenario end to end: 50k leased nodes, 50k watchers, herald vs direct vs grpc-proxy
	ulimit -n $$(ulimit -Hn) 2>/dev/null; HERALD_BENCH=1 $(GO) test -count=1 -timeout 60m -run '^$$' -bench '^BenchmarkScenario$$' -benchtime 1x ./tests/bench/

run: build ## run herald on 127.0.0.1:2379 (embedded etcd unless --endpoints is set in ARGS)
	./bin/herald start $(ARGS)

DEMO := /tmp/herald-demo
demo: build etcd-bins ## a 3-herald fleet on one etcd: virtual leases, fan-out, member list (all on 127.0.0.1)
	@rm -rf $(DEMO) && mkdir -p $(DEMO) && head -c 32 /dev/urandom | base64 > $(DEMO)/key
	@./bin/etcd --data-dir $(DEMO)/etcd --listen-client-urls http://127.0.0.1:32379 --advertise-client-urls http://127.0.0.1:32379 \
		--listen-peer-urls http://127.0.0.1:32380 --initial-advertise-peer-urls http://127.0.0.1:32380 \
		--initial-cluster default=http://127.0.0.1:32380 > $(DEMO)/etcd.log 2>&1 & echo $$! > $(DEMO)/pids
	@sleep 2; for i in 1 2 3; do ./bin/herald --name rack$$i --endpoints http://127.0.0.1:32379 --listen-addr 127.0.0.1:3240$$i \
		--metrics-addr 127.0.0.1:3250$$i --data-dir $(DEMO)/h$$i --gossip-addr 127.0.0.1:326$${i}0 --join 127.0.0.1:32610 \
		--gossip-key-file $(DEMO)/key --gossip-profile local --fanout-prefix /services/ > $(DEMO)/h$$i.log 2>&1 & echo $$! >> $(DEMO)/pids; done
	@sleep 3; set -x; ./bin/etcdctl --endpoints 127.0.0.1:32401 member list -w table; \
	./bin/etcdctl --endpoints 127.0.0.1:32403 watch /services/ --prefix & W=$$!; sleep 1; \
	L=$$(./bin/etcdctl --endpoints 127.0.0.1:32401 lease grant 2 | cut -d' ' -f2); \
	./bin/etcdctl --endpoints 127.0.0.1:32401 put /services/web/node1 10.0.0.1 --lease=$$L; \
	./bin/etcdctl --endpoints 127.0.0.1:32401 lease timetolive $$L --keys; \
	./bin/etcdctl --endpoints 127.0.0.1:32379 lease timetolive $$L; \
	sleep 4; kill $$W; set +x; echo "the lease expired in herald: rack3's watcher saw the DELETE above"; \
	kill $$(cat $(DEMO)/pids); echo "logs in $(DEMO)"

clean: ## remove built binaries
	rm -rf bin/
