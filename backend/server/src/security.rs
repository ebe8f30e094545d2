//! Request checks that protect a workbench listening on localhost from web
//! pages in the same browser.
//!
//! * **DNS rebinding**: a hostile page can point its own domain name at
//!   127.0.0.1 and then read our API as "same origin". The browser still
//!   sends *its* name in `Host`, so we answer only requests whose Host is
//!   this server: the bound address, or `localhost`/`127.0.0.1`/`[::1]` with
//!   the bound port. When bound to a wildcard address (0.0.0.0), any IP
//!   literal with our port is accepted too: an IP literal cannot be rebound.
//! * **Cross-site requests**: a hostile page can *send* (not read) a form
//!   POST or a `fetch` with `mode: no-cors` to us. State-changing methods
//!   must come without an `Origin` (curl, scripts) or with an `Origin` that
//!   is one of the accepted hosts over http. Together with the JSON-only
//!   content type (a cross-site form cannot send `application/json` without
//!   a CORS preflight, which we never grant), this blocks CSRF.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;

/// Middleware applied to every route.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match check(state.addr(), &req) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            tracing::warn!(method = %req.method(), uri = %req.uri(), "refused: {e}");
            e.into_response()
        }
    }
}

fn check(addr: SocketAddr, req: &Request) -> Result<(), ApiError> {
    // HTTP/1.1 sends Host; HTTP/2 puts the authority in the URI instead.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        return Err(ApiError::ForbiddenHost(
            "the request has no Host header".into(),
        ));
    };
    if !host_allowed(addr, &host) {
        return Err(ApiError::ForbiddenHost(format!(
            "Host '{host}' is not this server; use http://{}/ (requests for other host names are refused to prevent DNS rebinding)",
            display_addr(addr)
        )));
    }
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let same = origin
            .strip_prefix("http://")
            .is_some_and(|h| host_allowed(addr, h));
        if !same {
            return Err(ApiError::CrossOrigin(format!(
                "{} from origin '{origin}' refused: only pages served by this server may change runs",
                req.method()
            )));
        }
    }
    Ok(())
}

fn display_addr(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// True when `host` (`name[:port]`) names this server.
fn host_allowed(addr: SocketAddr, host: &str) -> bool {
    let (name, port) = split_host_port(host);
    // A missing port means 80; only matches when we serve on 80.
    if port.unwrap_or(80) != addr.port() {
        return false;
    }
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = bare.parse::<IpAddr>() else {
        return false;
    };
    ip == addr.ip() || ip.is_loopback() || addr.ip().is_unspecified()
}

fn split_host_port(host: &str) -> (&str, Option<u16>) {
    // `[::1]:8080`, `[::1]`, `127.0.0.1:8080`, `localhost`
    if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return (host, None);
        };
        let name = &host[..end + 2];
        let port = rest[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok());
        return (name, port);
    }
    match host.rsplit_once(':') {
        Some((name, port)) => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (host, Some(0)),
        },
        None => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "127.0.0.2:8080",
        ] {
            assert!(host_allowed(local, ok), "{ok} refused");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost",
            "192.168.1.2:8080",
            "127.0.0.1:80x",
            "",
        ] {
            assert!(!host_allowed(local, bad), "{bad} accepted");
        }
        let any: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert!(host_allowed(any, "192.168.1.2:9000"));
        assert!(!host_allowed(any, "rebind.example:9000"));
        let v6: SocketAddr = "[::1]:7000".parse().unwrap();
        assert!(host_allowed(v6, "[::1]:7000"));
        assert!(!host_allowed(v6, "[::1]"));
    }
}
