# The one test command (the README's and CI's): vet, then every test,
# including the integration tests that start their own servers.
GO ?= go

.PHONY: test deps e2e-deps e2e vet unit bench fuzz run build

test: deps vet
	$(GO) test -count=1 -timeout 20m ./...

# Installs what the integration tests need when it is missing (PostgreSQL
# server binaries, nats-server, chromium); does nothing when they are
# present. Then the browser tests' npm packages, exactly as locked.
deps:
	sh scripts/install-test-deps.sh
	$(MAKE) e2e-deps

e2e-deps:
	cd e2e && npm ci --no-audit --no-fund

# Only the browser tests (headless Chromium against `parcelguard demo`);
# screenshots land in e2e/artifacts/.
e2e: e2e-deps
	$(GO) test -count=1 -v -run TestBrowser ./e2e/

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Short tests only: no property-test marathons, no servers.
unit:
	$(GO) test -short ./...

# Store and service benchmarks (figures, not pass/fail).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./sqlite/ ./postgres/ ./service/

# Run each fuzz target for a while (FUZZTIME=1m make fuzz).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./code/ -run '^$$' -fuzz FuzzTokenVerify -fuzztime $(FUZZTIME)
	$(GO) test ./code/ -run '^$$' -fuzz FuzzKeyringLoad -fuzztime $(FUZZTIME)

build:
	$(GO) build -o bin/parcelguard ./cmd/parcelguard

run:
	$(GO) run ./cmd/parcelguard serve
