//! bop, the Box of Pain workbench: trace the communication of unmodified
//! distributed systems under ptrace, turn it into a causal graph, rerun
//! with faults written in logical names, and show it all in a browser.
//!
//! This crate is the `bop` command: the CLI, the runner that records a
//! target (a command or a scenario) through the tracer, scenarios, and
//! explorations. The layers it drives are crates of their own
//! (docs/ARCHITECTURE.md): `bop-model` (vocabulary), `bop-store`,
//! `bop-tracker` (pure: events → causal graph, comparison), `bop-injector`
//! (pure: plans, locators, matching), `bop-tracer` (the only ptrace and
//! `unsafe` code) and `bop-server`.

pub mod cli;
mod cli_search;
pub mod explore;
pub mod runner;
pub mod scenario;
pub mod search;
