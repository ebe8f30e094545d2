//! The HTTP API and pages of `bop serve`, driven through `server::app` with
//! `tower::ServiceExt::oneshot` on a temporary store holding runs written
//! with the store API; one smoke test serves on a real socket.
//!
//! Reruns start a real child process: the real `bop` binary rerunning a
//! parent recorded with `bop demo` (real ptrace, real fault injection),
//! and small shell scripts standing in for it to cover failure output,
//! timeouts and the queue.
//!
//! This module holds the fixtures and helpers; each area has its own
//! module, and requests the API must refuse are tables run by
//! [`assert_refused`].

// Runs: the list, one run's manifest, graph, events and exports, delete.
mod runs;
// Reruns: plan checks, the real binary, failures, the queue and timeouts.
mod reruns;
// Pages and static files.
mod pages;
// Explorations written by `bop explore`: the list and one exploration.
mod explorations;
// Comparing two runs: the API and the page.
mod compare;
// Host and Origin checks against DNS rebinding and cross-site writes.
mod security;
// Navigation of big runs: find over a real run's events, the rerun tree.
mod navigation;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bop_model::{Counts, Event, Manifest, RunStatus, Target, Verdict};
use bop_server::{AppState, RerunConfig, app};
use bop_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

pub(crate) const ADDR: &str = "127.0.0.1:7878";
const PLAN: &str = r#"{"faults":[{"kind":"delay","message":"client->primary#0/3","ms":500}]}"#;

/// Stand-ins for `bop rerun`, written once before any test forks (a
/// script still open for writing in a forked child cannot be executed:
/// ETXTBSY).
pub(crate) struct Scripts {
    pub(crate) dir: PathBuf,
}

pub(crate) fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let write = |name: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        // args: rerun PARENT --store STORE --id NEWID --faults PLAN
        write("fail", "echo \"bop rerun: cannot trace $2: injected failure\" >&2; exit 3");
        write(
            "succeed",
            r#"mkdir "$4/$6" && cp "$8" "$4/$6/plan.json" && sed "s/PARENT/$2/; s/NEWID/$6/" "$4/template.json" > "$4/$6/manifest.json""#,
        );
        write("hang", "echo started >&2; exec sleep 30");
        // Says how it was called, then fails: what a search child is given.
        write("args", "echo \"args: $*\" >&2; exit 3");
        Scripts { dir }
    })
}

fn manifest(id: &str, started_ms: u64, parent: Option<&str>) -> Manifest {
    Manifest {
        ended_ms: Some(started_ms + 250),
        status: RunStatus::Done,
        exit_status: Some(0),
        verdict: if parent.is_some() {
            Verdict::Fail
        } else {
            Verdict::Pass
        },
        trace_class: Some("c0ffee".into()),
        parent: parent.map(str::to_string),
        faults: if parent.is_some() {
            serde_json::from_value(json!([
                {"fault": {"kind": "drop", "message": "a->b#0/0"}, "fired": true,
                 "at": {"event": "a:t0/3:write", "seq": 4, "pid": 10, "tid": 10,
                        "call": "write", "at_ms": 3},
                 "effect": "drop", "count": 1},
                {"fault": {"kind": "drop", "message": "a->b#0/1"}, "fired": false,
                 "at": null, "effect": "message 'a->b#0/1' did not occur in the parent run",
                 "count": 0},
            ]))
            .unwrap()
        } else {
            vec![]
        },
        counts: Counts {
            events: 5,
            processes: 1,
            threads: 1,
        },
        ..Manifest::new(
            id,
            Target::Command {
                argv: vec!["sh".into(), "-c".into(), "echo hi".into()],
                cwd: "/".into(),
            },
            "sh -c 'echo hi'",
            started_ms,
        )
    }
}

pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) app: Router,
}

