//! Test-only stand-in for `bop serve` until the CLI wires it (the browser
//! end-to-end tests start this): `cargo run -p bop --example serve --
//! --store DIR [--addr 127.0.0.1:0] [--static DIR] [--bop-exe PATH]`.
//! The real command is `bop serve`; this example only maps flags onto
//! [`bop::server::ServeConfig`].

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut store = PathBuf::from("runs");
    let mut addr = "127.0.0.1:8080".to_string();
    let mut static_dir = None;
    // Reruns call `bop rerun`; the bop binary sits beside this example's
    // directory (target/debug/examples/serve → target/debug/bop).
    let mut bop_exe = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("bop")))
        .unwrap_or_else(|| PathBuf::from("bop"));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            eprintln!("serve: {flag} needs a value");
            return ExitCode::from(2);
        };
        match flag.as_str() {
            "--store" => store = value.into(),
            "--addr" => addr = value,
            "--static" => static_dir = Some(value.into()),
            "--bop-exe" => bop_exe = value.into(),
            _ => {
                eprintln!("serve: unknown flag {flag} (use --store, --addr, --static, --bop-exe)");
                return ExitCode::from(2);
            }
        }
    }
    let addr = match addr.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("serve: bad --addr {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    match bop::server::serve(bop::server::ServeConfig {
        store,
        addr,
        static_dir,
        bop_exe,
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bop serve: {e}");
            ExitCode::FAILURE
        }
    }
}
