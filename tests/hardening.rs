//! Hardening of `bop serve` and the store (issue 17): every API error is
//! JSON, security headers on every answer, a bounded rerun queue, delete
//! conflicts, damaged runs, full disks, stalled clients and shutdown with
//! reruns in flight. API cases go through `bop_server::app()` on a store
//! written with the store API; stalled clients and signals go through the
//! real `bop serve` on a real socket, with the real `bop rerun`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bop_model::{Manifest, RunStatus, Target, Verdict};
use bop_server::{AppState, MAX_QUEUED, RerunConfig, app};
use bop_store::Store;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::Served;

const HOST: &str = "127.0.0.1:7979";
/// A plan that names nothing, so it is valid against any parent.
const PLAN: &str = r#"{"faults":[{"kind":"error","call":"connect","errno":"ECONNREFUSED"}]}"#;

fn run_manifest(id: &str, command: &str) -> Manifest {
    Manifest {
        ended_ms: Some(1_764_000_000_100),
        status: RunStatus::Done,
        exit_status: Some(0),
        verdict: Verdict::Pass,
        ..Manifest::new(
            id,
            Target::Command {
                argv: vec!["true".into()],
                cwd: "/".into(),
            },
            command,
            1_764_000_000_000,
        )
    }
}

/// A temporary store with run `p` (no events) and an app over it whose
/// reruns are started with `exe`, one at a time.
struct Server {
    dir: tempfile::TempDir,
    store: Store,
    app: Router,
}

impl Server {
    fn new(exe: PathBuf) -> Server {
        Server::at(tempfile::tempdir().unwrap(), exe)
    }

    fn at(dir: tempfile::TempDir, exe: PathBuf) -> Server {
        let store = Store::open(dir.path().join("store")).unwrap();
        add_run(&store, "p");
        let mut config = RerunConfig::new(exe);
        config.max_concurrent = 1;
        let app = app(AppState::new(
            store.clone(),
            HOST.parse().unwrap(),
            dir.path().to_path_buf(),
            config,
        ));
        Server { dir, store, app }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, bytes.to_vec())
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(request(Method::GET, uri, None)).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn plan_files(&self) -> usize {
        std::fs::read_dir(self.store.root().join(".bop-serve/plans")).map_or(0, |d| d.count())
    }
}

fn add_run(store: &Store, id: &str) {
    store
        .create(Some(id))
        .unwrap()
        .write_manifest(&run_manifest(id, "true"))
        .unwrap();
}

