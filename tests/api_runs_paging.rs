//! `GET /api/runs` on a store of 3,000 runs written with the store API:
//! cursor paging reaches every run once, newest first, and stays stable
//! while a run is recorded between two pages; the verdict, class, fault
//! and text filters; the exploration and search tags the run list folds
//! by; refused queries. Latency is measured and printed (run with
//! `--nocapture`), never asserted.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bop_model::{Counts, Exploration, Manifest, RunStatus, Search, Target, Verdict};
use bop_server::{AppState, RerunConfig, app};
use bop_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

const ADDR: &str = "127.0.0.1:7878";
const BASELINES: usize = 100;
const SWEEP: usize = 1000;
const SEARCH: usize = 1000;
const RERUNS: usize = 900;

/// What kind of run the `i`th synthetic run is, and its manifest.
fn manifest(
    id: &str,
    started_ms: u64,
    parent: Option<&str>,
    fault: Option<Value>,
    verdict: Verdict,
) -> Manifest {
    let faults = fault
        .map(|f| {
            serde_json::from_value(
                json!([{ "fault": f, "fired": true, "effect": "fired", "count": 1 }]),
            )
            .unwrap()
        })
        .unwrap_or_default();
    Manifest {
        ended_ms: Some(started_ms + 40),
        status: RunStatus::Done,
        exit_status: Some(0),
        verdict,
        trace_class: Some(format!("{:02x}{}", started_ms % 4, "0".repeat(14))),
        parent: parent.map(String::from),
        faults,
        counts: Counts {
            events: 100,
            processes: 3,
            threads: 3,
        },
        ..Manifest::new(
            id,
            Target::Command {
                argv: vec!["kvd".into()],
                cwd: "/".into(),
            },
            format!("scenario demo-kv.toml #{}", started_ms % 7),
            started_ms,
        )
    }
}

struct Big {
    _dir: tempfile::TempDir,
    store: Store,
    app: Router,
    /// Every run, as the store lists them (newest first).
    expected: Vec<Manifest>,
}

