#!/usr/bin/env bash
# The comparison page of two big runs in headless Chromium: first frame
# and centred on the divergence on a fresh server (the comparison
# computed and kept), again (in memory), and on a second fresh server (the
# kept summary read from disk), with each `bop serve`'s peak RSS, for TCP
# ping-pongs of 10^5 and 10^6 events (frontend/bench/compare.bench.mjs).
# Results go to stdout; docs/PERFORMANCE.md is updated by hand from them.
# BENCH_ROUND_TRIPS=25000,250000 (4 events per round trip);
# BENCH_STORES=DIR,DIR reuses stores holding runs a and b, one per size.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release --workspace --bins
cd frontend
[ -d node_modules ] || npm ci --no-audit --no-fund
BENCH_ROUND_TRIPS=${BENCH_ROUND_TRIPS:-25000,250000} BOP="$(pwd)/../target/release/bop" npm run -s bench:compare
