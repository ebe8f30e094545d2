//! bop, the Box of Pain workbench: trace the communication of unmodified
//! distributed systems under ptrace, turn it into a causal graph, rerun
//! with faults written in logical names, and show it all in a browser.
//!
//! This crate is the `bop` command: the CLI (one module per subcommand),
//! the runner that records a target (a command or a scenario) through the
//! tracer, baselines (the plain run a fault plan's names come from),
//! scenarios, explorations, searches, and the child-process reruns they
//! run on. The
//! layers it drives are crates of their own (docs/ARCHITECTURE.md):
//! `bop-model` (vocabulary), `bop-store`, `bop-tracker` (pure: events →
//! causal graph, comparison), `bop-injector` (pure: plans, locators,
//! matching), `bop-tracer` (the only ptrace and `unsafe` code) and
//! `bop-server`.

pub mod baseline;
pub mod cli;
pub mod explore;
pub(crate) mod jobs;
pub mod runner;
pub mod scenario;
pub mod search;
