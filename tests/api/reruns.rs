//! Reruns through the API: requests refused before anything starts, the
//! real binary injecting a fault, a failing and a succeeding stand-in, and
//! the queue with its timeout.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bop_store::Store;
use serde_json::{Value, json};

use super::*;
use crate::common::{assert_ok, bop_exe, run};

/// The reruns the server knows of (none after refused requests).
async fn reruns(app: &Router) -> Value {
    send(app, get("/api/reruns")).await.json()["reruns"].clone()
}

/// `GET /api/reruns/ID`.
async fn rerun_status(app: &Router, id: &str) -> Value {
    let reply = send(app, get(&format!("/api/reruns/{id}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

fn ended(status: &Value) -> bool {
    status["state"] == "done" || status["state"] == "failed"
}

/// Polls a rerun (for at most 30 s) until it leaves queued/running.
async fn wait_rerun(app: &Router, id: &str) -> Value {
    poll_rerun(app, id, "ended", ended).await
}

/// Polls a rerun (for at most 30 s, every 10 ms) until it is in `state`;
/// fails if it ends without having been seen there.
async fn wait_state(app: &Router, id: &str, state: &str) -> Value {
    let status = poll_rerun(app, id, state, |s| s["state"] == state || ended(s)).await;
    assert_eq!(status["state"], state, "rerun {id} was never seen {state}");
    status
}

async fn poll_rerun(app: &Router, id: &str, what: &str, until: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = rerun_status(app, id).await;
        if until(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "rerun {id} not {what} after 30 s: {status}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
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

/// Records the bundled demo with the real binary into `store` as `id`.
fn record_demo(store: &Store, id: &str) {
    let out = run(std::process::Command::new(bop_exe())
        .args(["demo", "--store"])
        .arg(store.root())
        .args(["--id", id]));
    assert_ok(&out, "bop demo");
}

/// Bodies, plans, content types and sizes the API refuses: each a JSON
/// error, and no rerun starts, no run is written.
#[tokio::test]
async fn rerun_requests_are_validated() {
    use StatusCode as S;
    const JSON_ONLY: &str = "the body must be sent with Content-Type: application/json";
    let f = fixture();
    let post = |body: &str| post_json("/api/runs/r1/reruns", body);
    let typed = |content_type: Option<&str>| {
        let mut req = Request::post("/api/runs/r1/reruns").header(header::HOST, ADDR);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        req.body(Body::from(PLAN)).unwrap()
    };
    let huge = format!(
        r#"{{"faults":[{{"kind":"drop","message":"{}->b#0/0"}}]}}"#,
        "a".repeat(100_000)
    );
    let (media, plan) = ("unsupported_media_type", "invalid_fault_plan");
    assert_refused(
        &f.app,
        vec![
            // Bodies that are not a fault plan.
            refused(
                post("{\"faults\": ["),
                S::BAD_REQUEST,
                "malformed_json",
                "the body is not valid JSON",
            ),
            refused(
                post(r#"{"faults":[{"kind":"explode","message":"a->b#0/0"}]}"#),
                S::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "unknown variant `explode`",
            ),
            refused(
                post(&huge),
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than 65536 bytes",
            ),
            // Plans that cannot be run.
            refused(
                post(r#"{"faults":[{"kind":"delay","message":"a->b#0/0","ms":0}]}"#),
                S::BAD_REQUEST,
                plan,
                "a delay of 0 ms does nothing",
            ),
            refused(
                post(r#"{"faults":[]}"#),
                S::BAD_REQUEST,
                plan,
                "the fault plan has no faults",
            ),
            refused(
                post(r#"{"faults":[{"kind":"error","call":"connect","errno":"EWHATEVER"}]}"#),
                S::BAD_REQUEST,
                plan,
                "unknown errno",
            ),
            refused(
                post(r#"{"faults":[{"kind":"crash","process":"nobody"}]}"#),
                S::BAD_REQUEST,
                plan,
                "no process 'nobody'",
            ),
            // Issue 17 item 3: names r1 (processes client, primary)
            // cannot have in any rerun.
            refused(
                post(r#"{"faults":[{"kind":"drop","message":"nosuch->other#0/0"}]}"#),
                S::BAD_REQUEST,
                plan,
                "message 'nosuch->other#0/0' cannot occur in a rerun: no process 'nosuch' or 'other' in the run (processes: client, primary)",
            ),
            refused(
                post(r#"{"faults":[{"kind":"drop","message":""}]}"#),
                S::BAD_REQUEST,
                plan,
                "'' is not a message name",
            ),
            refused(
                post(r#"{"faults":[{"kind":"delay","message":"////","ms":5}]}"#),
                S::BAD_REQUEST,
                plan,
                "'////' is not a message name",
            ),
            refused(
                post(r#"{"faults":[{"kind":"error","event":"nosuch:t0/5:connect","errno":"EPIPE"}]}"#),
                S::BAD_REQUEST,
                plan,
                "event 'nosuch:t0/5:connect' cannot occur in a rerun: no process 'nosuch'",
            ),
            refused(
                post(r#"{"faults":[{"kind":"crash","process":"client","after":"ghost:t0/1:write"}]}"#),
                S::BAD_REQUEST,
                plan,
                "no process 'ghost'",
            ),
            refused(
                post(r#"{"faults":[{"kind":"partition","groups":[["client"],["ghost"]]}]}"#),
                S::BAD_REQUEST,
                plan,
                "no process 'ghost'",
            ),
            refused(
                post(r#"{"faults":[{"kind":"partition","groups":[["a"],[]]}]}"#),
                S::BAD_REQUEST,
                plan,
                "non-empty",
            ),
            // Content types other than JSON.
            refused(typed(None), S::UNSUPPORTED_MEDIA_TYPE, media, JSON_ONLY),
            refused(
                typed(Some("text/plain")),
                S::UNSUPPORTED_MEDIA_TYPE,
                media,
                JSON_ONLY,
            ),
            refused(
                typed(Some("application/x-www-form-urlencoded")),
                S::UNSUPPORTED_MEDIA_TYPE,
                media,
                JSON_ONLY,
            ),
            // Runs and reruns that do not exist.
            refused(
                post_json("/api/runs/nope/reruns", PLAN),
                S::NOT_FOUND,
                "not_found",
                "no run 'nope' in this store",
            ),
            refused(
                get("/api/reruns/nope"),
                S::NOT_FOUND,
                "not_found",
                "no rerun 'nope' was started by this server",
            ),
        ],
    )
    .await;
    // Nothing was started or written by any of these.
    assert_eq!(reruns(&f.app).await, json!([]));
    assert_eq!(f.store.list().unwrap().len(), 3);
}

/// The real thing: `bop demo` records a parent, the API checks plans
/// against it, and the real `bop rerun` drops the primary's reply to the
/// client's first request, so the client's history fails the check.
#[tokio::test]
async fn rerun_with_the_real_binary_injects_the_fault() {
    let f = fixture();
    record_demo(&f.store, "base");

    // Names are translated through the parent run before anything starts.
    let plan = |body| post_json("/api/runs/base/reruns", body);
    let bad = |body, detail| {
        refused(
            plan(body),
            StatusCode::BAD_REQUEST,
            "invalid_fault_plan",
            detail,
        )
    };
    assert_refused(
        &f.app,
        vec![
            bad(
                r#"{"faults":[{"kind":"crash","process":"nobody"}]}"#,
                "no process 'nobody' in the run (processes: client, primary, replica)",
            ),
            bad(
                r#"{"faults":[{"kind":"error","channel":"client->nowhere#0","errno":"ECONNRESET"}]}"#,
                "no channel 'client->nowhere#0' carried messages in the run",
            ),
            bad(
                r#"{"faults":[{"kind":"partition","groups":[["primary"],["ghost"]]}]}"#,
                "no process 'ghost' in the run",
            ),
        ],
    )
    .await;
    assert_eq!(reruns(&f.app).await, json!([]));

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

/// One slot: the first rerun runs while the second waits for it, the
/// timeout kills the first, and only then does the second start. Worker
/// threads run the reruns' tasks while the test polls, as `bop serve`
/// does, so a second rerun that was not held back would be seen running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reruns_are_queued_and_killed_on_timeout() {
    let f = fixture_with(scripts().dir.join("hang"), 1, Duration::from_secs(1));
    let first = start_rerun(&f.app, "r1").await;
    let second = start_rerun(&f.app, "r2").await;
    wait_state(&f.app, &first, "running").await;
    let started = Instant::now();
    let waiting = rerun_status(&f.app, &second).await;
    assert_eq!(
        waiting["state"], "queued",
        "beyond the limit while the first runs: {waiting}"
    );
    assert_eq!(waiting["started_ms"], Value::Null, "{waiting}");

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

    // The freed slot goes to the queued rerun, which times out in turn.
    wait_state(&f.app, &second, "running").await;
    let later = wait_rerun(&f.app, &second).await;
    assert_eq!(later["state"], "failed", "{later}");
    assert_eq!(later["stderr_tail"], "started\n", "{later}");
    let first_ended = status["ended_ms"].as_u64().expect("the first's end");
    let second_started = later["started_ms"].as_u64().expect("the second's start");
    assert!(
        second_started >= first_ended,
        "the second started before the first ended: {status} {later}"
    );
    let all = send(&f.app, get("/api/reruns")).await.json();
    assert_eq!(all["reruns"].as_array().unwrap().len(), 2);
}
