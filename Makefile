# Each target is one obvious command; `make run` and `make test` are the
# whole setup on a fresh Debian/Ubuntu machine with a Rust toolchain.
SHELL := /bin/bash
CARGO ?= cargo
STORE ?= runs
ADDR ?= 127.0.0.1:8080
BOP := target/release/bop

.PHONY: all build frontend run demo test test-rust test-frontend e2e lint fmt bench bench-quick clean

all: build

build: frontend
	$(CARGO) build --release --workspace

# The frontend bundle is built from a fresh clone (no committed bundle).
frontend:
	@if [ -f frontend/package.json ]; then \
	  (cd frontend && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build); \
	fi

# Records the bundled demo and serves the workbench on 127.0.0.1.
run: build
	-$(BOP) demo --store $(STORE)
	$(BOP) serve --store $(STORE) --addr $(ADDR)

demo: build
	$(BOP) demo --store $(STORE)

test: test-rust test-frontend e2e

test-rust:
	$(CARGO) build --workspace --bins --lib
	$(CARGO) test --workspace

test-frontend:
	@if [ -f frontend/package.json ]; then \
	  (cd frontend && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm test); \
	fi

e2e: build
	@if [ -f frontend/package.json ] && grep -q '"e2e"' frontend/package.json; then \
	  (cd frontend && BOP=$(abspath $(BOP)) npm run e2e); \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench: build
	bash tests/bench/run.sh

# One repetition of small workloads: checks that the benchmark runs.
bench-quick: build
	BENCH_QUICK=1 bash tests/bench/run.sh

clean:
	$(CARGO) clean
	rm -rf static/app.js static/app.js.map frontend/node_modules
