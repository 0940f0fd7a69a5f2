# kadnode — build, test, lint and benchmark targets.
GO        ?= go
BIN       ?= bin/kadnode
FUZZTIME  ?= 100000x
STATICCHECK_VERSION ?= v0.8.2

.PHONY: build static test test-short fuzz lint bench

build:
	$(GO) build -o $(BIN) .

# Static binaries for FROM-scratch container images: the node, and the
# docker testnet's NAT router.
static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/kadnode-static .
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/natrouter-static ./testnet/docker/natrouter

# Every package runs under the race detector. The in-process networks of
# ./testnet (50 to 200 real nodes) and the simulator's networks of
# ./testnet/sim (150 to 300 nodes in virtual time) run under it at reduced
# size, and again at full size without it: under -race they alone would
# take longer than the rest of the suite. ./testnet/natlab's networks are
# kadnode processes (built without the race detector either way), in
# network namespaces; its full-size run shares the last pass with them.
FULL_SIZE_PKGS = ./testnet ./testnet/sim ./testnet/natlab
test:
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -vxF "$$($(GO) list $(FULL_SIZE_PKGS))")
	$(GO) test -race -short -count=1 -timeout 20m $(FULL_SIZE_PKGS)
	$(GO) test -count=1 -timeout 20m $(FULL_SIZE_PKGS)

test-short:
	$(GO) test -short -count=1 ./...

# Each fuzz target runs for FUZZTIME; go test -fuzz takes one target at a time.
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target with a bare "context deadline exceeded" at the deadline
# (golang/go#75804, fixed in Go 1.27), with no input found.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./kad
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME) ./wire
	$(GO) test -run '^$$' -fuzz '^FuzzGuard$$' -fuzztime $(FUZZTIME) ./cli
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeItem$$' -fuzztime $(FUZZTIME) ./store
	$(GO) test -run '^$$' -fuzz '^FuzzHelloCookie$$' -fuzztime $(FUZZTIME) ./wire
	$(GO) test -run '^$$' -fuzz '^FuzzCheckProof$$' -fuzztime $(FUZZTIME) ./wire

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt -w needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./kad ./wire ./store ./node

# kadnode and anacrolix/dht side by side in one process on loopback; prints
# markdown tables and writes them to testnet/benchcompare/RESULTS.md.
# -revalidate 1m: a thousand nodes share two cores here, and at kadnode's
# default 5 s their background liveness pings (mostly fresh handshakes)
# swamp every figure; at N = 1,000, k = 20 the process holds about 2.5 GB
# RSS after the join.
BENCH_COMPARE_N     ?= 100,500,1000
BENCH_COMPARE_FLAGS ?= -lookups 200 -answer-runs 5 -revalidate 1m -timeout 90m
# Built, not run with go run, so that the binary carries the commit that
# the results' header names (-buildvcs=auto overrides a GOFLAGS that turns
# the stamp off).
BENCH_COMPARE_BIN = bin/benchcompare
.PHONY: bench-compare bench-compare-bin
bench-compare-bin:
	$(GO) build -buildvcs=auto -o $(BENCH_COMPARE_BIN) ./testnet/benchcompare

bench-compare: bench-compare-bin
	$(BENCH_COMPARE_BIN) -n $(BENCH_COMPARE_N) $(BENCH_COMPARE_FLAGS) -out testnet/benchcompare/RESULTS.md

# The same on a path with latency: every datagram the nodes send waits
# 10 ms on a delay line in the process (a 20 ms round trip), where a first
# contact costs round trips rather than CPU. Into a file of its own.
.PHONY: bench-compare-delay
bench-compare-delay: bench-compare-bin
	$(BENCH_COMPARE_BIN) -n 100,500,1000 -k 8 -delay 10ms -lookups 200 -answer-runs 1 -revalidate 1m -rest-wait 0 -timeout 60m -out testnet/benchcompare/RESULTS-delay.md

# BEP 44 put and get on both systems (and the lookups before them) at
# N = 500, into a file of its own so that RESULTS.md keeps its sizes.
.PHONY: bench-compare-values
bench-compare-values: bench-compare-bin
	$(BENCH_COMPARE_BIN) -n 500 -k 8,20 -values 500 -lookups 200 -revalidate 1m -rest-wait 0 -timeout 80m -out testnet/benchcompare/RESULTS-values.md

# docker-compose testnet: a seed and N nodes from a FROM-scratch image around
# the static binary. testnet-check runs the failure scenario and always
# tears the testnet down; CI uses a small N.
N               ?= 20
# The check's bound; unset, it grows with N and the watch (28m at N = 100).
TESTNET_TIMEOUT ?=
# How long testnet-check watches the quiet network for false evictions.
TESTNET_OBSERVE ?= 2m

.PHONY: testnet-up testnet-down testnet-check sim

testnet-up: static
	$(GO) run ./testnet/docker up -n $(N)

testnet-down:
	$(GO) run ./testnet/docker down

testnet-check: static
	$(GO) run ./testnet/docker check -n $(N) $(if $(TESTNET_TIMEOUT),-timeout $(TESTNET_TIMEOUT)) -observe $(TESTNET_OBSERVE)

# Simulated network of SIM_NODES unchanged nodes in one process (in-memory
# transport); SIM_FLAGS passes more options, e.g. SIM_FLAGS='-churn 0.1,0.3'.
SIM_NODES ?= 1000,10000
SIM_FLAGS ?=

sim:
	$(GO) run ./testnet/sim/cmd/kadsim -n $(SIM_NODES) $(SIM_FLAGS)

# Hostile conditions at full size (handshake flood, request load, table
# poisoning, spoofing, amplification, disk faults, soak); each test prints
# its figures. The regular test run skips the long ones and runs the rest
# scaled down. HOSTILE_FLAGS passes more options, e.g. -race or
# -run TestSoak; KADNODE_HOSTILE_<SIZE>=n overrides one size.
HOSTILE_FLAGS ?=
.PHONY: hostile
hostile:
	KADNODE_HOSTILE=1 $(GO) test -count=1 -v -timeout 60m $(HOSTILE_FLAGS) ./testnet/hostile/

# Real Linux NAT: kadnode processes in network namespaces behind iptables
# MASQUERADE routers (needs root, ip, iptables). `make test` runs the short
# cases of the same package; this adds the long ones (2 minutes of idle
# mappings, 20 fresh networks). The tests without NAT (the bridge and the
# delay router) ran in `make test` already.
.PHONY: nat-test
nat-test:
	KADNODE_NAT_LONG=1 $(GO) test -count=1 -v -timeout 20m -skip 'TestBridgeConverges|TestDelayedNetworkConverges|TestLookupsOverAReorderingPath|TestDelayRouterDelays' ./testnet/natlab/