fn request(method: Method, uri: &str, json: Option<&str>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    match json {
        Some(body) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// An executable shell script written by a child process (a file this
/// process held open for writing could not be executed by a child forked
/// meanwhile: ETXTBSY).
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let ok = Command::new("sh")
        .args([
            "-c",
            "printf '#!/bin/sh\\n%s\\n' \"$1\" > \"$0\" && chmod 755 \"$0\"",
        ])
        .arg(&path)
        .arg(body)
        .status()
        .unwrap();
    assert!(ok.success());
    path
}

fn assert_security_headers(what: &str, headers: &axum::http::HeaderMap) {
    let get = |h: header::HeaderName| headers.get(&h).and_then(|v| v.to_str().ok()).unwrap_or("");
    let csp = get(header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp:?}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert_eq!(get(header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(get(header::REFERRER_POLICY), "no-referrer", "{what}");
}

#[tokio::test]
async fn every_api_error_is_json_with_security_headers() {
    let s = Server::new("/bin/false".into());
    let big = format!(r#"{{"faults":[],"pad":"{}"}}"#, "x".repeat(70 * 1024));
    let post = |uri: &str, body: &str| request(Method::POST, uri, Some(body));
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "over the limit with a Content-Length",
            {
                let mut r = post("/api/runs/p/reruns", &big);
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, big.len().into());
                r
            },
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "a JSON array as a plan",
            post(
                "/api/runs/p/reruns",
                &format!("[{}]", r#"[{"kind":"drop","message":"a->b#0/0"}]"#),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "a string as a plan",
            post("/api/runs/p/reruns", r#""faults""#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "a number as a plan",
            post("/api/runs/p/reruns", "3"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "null as a plan",
            post("/api/runs/p/reruns", "null"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "a plan of the wrong shape",
            post("/api/runs/p/reruns", r#"{"faults":3}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "not JSON",
            post("/api/runs/p/reruns", "{"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "no content type",
            request(Method::POST, "/api/runs/p/reruns", None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a path that is not UTF-8",
            request(Method::GET, "/api/runs/%FF", None),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "a bad query",
            request(Method::GET, "/api/runs?limit=x", None),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (
            "a bad id",
            request(Method::GET, "/api/runs/.x/graph", None),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            "a missing run's graph",
            request(Method::GET, "/api/runs/nosuch/graph", None),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a wrong method",
            request(Method::PUT, "/api/runs", None),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "no such route",
            request(Method::GET, "/api/nosuch", None),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a foreign Host",
            Request::builder()
                .uri("/api/runs")
                .header(header::HOST, "evil.example:7979")
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
            "forbidden_host",
        ),
    ];
    for (what, req, status, code) in cases {
        let (got, headers, body) = s.send(req).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "{what}: {text}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/json",
            "{what}: {text}"
        );
        let v: Value =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
        assert_eq!(v["error"], code, "{what}: {text}");
        assert!(
            v["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: {text}"
        );
        assert_security_headers(what, &headers);
    }
    assert_eq!(s.plan_files(), 0, "a refused plan was written");
}

#[tokio::test]
async fn pages_statics_and_the_favicon_carry_security_headers() {
    let s = Server::new("/bin/false".into());
    std::fs::write(s.dir.path().join("app.js"), "1;\n").unwrap();
    for (uri, status, content_type) in [
        ("/", StatusCode::OK, "text/html; charset=utf-8"),
        ("/runs/p", StatusCode::OK, "text/html; charset=utf-8"),
        (
            "/runs/nosuch",
            StatusCode::NOT_FOUND,
            "text/html; charset=utf-8",
        ),
        ("/nosuch", StatusCode::NOT_FOUND, "text/html; charset=utf-8"),
        ("/static/app.js", StatusCode::OK, "text/javascript"),
        ("/favicon.ico", StatusCode::OK, "image/svg+xml"),
        ("/api/runs", StatusCode::OK, "application/json"),
        ("/api/runs/p/graph", StatusCode::OK, "application/json"),
    ] {
        let (got, headers, body) = s.send(request(Method::GET, uri, None)).await;
        assert_eq!(got, status, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "{uri}");
        assert_security_headers(uri, &headers);
        if uri == "/favicon.ico" {
            assert!(body.starts_with(b"<svg"), "{uri}");
        }
        if content_type.starts_with("text/html") {
            let html = String::from_utf8_lossy(&body);
            assert!(
                html.contains(r#"rel="icon" href="/favicon.ico""#),
                "{uri}: {html}"
            );
        }
    }
}

#[tokio::test]
async fn the_rerun_queue_is_bounded_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let hang = script(tmp.path(), "hang", "exec sleep 60");
    let s = Server::new(hang);
    let post = || request(Method::POST, "/api/runs/p/reruns", Some(PLAN));
    let (status, _, body) = s.send(post()).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let first: Value = serde_json::from_slice(&body).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, r) = s
            .get(&format!("/api/reruns/{}", first["id"].as_str().unwrap()))
            .await;
        if r["state"] == "running" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first rerun never started: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..MAX_QUEUED {
        let (status, _, body) = s.send(post()).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "#{i}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    for _ in 0..3 {
        let (status, headers, body) = s.send(post()).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers[header::RETRY_AFTER], "5");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "too_many_reruns");
    }
    assert_eq!(
        s.plan_files(),
        1 + MAX_QUEUED,
        "a refused rerun left a plan file"
    );
    let (_, list) = s.get("/api/reruns").await;
    assert_eq!(list["reruns"].as_array().unwrap().len(), 1 + MAX_QUEUED);
}

#[tokio::test]
async fn deletes_that_would_break_a_recording_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let hang = script(tmp.path(), "hang", "exec sleep 60");
    let s = Server::new(hang);
    // A run whose recorder is still at work (it holds the RunDir).
    let recording = s.store.create(Some("live")).unwrap();
    recording
        .write_manifest(&run_manifest("live", "sleep"))
        .unwrap();
    let (status, _, body) = s
        .send(request(Method::POST, "/api/runs/p/reruns", Some(PLAN)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let rerun: Value = serde_json::from_slice(&body).unwrap();
    let rerun = rerun["id"].as_str().unwrap().to_string();
    for (id, detail) in [
        ("live", "being recorded"),
        ("p", "rerun(s) queued or running"),
        (rerun.as_str(), "being recorded by a rerun"),
    ] {
        let (status, _, body) = s
            .send(request(Method::DELETE, &format!("/api/runs/{id}"), None))
            .await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::CONFLICT, "{id}: {v}");
        assert_eq!(v["error"], "conflict", "{id}: {v}");
        assert!(v["detail"].as_str().unwrap().contains(detail), "{id}: {v}");
    }
    assert!(s.store.manifest("live").is_ok() && s.store.manifest("p").is_ok());
    drop(recording);
    let (status, _, _) = s
        .send(request(Method::DELETE, "/api/runs/live", None))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn damaged_runs_are_listed_and_deletable() {
    let s = Server::new("/bin/false".into());
    let root = s.store.root();
    for (id, manifest) in [
        ("gone", None),
        ("blank", Some("")),
        ("junk", Some("\u{1}not json")),
    ] {
        std::fs::create_dir(root.join(id)).unwrap();
        std::fs::write(root.join(id).join("events.jsonl"), "").unwrap();
        if let Some(text) = manifest {
            std::fs::write(root.join(id).join("manifest.json"), text).unwrap();
        }
    }
    let (status, list) = s.get("/api/runs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1, "{list}");
    let damaged = list["damaged"].as_array().unwrap();
    let reason = |id: &str| {
        damaged
            .iter()
            .find(|d| d["id"] == id)
            .and_then(|d| d["reason"].as_str())
            .unwrap_or_else(|| panic!("{id} not listed as damaged: {list}"))
            .to_string()
    };
    assert_eq!(reason("gone"), "manifest.json is missing");
    assert_eq!(reason("blank"), "manifest.json is empty");
    assert!(
        reason("junk").starts_with("manifest.json is not a manifest"),
        "{list}"
    );
    for id in ["gone", "blank", "junk"] {
        let (status, _, body) = s
            .send(request(Method::DELETE, &format!("/api/runs/{id}"), None))
            .await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{id}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(!root.join(id).exists());
    }
    let (_, list) = s.get("/api/runs").await;
    assert_eq!(list.get("damaged"), None, "{list}");
}

/// Issue 17 item 11: a run whose recorder is gone is `abandoned` in
/// `GET /api/runs` and `GET /api/runs/{id}` (what the run list page
/// shows), as in `bop runs`; a live recording stays `running`.
#[tokio::test]
async fn a_run_whose_recorder_is_gone_is_abandoned() {
    let s = Server::new("/bin/false".into());
    let spawn = |id: &str| {
        let mut cmd = Command::new(crate::common::bop_exe());
        cmd.args(["run", "-q", "--store"])
            .arg(s.store.root())
            .args(["--id", id, "--", "sleep", "30"]);
        crate::common::Started::spawn(&mut cmd)
    };
    let (live, killed) = (spawn("live"), spawn("killed"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(s.store.manifest("live").is_ok() && s.store.manifest("killed").is_ok()) {
        assert!(Instant::now() < deadline, "no manifests after 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(killed.pid(), Signal::SIGKILL).unwrap();
    let _ = killed.wait();
    // A pid alive again, but another process: its start time differs.
    let me = bop_store::this_recorder().unwrap();
    let mut reused = run_manifest("reused", "sleep");
    (reused.status, reused.ended_ms) = (RunStatus::Running, None);
    reused.recorder = Some(bop_model::Recorder {
        pid: me.pid,
        start_ticks: me.start_ticks + 1,
    });
    add_manifest(&s.store, &reused);
    let status = |list: &Value, id: &str| {
        let runs = list["runs"].as_array().unwrap();
        let run = runs.iter().find(|r| r["id"] == id);
        run.map_or(Value::Null, |r| r["status"].clone())
    };
    let (code, list) = s.get("/api/runs").await;
    assert_eq!(code, StatusCode::OK, "{list}");
    for (id, want) in [
        ("live", "running"),
        ("killed", "abandoned"),
        ("reused", "abandoned"),
        ("p", "done"),
    ] {
        assert_eq!(status(&list, id), want, "{id} in the list: {list}");
        let (code, m) = s.get(&format!("/api/runs/{id}")).await;
        assert_eq!(code, StatusCode::OK, "{m}");
        assert_eq!(m["status"], want, "{id}: {m}");
    }
    // The manifest itself is left as its recorder wrote it.
    assert_eq!(
        s.store.manifest("killed").unwrap().status,
        RunStatus::Running
    );
    kill(live.pid(), Signal::SIGINT).unwrap();
    let _ = live.wait();
    let (_, m) = s.get("/api/runs/live").await;
    assert_eq!(m["status"], "done", "{m}");
}

fn add_manifest(store: &Store, m: &Manifest) {
    let run = store.create(Some(&m.id)).unwrap();
    run.write_manifest(m).unwrap();
}

#[tokio::test]
async fn a_cached_graph_follows_its_run() {
    let s = Server::new("/bin/false".into());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = s.app.clone();
            tokio::spawn(async move {
                let res = app
                    .oneshot(request(Method::GET, "/api/runs/p/graph", None))
                    .await
                    .unwrap();
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), usize::MAX)
                    .await
                    .unwrap();
                (status, serde_json::from_slice::<Value>(&body).unwrap())
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    for (status, g) in &all {
        assert_eq!(*status, StatusCode::OK, "{g}");
        assert_eq!(g, &all[0].1);
    }
    assert_eq!(all[0].1["run"]["command"], "true", "{}", all[0].1);
    // A new manifest under the same id is a new graph, not the cached one.
    std::thread::sleep(Duration::from_millis(20));
    s.store
        .run("p")
        .unwrap()
        .write_manifest(&run_manifest("p", "changed --x"))
        .unwrap();
    let (_, g) = s.get("/api/runs/p/graph").await;
    assert_eq!(g["run"]["command"], "changed --x", "{g}");
    s.store.delete("p").unwrap();
    assert_eq!(s.get("/api/runs/p/graph").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_full_disk_leaves_no_plan_file() {
    let Some(disk) = crate::common::SmallDisk::mount() else {
        eprintln!("skipped: cannot mount a tmpfs (not root)");
        return;
    };
    let s = Server::at(
        tempfile::tempdir_in(disk.path()).unwrap(),
        "/bin/false".into(),
    );
    disk.fill();
    let (status, headers, body) = s
        .send(request(Method::POST, "/api/runs/p/reruns", Some(PLAN)))
        .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(s.plan_files(), 0, "an empty plan file was left behind");
    let (_, list) = s.get("/api/reruns").await;
    assert_eq!(list["reruns"], serde_json::json!([]));
}

/// Requests this file makes of a [`Served`] server.
impl Served {
    /// One request on its own connection: (status, JSON body).
    fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = body.unwrap_or("");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {answer:?}"));
        let json = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        (status, serde_json::from_str(json).unwrap_or(Value::Null))
    }

    /// Waits for the server to exit by itself.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "bop serve still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn connections_with_unfinished_headers_are_closed() {
    let store = crate::common::TempStore::new();
    let served = Served::start(store.path());
    let started = Instant::now();
    let stalled: Vec<TcpStream> = (0..50)
        .map(|i| {
            let mut s = TcpStream::connect(served.addr).unwrap();
            if i % 5 != 0 {
                // Every fifth client sends nothing at all.
                write!(
                    s,
                    "GET /api/runs HTTP/1.1\r\nHost: {}\r\nX-Slow:",
                    served.addr
                )
                .unwrap();
            }
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            s
        })
        .collect();
    // The server still answers complete requests meanwhile.
    assert_eq!(served.http("GET", "/api/runs", None).0, 200);
    for (i, mut s) in stalled.into_iter().enumerate() {
        let mut buf = Vec::new();
        // EOF or a reset: either way the server let go of it.
        let read = s.read_to_end(&mut buf);
        let waited = started.elapsed();
        assert!(
            waited < bop_server::HEADER_READ_TIMEOUT + Duration::from_secs(8),
            "connection {i} held for {waited:?} ({read:?})"
        );
    }
}

#[test]
fn stopping_bop_serve_interrupts_its_reruns_and_removes_their_plans() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let store = crate::common::TempStore::new();
        let flag = store.path().join("slow");
        let script = format!("test -e {} && sleep 30; true", flag.display());
        let out = store.bop(&["run", "-q", "--id", "p", "--", "sh", "-c", &script]);
        crate::common::assert_ok(&out, "bop run parent");
        std::fs::write(&flag, "").unwrap();
        let mut served = Served::start(store.path());
        let ids: Vec<String> = (0..3)
            .map(|_| {
                let (status, v) = served.http("POST", "/api/runs/p/reruns", Some(PLAN));
                assert_eq!(status, 202, "{v}");
                v["id"].as_str().unwrap().to_string()
            })
            .collect();
        // Two run (each recording its run), the third waits.
        let deadline = Instant::now() + Duration::from_secs(60);
        let recording = |id: &String| {
            Store::open(store.path())
                .unwrap()
                .manifest(id)
                .is_ok_and(|m| m.status == RunStatus::Running)
        };
        while ids.iter().filter(|id| recording(id)).count() < 2 {
            assert!(
                Instant::now() < deadline,
                "the reruns never started recording"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let plans = store.path().join(".bop-serve/plans");
        assert_eq!(std::fs::read_dir(&plans).unwrap().count(), 3);
        kill(Pid::from_raw(served.child.id() as i32), signal).unwrap();
        let status = served.wait(Duration::from_secs(30));
        assert!(
            status.success(),
            "signal {signal:?}: bop serve exited {status:?}"
        );
        let s = Store::open(store.path()).unwrap();
        let listing = s.scan().unwrap();
        assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
        let mut recorded = 0;
        for id in &ids {
            let Ok(m) = s.manifest(id) else { continue };
            recorded += 1;
            assert_ne!(
                m.status,
                RunStatus::Running,
                "signal {signal:?}: {id} still claims to run"
            );
            assert_eq!(
                m.ended_by,
                Some(bop_model::EndReason::Interrupted),
                "signal {signal:?}: {id}: {m:?}"
            );
        }
        assert_eq!(
            recorded, 2,
            "signal {signal:?}: the queued rerun must not have started"
        );
        let left: Vec<_> = std::fs::read_dir(&plans)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "signal {signal:?}: plan files left: {left:?}"
        );
    }
}

#[tokio::test]
async fn a_run_that_bop_run_is_recording_cannot_be_deleted() {
    let s = Server::new("/bin/false".into());
    let flag = s.dir.path().join("go");
    let script = format!("while ! test -e {}; do sleep 0.05; done", flag.display());
    let mut recorder = Command::new(crate::common::bop_exe())
        .args(["run", "-q", "--id", "live", "--store"])
        .arg(s.store.root())
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.store.manifest("live").is_err() {
        assert!(
            Instant::now() < deadline,
            "bop run never wrote its manifest"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, body) = s
        .send(request(Method::DELETE, "/api/runs/live", None))
        .await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert!(text.contains("is being recorded"), "{text}");
    std::fs::write(&flag, "").unwrap();
    assert!(recorder.wait().unwrap().success());
    assert_eq!(s.store.manifest("live").unwrap().status, RunStatus::Done);
    let (status, _, _) = s
        .send(request(Method::DELETE, "/api/runs/live", None))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
