//! bop, the Box of Pain workbench: trace the communication of unmodified
//! distributed systems under ptrace, turn it into a causal graph, rerun
//! with faults written in logical names, and show it all in a browser.
//!
//! Layers (DESIGN.md "Architecture"): [`tracer`] (the only ptrace caller)
//! writes [`model::Event`]s into the [`store`]; [`tracker`] is pure code
//! from events to the causal graph; [`server`] serves both over HTTP.

pub mod cli;
pub mod diff;
pub mod explore;
pub mod inject;
pub mod model;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod store;
pub mod tracer;
pub mod tracker;
