//! `bop serve`: the JSON API, the workbench pages and the static frontend.
//!
//! * [`app`] builds the whole [`Router`] from an [`AppState`]; it does no
//!   I/O of its own, so tests drive it with `tower::ServiceExt::oneshot`.
//! * [`serve`] is what the CLI calls: it binds, prints the address, and
//!   serves until Ctrl-C (or SIGTERM), then stops the reruns it started
//!   (docs/ROBUSTNESS.md).
//!
//! Handlers are thin over the library: the [`bop_store`] for runs, the
//! [`bop_tracker::export`] for graphs, and `bop rerun` in a *child
//! process* for reruns (DESIGN.md "Architecture": the server never traces
//! in its own process). Routes: docs/API.md.

mod api;
mod child;
mod compares;
mod error;
mod find;
mod graphs;
mod listen;
mod pages;
mod reruns;
mod runs_query;
mod searches;
mod security;
mod state;
mod tree;
mod windows;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ServerError};
pub use reruns::{
    MAX_DELAY_MS, MAX_FAULTS, MAX_QUEUED, RerunConfig, RerunState, RerunStatus, check_plan,
};
pub use searches::{MAX_QUEUED as MAX_QUEUED_SEARCHES, SearchConfig, SearchState, SearchStatus};
pub use state::AppState;

use bop_store::Store;

/// Largest request body accepted (a fault plan is a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long one request may take before it is answered 408. Graph requests
/// of very large runs are the slowest; reruns run in the background and
/// are not bounded by this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a client may take to send a request's headers before its
/// connection is closed (slow or stalled clients must not pile up).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The Content-Security-Policy of every answer: only this server's own
/// scripts, styles and API, and no framing (clickjacking a rerun button).
/// `style-src-attr` lets the frontend set `style="width: …"` attributes
/// (bar widths, indents); `<style>` elements and every script stay
/// `'self'` only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; style-src-attr 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// What `bop serve` needs to know; filled by the CLI.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Root of the run store.
    pub store: PathBuf,
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    pub addr: SocketAddr,
    /// Directory of the built frontend; `None` → [`default_static_dir`].
    pub static_dir: Option<PathBuf>,
    /// The `bop` executable that reruns are started with (`bop rerun ...`).
    pub bop_exe: PathBuf,
}

/// `<repository>/static` when it exists (running from a source
/// tree, as `make` and the tests do), else `./static`.
pub fn default_static_dir() -> PathBuf {
    let source_tree = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../static");
    if source_tree.is_dir() {
        source_tree
    } else {
        PathBuf::from("static")
    }
}

/// Builds the router: pages, `/api/`, `/static/`, and the layers every
/// request goes through (outermost first: security headers, trace,
/// Host/Origin checks, JSON error bodies on `/api/`, timeout, body limit,
/// compression). The JSON error layer sits outside the timeout and the
/// body limit so their 408 and 413 are JSON too.
pub fn app(state: AppState) -> Router {
    // The bundle has a fixed name, so ask browsers to revalidate instead of
    // caching a stale build (ServeDir answers 304 when unchanged).
    let statics = Router::new()
        .fallback_service(ServeDir::new(state.static_dir()))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    Router::new()
        .merge(pages::router())
        .nest("/api", api::router())
        .nest("/static", statics)
        .fallback(pages::not_found)
        .layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(error::json_error_bodies))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .with_state(state)
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

/// Serves the workbench until Ctrl-C or SIGTERM. Blocking: it builds its own
/// tokio runtime. Prints `bop serve: listening on http://ADDR/` on stdout
/// (flushed, so scripts can wait for it and read the port).
pub fn serve(config: ServeConfig) -> Result<(), ServerError> {
    let store = Store::open(&config.store)?;
    let static_dir = config.static_dir.clone().unwrap_or_else(default_static_dir);
    if !static_dir.join("app.js").is_file() {
        // Never a panic on a closed stderr (`bop serve 2>&1 | true`).
        let _ = writeln!(
            std::io::stderr(),
            "bop serve: warning: {} has no app.js; pages will not draw (build the frontend: npm --prefix frontend run build)",
            static_dir.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
        let state = AppState::new(store, addr, static_dir, RerunConfig::new(config.bop_exe));
        let router = app(state.clone());
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the server; the address is also logged.
        let _ = writeln!(out, "bop serve: listening on http://{addr}/").and_then(|()| out.flush());
        drop(out);
        tracing::info!(%addr, "listening");
        listen::serve(listener, router, shutdown_signal()).await;
        state.reruns().shutdown().await;
        state.searches().shutdown().await;
        Ok(())
    })
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
