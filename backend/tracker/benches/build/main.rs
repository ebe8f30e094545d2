//! `make bench` (`cargo bench -p bop-tracker --bench build`): how long
//! building the causal graph of a run takes, and how much memory it needs,
//! for synthetic logs of 10^5 and 10^6 events ([`synth`]).
//!
//! Each size runs in a child process of its own, so one size's allocations
//! do not inflate the next one's peak. Memory is read from
//! `/proc/self/status` (proc(5)): `VmRSS` once the log is in memory, then
//! the peak `VmHWM` after resetting it through `/proc/self/clear_refs`
//! (writing `5`, Linux 4.0+), so "build peak" is what the build needs on top
//! of the log it reads. Nothing is asserted: DESIGN.md wants performance
//! measured and written down (docs/PERFORMANCE.md), not timed in tests.

mod synth;

use std::error::Error;
use std::process::Command;
use std::time::Instant;

use bop_tracker::{CausalGraph, trace_class};

/// Log sizes measured, in events.
const SIZES: [usize; 2] = [100_000, 1_000_000];

/// Set in a child: the log size it measures.
const CHILD_ENV: &str = "BOP_BENCH_EVENTS";

fn main() -> Result<(), Box<dyn Error>> {
    if let Ok(n) = std::env::var(CHILD_ENV) {
        return measure(n.parse()?);
    }
    println!("causal graph build of a synthetic scenario run (one child process per size)");
    println!();
    println!(
        "| events | threads | messages | build | trace class | log in memory | build peak | build peak / event |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in SIZES {
        let out = Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, n.to_string())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "the {n}-event run failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}

/// Builds one log's graph and prints its table row.
fn measure(n: usize) -> Result<(), Box<dyn Error>> {
    let events = synth::log(n, 0x5eed);
    let log_kb = status_kb("VmRSS")?;
    std::fs::write("/proc/self/clear_refs", "5")?;
    let t = Instant::now();
    let g = CausalGraph::build(&events);
    let build = t.elapsed().as_secs_f64();
    let peak_kb = status_kb("VmHWM")?.saturating_sub(log_kb);
    let t = Instant::now();
    let class = trace_class(&g);
    let class_s = t.elapsed().as_secs_f64();
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "| {} | {} | {} | {build:.2} s | {class_s:.2} s ({class}) | {:.0} MB | {:.0} MB | {:.0} B |",
        events.len(),
        g.threads().len(),
        g.messages().len(),
        mb(log_kb),
        mb(peak_kb),
        peak_kb as f64 * 1024.0 / events.len() as f64,
    );
    Ok(())
}

/// A `kB` line of `/proc/self/status`.
fn status_kb(key: &str) -> Result<u64, Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {key} in /proc/self/status"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}
