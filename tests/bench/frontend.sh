#!/usr/bin/env bash
# The run page of big runs in headless Chromium: first frame, zoom and pan
# frame times, window fetches, for TCP ping-pongs of 10^5 and 10^6 events
# (frontend/bench/windowed.bench.mjs). Results go to stdout; docs/
# PERFORMANCE-frontend.md's table is updated by hand from them.
# BENCH_ROUND_TRIPS=25000,250000 (4 events per round trip).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release --workspace --bins
cd frontend
[ -d node_modules ] || npm ci --no-audit --no-fund
BOP="$(pwd)/../target/release/bop" npm run -s bench:browser