/// A store with `r1` (5 events), its rerun `r2`, and `r3`, newest last.
pub(crate) fn fixture_with(bop_exe: PathBuf, max_concurrent: usize, timeout: Duration) -> Fixture {
    scripts();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("runs")).unwrap();
    for (i, (id, parent)) in [("r1", None), ("r2", Some("r1")), ("r3", None)]
        .into_iter()
        .enumerate()
    {
        let run = store.create(Some(id)).unwrap();
        run.write_manifest(&manifest(id, 1_000 + i as u64, parent))
            .unwrap();
        let mut w = run.event_writer().unwrap();
        // Nodes `client` and `primary` start, then the client writes: a
        // plan may name them (issue 17: names of processes a run does not
        // have are refused).
        for seq in 1..=5 {
            let (pid, call) = match seq {
                1 => (10, "start"),
                2 => (11, "start"),
                _ => (10, "write"),
            };
            let mut ev = Event {
                seq,
                pid,
                tid: pid,
                call: call.into(),
                start_ns: seq * 10,
                end_ns: Some(seq * 10 + 5),
                ..Default::default()
            };
            if call == "start" {
                ev.detail.node = Some(if pid == 10 { "client" } else { "primary" }.into());
            } else {
                (ev.fd, ev.ret, ev.bytes) = (Some(1), Some(3), Some(3));
            }
            w.append(&ev).unwrap();
        }
    }
    // For the `succeed` script: the manifest it writes for the new run.
    let mut template = serde_json::to_value(manifest("NEWID", 5_000, Some("PARENT"))).unwrap();
    template["faults"] = json!([]);
    std::fs::write(
        store.root().join("template.json"),
        serde_json::to_string(&template).unwrap(),
    )
    .unwrap();
    let static_dir = dir.path().join("static");
    std::fs::create_dir(&static_dir).unwrap();
    std::fs::write(static_dir.join("app.js"), "console.log('bop');\n").unwrap();
    let addr: SocketAddr = ADDR.parse().unwrap();
    let config = RerunConfig {
        bop_exe,
        max_concurrent,
        timeout,
    };
    let app = app(AppState::new(store.clone(), addr, static_dir, config));
    Fixture {
        _dir: dir,
        store,
        app,
    }
}

pub(crate) fn fixture() -> Fixture {
    fixture_with(crate::common::bop_exe(), 2, Duration::from_secs(20))
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    /// Asserts an API error of the documented shape.
    pub(crate) fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.content_type(), "application/json", "{}", self.text());
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap()
}

pub(crate) fn post_json(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, ADDR)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri)
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap()
}

/// A request the API must refuse: the status, the `error` code and a
/// part of the `detail` sentence it must answer with.
pub(crate) struct Refused {
    request: Request<Body>,
    status: StatusCode,
    error: &'static str,
    detail: String,
}

pub(crate) fn refused(
    request: Request<Body>,
    status: StatusCode,
    error: &'static str,
    detail: impl Into<String>,
) -> Refused {
    Refused {
        request,
        status,
        error,
        detail: detail.into(),
    }
}

/// Names a case by its request line, the headers the checks look at and
/// the start of its body; returns the request put back together.
async fn describe(req: Request<Body>) -> (String, Request<Body>) {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut line = format!("{} {}", parts.method, parts.uri);
    for name in [header::HOST, header::ORIGIN, header::CONTENT_TYPE] {
        match parts.headers.get(&name) {
            Some(v) => line += &format!(" {name}: {}", v.to_str().unwrap_or("?")),
            None if name == header::HOST => line += " (no host)",
            None => {}
        }
    }
    if !body.is_empty() {
        let text = String::from_utf8_lossy(&body);
        let start: String = text.chars().take(80).collect();
        let more = if start.len() < text.len() { "..." } else { "" };
        line += &format!(" body: {start}{more} ({} bytes)", body.len());
    }
    (line, Request::from_parts(parts, Body::from(body)))
}

/// Sends every case and checks each answer has the documented error shape
/// (JSON `{error, detail}`) with the expected status, code and detail;
/// reports every case that did not, by its request, in one failure.
pub(crate) async fn assert_refused(app: &Router, cases: Vec<Refused>) {
    let mut failures = Vec::new();
    for case in cases {
        let (what, request) = describe(case.request).await;
        let reply = send(app, request).await;
        let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
        let detail = body
            .as_ref()
            .and_then(|b| b["detail"].as_str())
            .unwrap_or("");
        let ok = reply.status == case.status
            && reply.content_type() == "application/json"
            && body.as_ref().is_some_and(|b| b["error"] == case.error)
            && !detail.is_empty()
            && detail.contains(&case.detail);
        if !ok {
            failures.push(format!(
                "{what}\n  expected {} {} with a detail containing {:?}\n  got {} ({}) {}",
                case.status.as_u16(),
                case.error,
                case.detail,
                reply.status.as_u16(),
                reply.content_type(),
                reply.text()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} refused request(s) answered wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