/// 100 baselines; a sweep `xsweep` of 1,000 drops and a search `sfind` of
/// 1,000 delays, both rerunning `base-000`; 900 reruns with crashes and
/// errors spread over the baselines. Every 10th run of a group fails.
fn big_store() -> Big {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("runs")).unwrap();
    let mut t = 1_700_000_000_000u64;
    let mut put = |id: String, parent: Option<String>, fault: Option<Value>, verdict: Verdict| {
        t += 3;
        let run = store.create(Some(&id)).unwrap();
        run.write_manifest(&manifest(&id, t, parent.as_deref(), fault, verdict))
            .unwrap();
    };
    let every10 = |k: usize| {
        if k % 10 == 0 {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    };
    for b in 0..BASELINES {
        put(format!("base-{b:03}"), None, None, Verdict::Pass);
    }
    for k in 0..SWEEP {
        let drop = json!({"kind": "drop", "message": format!("client->primary#0/{k}")});
        put(
            format!("xsweep-m{k}"),
            Some("base-000".into()),
            Some(drop),
            every10(k),
        );
    }
    for k in 0..SEARCH {
        let delay =
            json!({"kind": "delay", "message": format!("primary->replica#0/{k}"), "ms": 50});
        put(
            format!("sfind-{k}"),
            Some("base-000".into()),
            Some(delay),
            every10(k),
        );
    }
    for k in 0..RERUNS {
        let fault = if k % 2 == 0 {
            json!({"kind": "crash", "process": "replica"})
        } else {
            json!({"kind": "error", "call": "connect", "errno": "ECONNREFUSED"})
        };
        put(
            format!("r-{k:04}"),
            Some(format!("base-{:03}", k % BASELINES)),
            Some(fault),
            Verdict::Unknown,
        );
    }
    let exploration: Exploration = serde_json::from_value(json!({
        "id": "xsweep", "kind": "sweep", "base_verdict": "pass", "started_ms": 1, "ended_ms": 2,
        "complete": true, "classes": [], "probes": [],
        "params": {"base": "base-000", "runs": 0, "jitter_ms": null, "seed": 0,
                   "sweep": {"fault": "drop"}, "channels": [], "max_runs": SWEEP, "parallel": 2},
    }))
    .unwrap();
    store.explorations().save(&exploration).unwrap();
    let search: Search = serde_json::from_value(json!({
        "id": "sfind", "base": "base-000", "runs": SEARCH, "bugs": [], "started_ms": 1,
        "params": {"budget": SEARCH, "faults": ["delay"], "max_faults": 1, "confirm": 3,
                   "parallel": 2, "baselines": 0},
    }))
    .unwrap();
    store.searches().save(&search).unwrap();
    let config = RerunConfig {
        bop_exe: "/bin/false".into(),
        max_concurrent: 1,
        timeout: Duration::from_secs(1),
    };
    let addr: SocketAddr = ADDR.parse().unwrap();
    let app = app(AppState::new(
        store.clone(),
        addr,
        dir.path().join("static"),
        config,
    ));
    let expected = store.list().unwrap();
    Big {
        _dir: dir,
        store,
        app,
        expected,
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let request = Request::get(uri)
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap();
    let reply = app.clone().oneshot(request).await.unwrap();
    let status = reply.status();
    let body = axum::body::to_bytes(reply.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

fn ids(page: &Value) -> Vec<String> {
    page["runs"]
        .as_array()
        .unwrap_or_else(|| panic!("no runs in {page}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Follows `next_cursor` from the first page; every page's ids, in order.
async fn all_pages(app: &Router, query: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let uri = format!("/api/runs?limit={limit}&cursor={cursor}{query}");
        let (status, page) = get(app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {page}");
        pages.push(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => {
                assert_eq!(
                    page["next_cursor"],
                    Value::Null,
                    "{uri}: the last page says so"
                );
                return pages;
            }
        }
        assert!(pages.len() <= 3000, "cursor paging does not end");
    }
}

#[tokio::test]
async fn three_thousand_runs_page_by_cursor_newest_first() {
    let big = big_store();
    assert_eq!(big.expected.len(), 3000);
    let started = Instant::now();
    let (status, first) = get(&big.app, "/api/runs").await;
    let first_ms = started.elapsed().as_millis();
    assert_eq!(status, StatusCode::OK);
    let keys: HashSet<_> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["total", "offset", "limit", "runs"]),
        "no parameters: today's shape"
    );
    assert_eq!(
        (first["total"].as_u64(), first["limit"].as_u64()),
        (Some(3000), Some(100))
    );
    let newest: Vec<String> = big
        .expected
        .iter()
        .take(100)
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(ids(&first), newest);

    let started = Instant::now();
    let pages = all_pages(&big.app, "", 1000).await;
    let all_ms = started.elapsed().as_millis();
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [1000, 1000, 1000]
    );
    let listed: Vec<String> = pages.concat();
    let expected: Vec<String> = big.expected.iter().map(|m| m.id.clone()).collect();
    assert_eq!(listed, expected, "every run once, newest first");
    assert_eq!(
        listed.last().map(String::as_str),
        Some("base-000"),
        "the oldest run is reached"
    );

    let small = all_pages(&big.app, "", 240).await;
    assert_eq!(small.len(), 13, "3000 runs in pages of 240");
    assert_eq!(small.concat(), expected);
    eprintln!(
        "api_runs_paging: 3000 runs: GET /api/runs {first_ms} ms; all three 1000-run cursor pages {all_ms} ms"
    );
}

#[tokio::test]
async fn a_run_recorded_between_pages_shifts_offsets_but_not_cursors() {
    let big = big_store();
    let (_, first) = get(&big.app, "/api/runs?limit=500&cursor=").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, by_offset_before) = get(&big.app, "/api/runs?limit=500&offset=500").await;
    let newest = big.expected[0].started_ms + 1;
    let run = big.store.create(Some("late")).unwrap();
    run.write_manifest(&manifest("late", newest, None, None, Verdict::Pass))
        .unwrap();
    let (_, second) = get(&big.app, &format!("/api/runs?limit=500&cursor={cursor}")).await;
    assert_eq!(second["total"], 3001);
    assert_eq!(
        ids(&second),
        ids(&by_offset_before),
        "the cursor's page is the one it was before the insert"
    );
    let (_, by_offset_after) = get(&big.app, "/api/runs?limit=500&offset=500").await;
    assert_eq!(
        ids(&by_offset_after)[0],
        ids(&first)[499],
        "an offset page repeats a run after an insert"
    );
    let (_, top) = get(&big.app, "/api/runs?limit=1").await;
    assert_eq!(ids(&top), ["late"]);
}

async fn total(app: &Router, query: &str) -> u64 {
    let (status, page) = get(app, &format!("/api/runs?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    page["total"].as_u64().unwrap()
}

#[tokio::test]
async fn filters_narrow_the_list_and_page_with_it() {
    let big = big_store();
    let started = Instant::now();
    assert_eq!(total(&big.app, "verdict=fail").await, 200);
    let filter_ms = started.elapsed().as_millis();
    assert_eq!(total(&big.app, "verdict=unknown").await, RERUNS as u64);
    assert_eq!(
        total(&big.app, "verdict=pass").await,
        (BASELINES + 1800) as u64
    );
    assert_eq!(total(&big.app, "fault=drop").await, SWEEP as u64);
    assert_eq!(total(&big.app, "fault=delay").await, SEARCH as u64);
    assert_eq!(total(&big.app, "fault=crash").await, 450);
    assert_eq!(total(&big.app, "fault=none").await, BASELINES as u64);
    assert_eq!(total(&big.app, "fault=partition").await, 0);
    assert_eq!(total(&big.app, "fault=drop&verdict=fail").await, 100);
    let class_00 = big
        .expected
        .iter()
        .filter(|m| m.started_ms % 4 == 0)
        .count() as u64;
    assert_eq!(total(&big.app, "class=00").await, class_00);
    assert_eq!(total(&big.app, "class=0f").await, 0);
    // Text: ids, commands and the faults as the CLI writes them.
    assert_eq!(total(&big.app, "q=ECONNREFUSED").await, 450);
    assert_eq!(total(&big.app, "q=replica+crash").await, 450);
    assert_eq!(
        total(&big.app, "q=XSWEEP-M99").await,
        11,
        "xsweep-m99 and m990..m999"
    );
    assert_eq!(total(&big.app, "q=primary-%3Ereplica%230%2F7").await, 111);

    let pages = all_pages(&big.app, "&fault=drop&verdict=fail", 30).await;
    let listed = pages.concat();
    assert_eq!(listed.len(), 100);
    assert!(
        listed
            .iter()
            .all(|id| id.starts_with("xsweep-m") && id.ends_with('0')),
        "{listed:?}"
    );
    let (_, page) = get(&big.app, "/api/runs?fault=drop&verdict=fail&offset=95").await;
    assert_eq!(ids(&page).len(), 5);
    eprintln!("api_runs_paging: 3000 runs: GET /api/runs?verdict=fail {filter_ms} ms");
}

#[tokio::test]
async fn runs_of_explorations_and_searches_are_tagged_with_them() {
    let big = big_store();
    let (_, page) = get(&big.app, "/api/runs?limit=1000&q=-m5").await;
    let m5 = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "xsweep-m5")
        .unwrap();
    assert_eq!(m5["group"], json!({"kind": "exploration", "id": "xsweep"}));
    assert_eq!(m5["fault_kinds"], json!(["drop"]));
    assert_eq!(m5["parent"], "base-000");
    let (_, page) = get(&big.app, "/api/runs?q=sfind-3&limit=1000").await;
    let s3 = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "sfind-3")
        .unwrap();
    assert_eq!(s3["group"], json!({"kind": "search", "id": "sfind"}));
    let (_, page) = get(&big.app, "/api/runs?fault=none&limit=1").await;
    let base = page["runs"][0].as_object().unwrap();
    assert!(
        !base.contains_key("group") && !base.contains_key("fault_kinds"),
        "{base:?}"
    );
    let (_, page) = get(&big.app, "/api/runs?q=r-0001").await;
    assert!(
        page["runs"][0].get("group").is_none(),
        "a plain rerun belongs to no group"
    );
}

#[tokio::test]
async fn bad_queries_are_refused_with_the_reason() {
    let big = big_store();
    for (query, says) in [
        (
            "verdict=maybe",
            "verdict must be pass, fail or unknown, not 'maybe'",
        ),
        (
            "fault=meteor",
            "fault must be one of delay, drop, error, crash, partition, jitter, none, not 'meteor'",
        ),
        (
            "cursor=nonsense",
            "'nonsense' is not a cursor of GET /api/runs",
        ),
        ("cursor=12.", "'12.' is not a cursor of GET /api/runs"),
        ("cursor=&offset=3", "use cursor or offset, not both"),
        ("limit=1001", "limit must be between 1 and 1000, not 1001"),
    ] {
        let (status, body) = get(&big.app, &format!("/api/runs?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "bad_query", "{query}: {body}");
        assert_eq!(body["detail"], says, "{query}");
    }
}
