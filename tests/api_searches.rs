//! Searches through the API (`bop_server::app()`): a real `bop search` of
//! the bundled demo (real binary, real ptrace and faults) that finds the
//! stale read while its progress is polled; requests refused before
//! anything starts; stopping a running and a queued search; the queue
//! bound; a child that fails; and a stored search whose process is gone.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bop_model::{FaultKind, Search, SearchParams};
use bop_store::Store;
use serde_json::Value;

use crate::api::{
    ADDR, assert_refused, fixture, fixture_with, get, post_json, refused, scripts, send,
};
use crate::common::{assert_ok, bop_exe, run};

fn record_demo(store: &Store, id: &str) {
    let out = run(std::process::Command::new(bop_exe())
        .args(["demo", "--store"])
        .arg(store.root())
        .args(["--id", id]));
    assert_ok(&out, "bop demo");
}

/// Starts a search; returns its id.
async fn start(app: &Router, body: &str) -> String {
    let reply = send(app, post_json("/api/searches", body)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    let id = reply.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        reply.headers[header::LOCATION].to_str().unwrap(),
        format!("/api/searches/{id}")
    );
    id
}

async fn status(app: &Router, id: &str) -> Value {
    let reply = send(app, get(&format!("/api/searches/{id}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

fn live(s: &Value) -> bool {
    s["state"] == "queued" || s["state"] == "running"
}

/// Polls until `until` holds (at most `limit`); returns every status seen.
async fn poll(
    app: &Router,
    id: &str,
    limit: Duration,
    until: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let s = status(app, id).await;
        let done = until(&s);
        seen.push(s);
        if done {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "search {id} not there after {limit:?}: {}",
            seen.last().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop(app: &Router, id: &str) -> StatusCode {
    let req = post_json(&format!("/api/searches/{id}/stop"), "{}");
    send(app, req).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_of_the_demo_finds_the_stale_read_with_live_progress() {
    let f = fixture();
    record_demo(&f.store, "demo");
    let id = start(
        &f.app,
        r#"{"run":"demo","budget":12,"faults":["drop","delay"],"max_faults":1}"#,
    )
    .await;
    let started = Instant::now();
    let seen = poll(&f.app, &id, Duration::from_secs(300), |s| !live(s)).await;
    let end = seen.last().unwrap();
    eprintln!(
        "search {id}: {} reruns in {:.1} s, {} polls",
        end["runs_done"],
        started.elapsed().as_secs_f64(),
        seen.len()
    );
    assert_eq!(end["state"], "done", "{end}");
    assert_eq!(end["budget"], 12);
    assert_eq!(end["base"], "demo");
    // Progress was read while it ran: the stored record grows as it goes.
    let running: Vec<u64> = seen
        .iter()
        .filter(|s| s["state"] == "running")
        .map(|s| s["runs_done"].as_u64().unwrap())
        .collect();
    assert!(
        running
            .iter()
            .any(|&n| n > 0 && n < end["runs_done"].as_u64().unwrap()),
        "no progress seen while running: {running:?}"
    );
    assert!(running.windows(2).all(|w| w[0] <= w[1]), "{running:?}");
    let bugs = end["bugs"].as_array().unwrap();
    let stale = bugs
        .iter()
        .find(|b| b["check"].as_str().unwrap().contains("read-your-writes"))
        .unwrap_or_else(|| panic!("the stale read is not among the bugs: {end}"));
    assert!(
        stale["confirmed"]["failed"].as_u64().unwrap() >= 2,
        "{stale}"
    );
    assert!(!stale["plan"]["faults"].as_array().unwrap().is_empty());
    let failing = stale["run"].as_str().unwrap();
    assert_eq!(
        f.store.manifest(failing).unwrap().verdict,
        bop_model::Verdict::Fail
    );
    // The bugs are what bop search stored (the --json shape).
    let stored: Search = f.store.searches().load(&id).unwrap();
    assert_eq!(serde_json::to_value(&stored.bugs).unwrap(), end["bugs"]);
    // Listed, and stopping it now is refused.
    let list = send(&f.app, get("/api/searches")).await.json();
    assert_eq!(list["searches"][0]["id"], id.as_str(), "{list}");
    assert_eq!(stop(&f.app, &id).await, StatusCode::CONFLICT);
    // The pages are served.
    for page in ["/searches".to_string(), format!("/searches/{id}")] {
        let reply = send(&f.app, get(&page)).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert!(reply.text().contains("data-page=\"search"), "{page}");
    }
}

/// Bodies the API refuses: each a JSON error, and nothing starts or is
/// written.
#[tokio::test]
async fn search_requests_are_validated() {
    use StatusCode as S;
    let f = fixture();
    let post = |body: &str| post_json("/api/searches", body);
    let untyped = Request::post("/api/searches")
        .header(header::HOST, ADDR)
        .body(Body::from(r#"{"run":"r1","budget":5}"#))
        .unwrap();
    let (body, search) = ("invalid_body", "invalid_search");
    assert_refused(
        &f.app,
        vec![
            refused(
                post("{\"run\":"),
                S::BAD_REQUEST,
                "malformed_json",
                "not valid JSON",
            ),
            refused(
                post("[\"r1\",5]"),
                S::UNPROCESSABLE_ENTITY,
                body,
                "JSON object",
            ),
            refused(
                post(r#"{"run":"r1"}"#),
                S::UNPROCESSABLE_ENTITY,
                body,
                "missing field `budget`",
            ),
            refused(
                post(r#"{"run":"r1","budget":-1}"#),
                S::UNPROCESSABLE_ENTITY,
                body,
                "invalid value",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"faults":["explode"]}"#),
                S::UNPROCESSABLE_ENTITY,
                body,
                "unknown variant `explode`",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"seed":1}"#),
                S::UNPROCESSABLE_ENTITY,
                body,
                "unknown field `seed`",
            ),
            refused(
                post(r#"{"run":"r1","budget":0}"#),
                S::BAD_REQUEST,
                search,
                "budget must be 1 to 1000",
            ),
            refused(
                post(r#"{"run":"r1","budget":1001}"#),
                S::BAD_REQUEST,
                search,
                "budget must be 1 to 1000",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"faults":[]}"#),
                S::BAD_REQUEST,
                search,
                "at least one kind",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"max_faults":0}"#),
                S::BAD_REQUEST,
                search,
                "max_faults must be 1 to 5",
            ),
            // The CLI's other options (issue 14).
            refused(
                post(r#"{"run":"r1","budget":5,"confirm":0}"#),
                S::BAD_REQUEST,
                search,
                "confirm must be 1 to 20, not 0",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"confirm":21}"#),
                S::BAD_REQUEST,
                search,
                "confirm must be 1 to 20",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"baselines":0}"#),
                S::BAD_REQUEST,
                search,
                "baselines must be 1 to 50, not 0",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"parallel":0}"#),
                S::BAD_REQUEST,
                search,
                "parallel must be 1 to 8, not 0",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"parallel":100}"#),
                S::BAD_REQUEST,
                search,
                "parallel must be 1 to 8, not 100",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"confirm":"3"}"#),
                S::UNPROCESSABLE_ENTITY,
                body,
                "invalid type",
            ),
            refused(
                post(r#"{"run":"r1","budget":5,"baselines":1.5}"#),
                S::UNPROCESSABLE_ENTITY,
                body,
                "invalid type",
            ),
            refused(
                post(r#"{"run":"../r1","budget":5}"#),
                S::BAD_REQUEST,
                "invalid_id",
                "r1",
            ),
            refused(
                post(r#"{"run":"nope","budget":5}"#),
                S::NOT_FOUND,
                "not_found",
                "nope",
            ),
            refused(
                untyped,
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "application/json",
            ),
            refused(
                get("/api/searches/nope"),
                S::NOT_FOUND,
                "not_found",
                "no search 'nope'",
            ),
            refused(
                post_json("/api/searches/nope/stop", "{}"),
                S::NOT_FOUND,
                "not_found",
                "started by this server",
            ),
            refused(
                get("/api/searches/a%20b"),
                S::BAD_REQUEST,
                "invalid_id",
                "a b",
            ),
        ],
    )
    .await;
    let list = send(&f.app, get("/api/searches")).await.json();
    assert_eq!(list["searches"], serde_json::json!([]), "{list}");
    assert!(!f.store.root().join("searches").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_search_stops_and_says_so() {
    let f = fixture();
    record_demo(&f.store, "demo");
    let id = start(&f.app, r#"{"run":"demo","budget":200}"#).await;
    poll(&f.app, &id, Duration::from_secs(60), |s| {
        s["state"] == "running" && !s["baselines"].as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(stop(&f.app, &id).await, StatusCode::ACCEPTED);
    let asked = Instant::now();
    let seen = poll(&f.app, &id, Duration::from_secs(30), |s| !live(s)).await;
    let end = seen.last().unwrap();
    eprintln!("stopped in {:.1} s", asked.elapsed().as_secs_f64());
    assert_eq!(end["state"], "stopped", "{end}");
    assert!(end["runs_done"].as_u64().unwrap() < 200, "{end}");
    let stored: Search = f.store.searches().load(&id).unwrap();
    assert!(
        stored.ended_ms.is_some(),
        "the record has an end: {stored:?}"
    );
    // No rerun of the search is left recording.
    for k in 0..stored.runs + 4 {
        let run = format!("{id}-{k}");
        assert!(
            !f.store.is_recording(&run).unwrap(),
            "{run} still recording"
        );
    }
    assert_eq!(stop(&f.app, &id).await, StatusCode::CONFLICT);
}

/// With `bop` replaced by a script that hangs, one search runs, the next
/// wait, and one more than the queue holds is answered 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_bounded_and_a_queued_search_stops() {
    let f = fixture_with(scripts().dir.join("hang"), 2, Duration::from_secs(20));
    let body = r#"{"run":"r1","budget":5}"#;
    let first = start(&f.app, body).await;
    poll(&f.app, &first, Duration::from_secs(10), |s| {
        s["state"] == "running"
    })
    .await;
    let mut queued = Vec::new();
    for _ in 0..bop_server::MAX_QUEUED_SEARCHES {
        queued.push(start(&f.app, body).await);
    }
    let full = send(&f.app, post_json("/api/searches", body)).await;
    full.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_searches");
    assert!(full.headers.contains_key(header::RETRY_AFTER));
    for id in &queued {
        assert_eq!(status(&f.app, id).await["state"], "queued");
        assert_eq!(stop(&f.app, id).await, StatusCode::ACCEPTED);
    }
    assert_eq!(stop(&f.app, &first).await, StatusCode::ACCEPTED);
    for id in queued.iter().chain([&first]) {
        let seen = poll(&f.app, id, Duration::from_secs(20), |s| !live(s)).await;
        assert_eq!(seen.last().unwrap()["state"], "stopped", "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_child_is_a_failed_search_with_its_output() {
    let f = fixture_with(scripts().dir.join("fail"), 2, Duration::from_secs(20));
    let id = start(&f.app, r#"{"run":"r1","budget":5}"#).await;
    let seen = poll(&f.app, &id, Duration::from_secs(20), |s| !live(s)).await;
    let end = seen.last().unwrap();
    assert_eq!(end["state"], "failed", "{end}");
    assert!(
        end["detail"].as_str().unwrap().contains("exit status 3"),
        "{end}"
    );
    assert!(
        end["log"][0].as_str().unwrap().contains("injected failure"),
        "{end}"
    );
}

/// Every option of `POST /api/searches` reaches the child as the CLI's
/// flag (the stand-in prints its arguments and fails).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_searchs_options_reach_bop_search() {
    let f = fixture_with(scripts().dir.join("args"), 2, Duration::from_secs(20));
    let body = r#"{"run":"r1","budget":7,"faults":["delay","drop"],"max_faults":2,"confirm":4,"baselines":2,"parallel":1}"#;
    let id = start(&f.app, body).await;
    let seen = poll(&f.app, &id, Duration::from_secs(20), |s| !live(s)).await;
    let end = seen.last().unwrap();
    let args = end["log"][0].as_str().unwrap_or_default();
    let want = format!(
        "args: search r1 --store {} --id {id} --budget 7 --faults delay,drop --max-faults 2 --confirm 4 --baselines 2 --parallel 1 --json",
        f.store.root().display()
    );
    assert_eq!(args, want, "{end}");
    // Absent, they are the CLI's defaults and the server's parallelism.
    let id = start(&f.app, r#"{"run":"r1","budget":7}"#).await;
    let seen = poll(&f.app, &id, Duration::from_secs(20), |s| !live(s)).await;
    let args = seen.last().unwrap()["log"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        args.ends_with("--max-faults 3 --confirm 3 --baselines 5 --parallel 2 --json"),
        "{args}"
    );
}

/// A stored search of `base` that has recorded `runs` runs and has no end,
/// as a `bop search` leaves it while it runs (or when it was killed).
fn unended_search(id: &str, base: &str, runs: usize) -> Search {
    Search {
        id: id.into(),
        base: base.into(),
        runs,
        bugs: vec![],
        params: SearchParams {
            budget: 10,
            faults: vec![FaultKind::Drop],
            max_faults: 1,
            confirm: 3,
            parallel: 1,
            baselines: 1,
        },
        started_ms: 1,
        ended_ms: None,
        baselines: vec![],
        baseline_failures: 0,
        candidates: 4,
        supports: 1,
        ended: None,
    }
}

/// A stored search without an end, whose process is gone (a killed
/// `bop search`, or a server that died), reads as failed, not running.
#[tokio::test]
async fn a_search_left_without_an_end_is_failed_not_running() {
    let f = fixture();
    let record = unended_search("orphan", "r1", 3);
    f.store.searches().save(&record).unwrap();
    let s = status(&f.app, "orphan").await;
    assert_eq!(s["state"], "failed", "{s}");
    assert!(
        s["detail"].as_str().unwrap().contains("ended without"),
        "{s}"
    );
    assert_eq!(s["runs_done"], 3);
}

fn delete(path: &str) -> Request<Body> {
    Request::delete(path)
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap()
}

/// Issue 14: a run a live search needs (its base, the runs it records and
/// reads back) cannot be deleted (409) until the search has ended; a
/// search from the command line counts while one of its reruns records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_a_live_search_needs_cannot_be_deleted() {
    let f = fixture_with(scripts().dir.join("hang"), 2, Duration::from_secs(20));
    let id = start(&f.app, r#"{"run":"r1","budget":5}"#).await;
    poll(&f.app, &id, Duration::from_secs(10), |s| {
        s["state"] == "running"
    })
    .await;
    // A run the search recorded and will read back (not locked now).
    let baseline = format!("{id}-0");
    let template = f.store.manifest("r3").unwrap();
    let made = f.store.create(Some(&baseline)).unwrap();
    made.write_manifest(&bop_model::Manifest {
        id: baseline.clone(),
        ..template.clone()
    })
    .unwrap();
    drop(made);
    // A command-line search whose rerun `cli-1` is being recorded.
    let record = unended_search("cli", "r3", 1);
    f.store.searches().save(&record).unwrap();
    let recording = f.store.create(Some("cli-1")).unwrap();
    recording
        .write_manifest(&bop_model::Manifest {
            id: "cli-1".into(),
            ..template
        })
        .unwrap();
    for (run, detail) in [
        ("r1", format!("run 'r1' is the base of search '{id}'")),
        (
            baseline.as_str(),
            format!("run '{baseline}' belongs to search '{id}'"),
        ),
        ("r3", "run 'r3' is the base of search 'cli'".to_string()),
    ] {
        let reply = send(&f.app, delete(&format!("/api/runs/{run}"))).await;
        reply.assert_error(StatusCode::CONFLICT, "conflict");
        let got = reply.json()["detail"].as_str().unwrap().to_string();
        assert!(got.contains(&detail), "{run}: {got}");
        assert!(f.store.manifest(run).is_ok(), "{run} was deleted");
    }
    // Once the searches have ended, they go.
    assert_eq!(stop(&f.app, &id).await, StatusCode::ACCEPTED);
    poll(&f.app, &id, Duration::from_secs(20), |s| !live(s)).await;
    drop(recording);
    for run in ["r1", baseline.as_str(), "cli-1", "r3"] {
        let reply = send(&f.app, delete(&format!("/api/runs/{run}"))).await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{run}: {}",
            reply.text()
        );
    }
}
