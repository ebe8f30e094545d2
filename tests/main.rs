//! End-to-end tests of the real `bop` binary on real guests under real
//! ptrace. One test binary; each module is one area.
#![allow(unreachable_pub, missing_docs)]

// Helpers: run bop, read a run back, assert with the output in the message.
mod common;
// bop run/show/runs/export/delete on the CLI: exit statuses and error messages.
mod cli;
// The tracer on each guest kind: exact event counts and byte totals.
mod trace;
// Scenarios, the bundled demo and a real redis.
mod scenario;
// The fault injector: every fault kind, plan errors, the demo's seeded bugs.
mod inject;
// The causal graph of real guests: matching, edges, classes, a snapshot.
mod tracker;
// Exploration: class histograms, sweeps, stopping midway.
mod explore;
// bop diff on real runs.
mod diff;
// The HTTP API and pages of bop serve through app(), one module per area;
// reruns by the real binary.
mod api;
// Searches through the API: a real search of the demo, validation, stop, the queue.
mod api_searches;
// GET /api/runs on 3,000 runs: cursor paging, filters, group tags.
mod api_runs_paging;
// The comparison summary kept next to run A: read back by a new bop serve, recomputed when damaged.
mod api_compare_kept;
// GET /api/runs/{id}/window on recorded runs: restriction, errors, lazy index, memory.
mod api_window;
// The window index through a real bop serve: find as over the graph, damaged or half-built files rebuilt.
mod index_repair;
// Hardening of bop serve and the store: JSON errors, headers, queue, deletes, disks, signals.
mod hardening;
// Hardening of the CLI: closed pipes, error chains, validation, readiness, checks, signals.
mod hardening_cli;
// bop search: lineage-driven fault injection finds the demo's seeded bugs.
mod search;
// The tracer on patterns of real systems: late accepts, dual-stack servers.
mod fidelity_tracer;
// Fidelity of the tracker and injector on real guests (issue 13).
mod fidelity_tracker;
// Blind spots of issue 13: transfers, eventfd handoffs, io_uring, unlinked sides.
mod fidelity3;
// Real systems (nginx, memcached, PostgreSQL): linked connections, stable names, plans that fire.
mod real_systems;
// The fast path gives the same causal graphs as ptrace alone on every guest (issue 15).
mod fastpath_equiv;
// The fast path: the same records with and without it, fallbacks, faults (issue 15).
mod fastpath;
// The fast path's fallback on a dynamically linked Go program (raw calls).
mod fastpath_go;
// Faults named by messages on a Go program: they fire in every rerun, searches do not grow.
mod go_names;
// Faults with the fast path on: the processes a plan cannot act on use it (issue 15).
mod fastpath_faults;
