//! `bop serve`: the workbench (JSON API, pages, frontend) on 127.0.0.1.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::StoreArg;

/// Serve the workbench (JSON API and pages) on 127.0.0.1.
#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Address to listen on (port 0 picks a free one; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Directory of the built frontend (default: the source tree's static/).
    #[arg(long = "static")]
    static_dir: Option<PathBuf>,
}

pub(super) fn run(args: ServeArgs) -> Result<ExitCode> {
    // BOP_LOG filters the server's log lines (tracing's env-filter syntax).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOP_LOG")
                .unwrap_or_else(|_| "bop=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let store = args.store.open()?.root().to_path_buf();
    bop_server::serve(bop_server::ServeConfig {
        store,
        addr: args.addr,
        static_dir: args.static_dir,
        // Reruns are child processes of this same binary.
        bop_exe: std::env::current_exe().context("cannot find the bop executable")?,
    })?;
    Ok(ExitCode::SUCCESS)
}
