//! The HTTP API and pages of `bop serve`, driven through `server::app` with
//! `tower::ServiceExt::oneshot` on a temporary store holding runs written
//! with the store API; one smoke test serves on a real socket.
//!
//! Reruns start a real child process: the real `bop` binary rerunning a
//! parent recorded with `bop demo` (real ptrace, real fault injection),
//! and small shell scripts standing in for it to cover failure output,
//! timeouts and the queue.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use bop_model::{Counts, EVENT_SCHEMA, Event, Manifest, RunStatus, Target, Verdict};
use bop_server::{AppState, RerunConfig, app};
use bop_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADDR: &str = "127.0.0.1:7878";
const PLAN: &str = r#"{"faults":[{"kind":"delay","message":"client->primary#0/3","ms":500}]}"#;

/// Stand-ins for `bop rerun`, written once before any test forks (a
/// script still open for writing in a forked child cannot be executed:
/// ETXTBSY).
struct Scripts {
    dir: PathBuf,
}

fn scripts() -> &'static Scripts {
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
        Scripts { dir }
    })
}

fn manifest(id: &str, started_ms: u64, parent: Option<&str>) -> Manifest {
    Manifest {
        schema: EVENT_SCHEMA,
        id: id.into(),
        target: Target::Command {
            argv: vec!["sh".into(), "-c".into(), "echo hi".into()],
            cwd: "/".into(),
        },
        command: "sh -c 'echo hi'".into(),
        started_ms,
        ended_ms: Some(started_ms + 250),
        status: RunStatus::Done,
        ended_by: None,
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
        capture_bytes: 0,
        error: None,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    app: Router,
}

/// A store with `r1` (5 events), its rerun `r2`, and `r3`, newest last.
fn fixture_with(bop_exe: PathBuf, max_concurrent: usize, timeout: Duration) -> Fixture {
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
        for seq in 1..=5 {
            let ev = Event {
                seq,
                pid: 10,
                tid: 10,
                call: "write".into(),
                fd: Some(1),
                ret: Some(3),
                bytes: Some(3),
                start_ns: seq * 10,
                end_ns: Some(seq * 10 + 5),
                ..Default::default()
            };
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

fn fixture() -> Fixture {
    fixture_with(crate::common::bop_exe(), 2, Duration::from_secs(20))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    /// Asserts an API error of the documented shape.
    fn assert_error(&self, status: StatusCode, code: &str) {
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

async fn send(app: &Router, req: Request<Body>) -> Reply {
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

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap()
}

fn post_json(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, ADDR)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Polls a rerun until it leaves queued/running.
async fn wait_rerun(app: &Router, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = send(app, get(&format!("/api/reruns/{id}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let status = reply.json();
        if status["state"] == "done" || status["state"] == "failed" {
            return status;
        }
        assert!(Instant::now() < deadline, "rerun {id} still {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts the standard plan as a rerun of `run`; returns the new run id.
async fn start_rerun(app: &Router, run: &str) -> String {
    send(app, post_json(&format!("/api/runs/{run}/reruns"), PLAN))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The plan file a rerun was started with is removed once it ends.
fn assert_plan_removed(store: &Store, id: &str) {
    let plan = store
        .root()
        .join(".bop-serve/plans")
        .join(format!("{id}.json"));
    assert!(!plan.exists(), "plan file left behind");
}

#[tokio::test]
async fn run_list_is_paged_newest_first_with_summaries() {
    let f = fixture();
    let page = send(&f.app, get("/api/runs")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.json();
    assert_eq!(body["total"], 3);
    let ids: Vec<_> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r3", "r2", "r1"]);
    let r2 = &body["runs"][1];
    assert_eq!(r2["parent"], "r1");
    assert_eq!(r2["verdict"], "fail");
    assert_eq!(r2["status"], "done");
    assert_eq!(r2["trace_class"], "c0ffee");
    assert_eq!(r2["duration_ms"], 250);
    assert_eq!(r2["faults"], json!({"planned": 2, "fired": 1}));
    assert!(r2["command"].as_str().unwrap().contains("echo hi"));

    let body = send(&f.app, get("/api/runs?offset=1&limit=1")).await.json();
    assert_eq!(
        (
            body["total"].as_u64(),
            body["offset"].as_u64(),
            body["limit"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    assert_eq!(body["runs"][0]["id"], "r2");
    let body = send(&f.app, get("/api/runs?offset=10")).await.json();
    assert_eq!(body["runs"], json!([]));

    send(&f.app, get("/api/runs?limit=0"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    send(&f.app, get("/api/runs?limit=100000"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    send(&f.app, get("/api/runs?offset=-1"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
}

#[tokio::test]
async fn manifest_graph_and_events() {
    let f = fixture();
    let m = send(&f.app, get("/api/runs/r2")).await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(
        m.json(),
        serde_json::to_value(f.store.manifest("r2").unwrap()).unwrap()
    );

    let g = send(&f.app, get("/api/runs/r1/graph")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.content_type(), "application/json");
    let g = g.json();
    assert_eq!(g["run"]["id"], "r1");
    for key in [
        "processes",
        "threads",
        "channels",
        "events",
        "messages",
        "edges",
    ] {
        assert!(g[key].is_array(), "graph lacks {key}: {g}");
    }

    let page = send(&f.app, get("/api/runs/r1/events?offset=1&limit=2"))
        .await
        .json();
    assert_eq!(page["total"], 5);
    let seqs: Vec<_> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3]);
    let page = send(&f.app, get("/api/runs/r1/events")).await.json();
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    send(&f.app, get("/api/runs/r1/events?limit=10001"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    send(&f.app, get("/api/runs/nope/events"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn exports_have_their_content_types() {
    let f = fixture();
    for (format, content_type) in [
        ("json", "application/json"),
        ("dot", "text/vnd.graphviz; charset=utf-8"),
        ("shiviz", "text/plain; charset=utf-8"),
        ("perfetto", "application/json"),
    ] {
        let reply = send(&f.app, get(&format!("/api/runs/r1/export?format={format}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{format}: {}", reply.text());
        assert_eq!(reply.content_type(), content_type, "{format}");
    }
    let json = send(&f.app, get("/api/runs/r1/export")).await;
    assert_eq!(json.json()["run"]["id"], "r1", "json is the default format");
    send(&f.app, get("/api/runs/r1/export?format=svg"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown_format");
    send(&f.app, get("/api/runs/nope/export?format=dot"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_and_missing_ids() {
    let f = fixture();
    for uri in [
        "/api/runs/..",
        "/api/runs/%2e%2e",
        "/api/runs/%2e%2e/graph",
        "/api/runs/a%20b/events",
        "/api/runs/.hidden/export",
    ] {
        send(&f.app, get(uri))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    }
    let del = Request::delete("/api/runs/%2e%2e")
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap();
    send(&f.app, del)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    send(&f.app, post_json("/api/runs/%2e%2e/reruns", PLAN))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    for uri in ["/api/runs/nope", "/api/runs/nope/graph", "/api/reruns/nope"] {
        send(&f.app, get(uri))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    send(&f.app, get("/api/nothing/here"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let put = Request::put("/api/runs")
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap();
    send(&f.app, put)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn corrupt_runs_are_reported_not_hidden() {
    let f = fixture();
    std::fs::write(
        f.store.root().join("r1").join("events.jsonl"),
        "{oops\n{}\n",
    )
    .unwrap();
    let reply = send(&f.app, get("/api/runs/r1/graph")).await;
    reply.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_run");
    assert!(reply.json()["detail"].as_str().unwrap().contains("line 1"));
}

#[tokio::test]
async fn delete_removes_the_run() {
    let f = fixture();
    let del = || {
        Request::delete("/api/runs/r3")
            .header(header::HOST, ADDR)
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&f.app, del()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
    assert!(!f.store.root().join("r3").exists());
    send(&f.app, del())
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(send(&f.app, get("/api/runs")).await.json()["total"], 2);
}

#[tokio::test]
async fn rerun_requests_are_validated() {
    let f = fixture();
    send(&f.app, post_json("/api/runs/r1/reruns", "{\"faults\": ["))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "malformed_json");
    send(
        &f.app,
        post_json(
            "/api/runs/r1/reruns",
            r#"{"faults":[{"kind":"explode","message":"a->b#0/0"}]}"#,
        ),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    send(
        &f.app,
        post_json(
            "/api/runs/r1/reruns",
            r#"{"faults":[{"kind":"delay","message":"a->b#0/0","ms":0}]}"#,
        ),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_fault_plan");
    send(&f.app, post_json("/api/runs/r1/reruns", r#"{"faults":[]}"#))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_fault_plan");
    for (plan, why) in [
        (
            r#"{"faults":[{"kind":"error","call":"connect","errno":"EWHATEVER"}]}"#,
            "unknown errno",
        ),
        (
            r#"{"faults":[{"kind":"crash","process":"nobody"}]}"#,
            "no process 'nobody'",
        ),
        (
            r#"{"faults":[{"kind":"partition","groups":[["a"],[]]}]}"#,
            "non-empty",
        ),
    ] {
        let reply = send(&f.app, post_json("/api/runs/r1/reruns", plan)).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_fault_plan");
        let detail = reply.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains(why), "{plan}: {detail}");
    }
    send(&f.app, post_json("/api/runs/nope/reruns", PLAN))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = Request::post("/api/runs/r1/reruns").header(header::HOST, ADDR);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let reply = send(&f.app, req.body(Body::from(PLAN)).unwrap()).await;
        reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let huge = format!(
        r#"{{"faults":[{{"kind":"drop","message":"{}->b#0/0"}}]}}"#,
        "a".repeat(100_000)
    );
    send(&f.app, post_json("/api/runs/r1/reruns", &huge))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Nothing was started or written by any of these.
    assert_eq!(
        send(&f.app, get("/api/reruns")).await.json()["reruns"],
        json!([])
    );
    assert_eq!(f.store.list().unwrap().len(), 3);
}

#[tokio::test]
async fn host_and_origin_checks() {
    let f = fixture();
    for host in [
        "evil.example:7878",
        "localhost.evil.example:7878",
        "127.0.0.1:9999",
        "localhost",
    ] {
        let req = Request::get("/api/runs")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        send(&f.app, req)
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden_host");
    }
    let req = Request::get("/")
        .header(header::HOST, "rebind.example:7878")
        .body(Body::empty())
        .unwrap();
    send(&f.app, req)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden_host");
    let no_host = Request::get("/api/runs").body(Body::empty()).unwrap();
    send(&f.app, no_host)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden_host");
    for host in ["localhost:7878", "127.0.0.1:7878", "[::1]:7878"] {
        let req = Request::get("/api/runs")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&f.app, req).await.status, StatusCode::OK, "{host}");
    }

    let with_origin = |method: Method, uri: &str, origin: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, ADDR)
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(PLAN))
            .unwrap()
    };
    for origin in [
        "http://evil.example",
        "http://127.0.0.1:9999",
        "https://127.0.0.1:7878",
        "null",
    ] {
        send(
            &f.app,
            with_origin(Method::POST, "/api/runs/r1/reruns", origin),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "cross_origin");
        send(&f.app, with_origin(Method::DELETE, "/api/runs/r3", origin))
            .await
            .assert_error(StatusCode::FORBIDDEN, "cross_origin");
    }
    assert!(f.store.root().join("r3").exists());
    // Reads carry no risk of change; the browser keeps their answers from other origins.
    assert_eq!(
        send(
            &f.app,
            with_origin(Method::GET, "/api/runs", "http://evil.example")
        )
        .await
        .status,
        StatusCode::OK
    );
    let same = send(
        &f.app,
        with_origin(Method::DELETE, "/api/runs/r3", "http://localhost:7878"),
    )
    .await;
    assert_eq!(same.status, StatusCode::NO_CONTENT, "{}", same.text());
}

/// Records the bundled demo with the real binary into `store` as `id`.
fn record_demo(store: &Store, id: &str) {
    let out = std::process::Command::new(crate::common::bop_exe())
        .args(["demo", "--store"])
        .arg(store.root())
        .args(["--id", id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bop demo: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The real thing: `bop demo` records a parent, the API checks plans
/// against it, and the real `bop rerun` drops the primary's reply to the
/// client's first request, so the client's history fails the check.
#[tokio::test]
async fn rerun_with_the_real_binary_injects_the_fault() {
    let f = fixture();
    record_demo(&f.store, "base");

    // Names are translated through the parent run before anything starts.
    for plan in [
        r#"{"faults":[{"kind":"crash","process":"nobody"}]}"#,
        r#"{"faults":[{"kind":"error","channel":"client->nowhere#0","errno":"ECONNRESET"}]}"#,
        r#"{"faults":[{"kind":"partition","groups":[["primary"],["ghost"]]}]}"#,
    ] {
        send(&f.app, post_json("/api/runs/base/reruns", plan))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_fault_plan");
    }
    assert_eq!(
        send(&f.app, get("/api/reruns")).await.json()["reruns"],
        json!([])
    );

    let plan = r#"{"faults":[{"kind":"drop","message":"client->primary#0/r1"}]}"#;
    let reply = send(&f.app, post_json("/api/runs/base/reruns", plan)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    let id = reply.json()["id"].as_str().unwrap().to_string();
    assert_eq!(reply.headers[header::LOCATION], format!("/api/reruns/{id}"));
    let status = wait_rerun(&f.app, &id).await;
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["verdict"], "fail", "{status}");
    assert_eq!(status["parent"], "base");
    assert_eq!(status["plan"], serde_json::from_str::<Value>(plan).unwrap());
    assert_eq!(status["detail"], Value::Null);

    let manifest = f.store.manifest(&id).unwrap();
    assert_eq!(manifest.parent.as_deref(), Some("base"));
    assert_eq!(manifest.faults.len(), 1, "{:?}", manifest.faults);
    let record = manifest.faults[0].clone();
    assert!(record.fired, "{record:?}");
    assert_eq!(record.effect, "drop");
    let at = record.at.expect("where it fired");
    assert!(
        at.event
            .as_deref()
            .is_some_and(|e| e.starts_with("primary:")),
        "{at:?}"
    );

    let list = send(&f.app, get("/api/runs")).await.json();
    let row = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["faults"], json!({"planned": 1, "fired": 1}));
    assert_eq!(row["parent"], "base");
    assert_eq!(row["verdict"], "fail");

    let graph = send(&f.app, get(&format!("/api/runs/{id}/graph")))
        .await
        .json();
    let dropped = graph["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "client->primary#0/r1")
        .expect("the dropped message is in the graph");
    assert_eq!(dropped["lost"], true, "{dropped}");
    let send_event = &graph["events"][dropped["send"].as_u64().unwrap() as usize];
    assert!(
        send_event["injected"]
            .as_str()
            .is_some_and(|i| i.starts_with("drop")),
        "{send_event}"
    );
    assert_plan_removed(&f.store, &id);
}

#[tokio::test]
async fn rerun_failure_carries_the_childs_stderr() {
    let f = fixture_with(scripts().dir.join("fail"), 2, Duration::from_secs(20));
    let id = start_rerun(&f.app, "r1").await;
    let status = wait_rerun(&f.app, &id).await;
    assert_eq!(status["state"], "failed");
    assert_eq!(status["exit_status"], 3);
    assert_eq!(status["detail"], "bop rerun failed with exit status 3");
    assert_eq!(
        status["stderr_tail"],
        "bop rerun: cannot trace r1: injected failure\n"
    );
}

#[tokio::test]
async fn rerun_success_records_the_run_and_gets_the_plan() {
    let f = fixture_with(scripts().dir.join("succeed"), 2, Duration::from_secs(20));
    let id = start_rerun(&f.app, "r1").await;
    let status = wait_rerun(&f.app, &id).await;
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["exit_status"], 0);
    assert_eq!(status["verdict"], "fail");
    let plan: Value =
        serde_json::from_slice(&std::fs::read(f.store.root().join(&id).join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        plan,
        serde_json::from_str::<Value>(PLAN).unwrap(),
        "plan file handed to bop rerun"
    );
    assert_eq!(f.store.manifest(&id).unwrap().parent.as_deref(), Some("r1"));
    let list = send(&f.app, get("/api/runs")).await.json();
    assert_eq!(list["total"], 4);
    assert_plan_removed(&f.store, &id);
}

#[tokio::test]
async fn reruns_are_queued_and_killed_on_timeout() {
    let f = fixture_with(scripts().dir.join("hang"), 1, Duration::from_millis(500));
    let first = start_rerun(&f.app, "r1").await;
    let second = start_rerun(&f.app, "r2").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        send(&f.app, get(&format!("/api/reruns/{second}")))
            .await
            .json()["state"],
        "queued"
    );
    let started = Instant::now();
    let status = wait_rerun(&f.app, &first).await;
    assert_eq!(status["state"], "failed");
    assert!(
        status["detail"]
            .as_str()
            .unwrap()
            .contains("did not finish"),
        "{status}"
    );
    assert_eq!(status["stderr_tail"], "started\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "timeout did not kill promptly"
    );
    assert_eq!(wait_rerun(&f.app, &second).await["state"], "failed");
    let all = send(&f.app, get("/api/reruns")).await.json();
    assert_eq!(all["reruns"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn pages_and_static_files() {
    let f = fixture();
    let home = send(&f.app, get("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.content_type().starts_with("text/html"));
    assert!(home.text().contains(r#"data-page="runs""#));
    assert!(home.text().contains(r#"src="/static/app.js""#));

    let run = send(&f.app, get("/runs/r1")).await;
    assert_eq!(run.status, StatusCode::OK);
    assert!(run.text().contains(r#"data-run-id="r1""#));
    let missing = send(&f.app, get("/runs/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.text().contains(r#"data-run-id="nope""#),
        "the shell still loads to show the API's detail"
    );
    let bad = send(&f.app, get("/runs/%3Cscript%3E")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.text().contains("<script>"), "ids are escaped");

    let compare = send(&f.app, get("/compare?a=r1&b=r2")).await;
    assert_eq!(compare.status, StatusCode::OK);
    assert!(compare.text().contains(r#"href="/runs/r2""#));
    assert_eq!(
        send(&f.app, get("/compare?a=..")).await.status,
        StatusCode::BAD_REQUEST
    );

    let js = send(&f.app, get("/static/app.js")).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.text(), "console.log('bop');\n");
    assert_eq!(js.headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        send(&f.app, get("/static/nothing.js")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, get("/static/../Cargo.toml")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, get("/no/such/page")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let f = fixture();
    let req = Request::get("/api/runs/r1/events")
        .header(header::HOST, ADDR)
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let reply = send(&f.app, req).await;
    assert_eq!(reply.headers[header::CONTENT_ENCODING], "gzip");
}

/// One real socket: the router served by axum on 127.0.0.1:0, spoken to
/// with plain HTTP/1.1.
#[tokio::test]
async fn smoke_on_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    scripts();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(
        store,
        addr,
        dir.path().to_path_buf(),
        RerunConfig::new(crate::common::bop_exe()),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /api/runs HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.ends_with(r#"{"limit":100,"offset":0,"runs":[],"total":0}"#),
        "{response}"
    );
    server.abort();
}

#[test]
fn default_static_dir_is_the_source_tree_or_cwd() {
    let dir = bop_server::default_static_dir();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static");
    if source.is_dir() {
        assert_eq!(
            dir.canonicalize().ok(),
            source.canonicalize().ok(),
            "{}",
            dir.display()
        );
    } else {
        assert_eq!(dir, Path::new("static"));
    }
}

/// Writes `STORE/explorations/ID.json` as `bop explore` would.
fn write_exploration(store: &Store, id: &str, started_ms: u64, sweep: bool) {
    let dir = store.root().join("explorations");
    std::fs::create_dir_all(&dir).unwrap();
    let class = |class: &str, count: usize, verdicts: Value, runs: Vec<&str>| {
        json!({ "class": class, "count": count, "verdicts": verdicts, "representative": runs[0],
                "runs": runs, "only_here": [], "missing_here": [] })
    };
    let probe = |m: &str, run: Option<&str>, verdict: Option<&str>, flipped: bool| {
        json!({ "message": m, "channel": "a->b#0", "run": run, "verdict": verdict,
                "flipped": flipped, "fired": run.is_some() })
    };
    let e = json!({
        "id": id, "kind": if sweep { "sweep" } else { "classes" },
        "params": { "base": "r1", "runs": 3, "jitter_ms": 30, "seed": 1,
                    "sweep": if sweep { json!({"fault": "drop"}) } else { Value::Null },
                    "channels": [], "max_runs": 200, "parallel": 2 },
        "base_verdict": "pass", "started_ms": started_ms, "ended_ms": started_ms + 10,
        "complete": true,
        "classes": if sweep { json!([]) } else { json!([
            class("c1", 2, json!({"pass": 2}), vec!["r2", "r3"]),
            class("c2", 1, json!({"fail": 1}), vec!["r1"]) ]) },
        "probes": if sweep { json!([
            probe("a->b#0/0", Some("r2"), Some("fail"), true),
            probe("a->b#0/1", Some("r3"), Some("pass"), false),
            probe("a->b#0/2", None, None, false) ]) } else { json!([]) },
    });
    std::fs::write(
        dir.join(format!("{id}.json")),
        serde_json::to_vec(&e).unwrap(),
    )
    .unwrap();
}

#[tokio::test]
async fn explorations_are_listed_newest_first_and_served_whole() {
    let f = fixture();
    let empty = send(&f.app, get("/api/explorations")).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    assert_eq!(
        empty.json(),
        json!({ "explorations": [] }),
        "no directory yet"
    );

    write_exploration(&f.store, "cls", 1_000, false);
    write_exploration(&f.store, "sw", 2_000, true);
    // Plan directories and temporary files beside the explorations are not explorations.
    std::fs::create_dir_all(f.store.root().join("explorations/sw.plans")).unwrap();
    let list = send(&f.app, get("/api/explorations")).await.json();
    let rows = list["explorations"].as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["sw", "cls"]);
    assert_eq!(
        rows[0],
        json!({ "id": "sw", "kind": "sweep", "base": "r1", "base_verdict": "pass",
                "started_ms": 2000, "ended_ms": 2010, "complete": true,
                "runs": 2, "classes": 0, "probes": 3, "flipped": 1 })
    );
    assert_eq!(rows[1]["runs"], 3);
    assert_eq!(rows[1]["classes"], 2);

    let one = send(&f.app, get("/api/explorations/cls")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let one = one.json();
    assert_eq!(one["classes"][0]["representative"], "r2");
    assert_eq!(one["classes"][1]["verdicts"], json!({"fail": 1}));
    let parsed: bop_model::Exploration = serde_json::from_value(one).unwrap();
    assert_eq!(parsed.classes.len(), 2);

    send(&f.app, get("/api/explorations/.."))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    send(&f.app, get("/api/explorations/nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    std::fs::write(f.store.root().join("explorations/bad.json"), "{not json").unwrap();
    let corrupt = send(&f.app, get("/api/explorations/bad")).await;
    corrupt.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "corrupt_run");
    assert!(
        corrupt.json()["detail"]
            .as_str()
            .unwrap()
            .contains("exploration 'bad' is corrupt")
    );
    assert_eq!(
        send(&f.app, get("/api/explorations")).await.json()["explorations"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "a corrupt file is left out of the list"
    );

    let page = send(&f.app, get("/explorations")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"data-page="explorations""#));
    let page = send(&f.app, get("/explorations/sw")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"data-exploration-id="sw""#));
    let missing = send(&f.app, get("/explorations/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains(r#"data-exploration-id="nope""#));
    assert_eq!(
        send(&f.app, get("/explorations/..")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn compare_two_runs() {
    let f = fixture();
    let reply = send(&f.app, get("/api/compare?a=r1&b=r2")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let c = reply.json();
    assert_eq!(c["schema"], 1);
    assert_eq!(c["a"]["id"], "r1");
    assert_eq!(c["b"]["id"], "r2");
    assert_eq!(
        (c["a"]["verdict"].as_str(), c["b"]["verdict"].as_str()),
        (Some("pass"), Some("fail"))
    );
    assert_eq!(c["first_divergence"], Value::Null, "the same events: {c}");
    assert!(c["summary"].as_str().is_some_and(|s| !s.is_empty()));
    // The same value `bop_tracker::compare::compare` returns.
    let (ra, rb) = (f.store.run("r1").unwrap(), f.store.run("r2").unwrap());
    let direct = bop_tracker::compare::compare(
        (&ra.manifest().unwrap(), &ra.events().unwrap()),
        (&rb.manifest().unwrap(), &rb.events().unwrap()),
    );
    assert_eq!(c, serde_json::to_value(direct).unwrap());

    send(&f.app, get("/api/compare?a=r1"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    send(&f.app, get("/api/compare?b=r1&a="))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    send(&f.app, get("/api/compare?a=r1&b=.."))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    send(&f.app, get("/api/compare?a=nope&b=r1"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let page = send(&f.app, get("/compare?a=r1&b=r2")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(r#"data-a="r1" data-b="r2""#),
        "{}",
        page.text()
    );
    let picker = send(&f.app, get("/compare")).await;
    assert_eq!(picker.status, StatusCode::OK);
    assert!(picker.text().contains(r#"id="compare-picker""#));
}
