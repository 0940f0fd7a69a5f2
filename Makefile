# kadnode — build, test, lint and benchmark targets.
GO        ?= go
BIN       ?= bin/kadnode
FUZZTIME  ?= 10s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: build static test test-short fuzz lint bench

build:
	$(GO) build -o $(BIN) .

# A static binary for FROM-scratch container images.
static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/kadnode-static .

test:
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Each fuzz target runs for FUZZTIME; go test -fuzz takes one target at a time.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./wire
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME) ./wire

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./wire ./store ./node

# kadnode and anacrolix/dht side by side in one process on 127.0.0.1; prints
# a markdown table and writes it to testnet/benchcompare/RESULTS.md.
BENCH_COMPARE_N ?= 100,500,1000
.PHONY: bench-compare
bench-compare:
	$(GO) run ./testnet/benchcompare -n $(BENCH_COMPARE_N) -out testnet/benchcompare/RESULTS.md
