//! Navigation of big runs (issue 16): `GET /api/runs/{id}/find` over a run
//! recorded by the real binary (names, calls, channels and captured
//! payload text, paged by after/before), and `GET /api/runs/{id}/tree`
//! over reruns of reruns; the requests both refuse; the tree page.

use std::net::SocketAddr;

use axum::http::StatusCode;
use bop_server::{AppState, RerunConfig, app};
use bop_store::Store;
use serde_json::Value;

use super::*;
use crate::common::{TempStore, assert_ok, bop_exe};

/// A store with one real run: `sh -c 'echo needle-7 | cat'` (a pipe
/// between two processes carrying the text) and the app serving it.
fn recorded() -> (TempStore, Router) {
    let store = TempStore::new();
    let out = store.bop(&[
        "run",
        "--id",
        "pipe",
        "--quiet",
        "--capture-bytes",
        "64",
        "--",
        "/bin/sh",
        "-c",
        "echo needle-7 | cat",
    ]);
    assert_ok(&out, "bop run");
    let addr: SocketAddr = ADDR.parse().unwrap();
    let state = AppState::new(
        Store::open(store.path()).unwrap(),
        addr,
        store.path().join("static"),
        RerunConfig::new(bop_exe()),
    );
    (store, app(state))
}

fn ids(answer: &Value) -> Vec<u64> {
    answer["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("no matches in {answer}"))
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn find_answers_matches_in_payloads_names_and_calls_with_their_place() {
    let (_store, app) = recorded();
    let graph = send(&app, get("/api/runs/pipe/graph")).await.json();
    let events = graph["events"].as_array().unwrap();
    // The payload: the write of `echo` and the read of `cat` carry the text.
    let reply = send(&app, get("/api/runs/pipe/find?q=NEEDLE-7")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = reply.json();
    let found = ids(&answer);
    let expected: Vec<u64> = events
        .iter()
        .filter(|e| {
            e["data"]
                .as_str()
                .is_some_and(|d| d.contains("6e6565646c652d37"))
        })
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert!(
        expected.len() >= 2,
        "the pipe carried the text both ways: {expected:?}"
    );
    assert_eq!(found, expected);
    assert_eq!(answer["total"], expected.len());
    assert_eq!(answer["first"], 0);
    // Each match says where it is, as the graph has it.
    for m in answer["matches"].as_array().unwrap() {
        let e = &events[m["id"].as_u64().unwrap() as usize];
        for key in ["name", "thread", "start_ns", "end_ns", "lamport"] {
            assert_eq!(m[key], e[key], "{key} of {m}");
        }
        assert_eq!(m["field"], "data");
    }
    // By call: every write of the run, and their count.
    let writes: Vec<u64> = events
        .iter()
        .filter(|e| e["name"].as_str().unwrap().contains("write") || e["call"] == "write")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    let answer = send(&app, get("/api/runs/pipe/find?q=write")).await.json();
    assert_eq!(ids(&answer), writes);
    // Paging: the next match after the first, the previous before the last.
    let all = send(&app, get("/api/runs/pipe/find?q=t0%2F")).await.json();
    let all_ids = ids(&all);
    assert!(all_ids.len() >= 3, "{all}");
    let next = send(
        &app,
        get(&format!(
            "/api/runs/pipe/find?q=t0%2F&after={}&limit=1",
            all_ids[0]
        )),
    )
    .await
    .json();
    assert_eq!(
        (ids(&next), next["first"].as_u64()),
        (vec![all_ids[1]], Some(1))
    );
    let last = *all_ids.last().unwrap();
    let prev = send(
        &app,
        get(&format!(
            "/api/runs/pipe/find?q=t0%2F&before={last}&limit=1"
        )),
    )
    .await
    .json();
    assert_eq!(ids(&prev), vec![all_ids[all_ids.len() - 2]]);
    assert_eq!(prev["total"], all["total"]);
    let none = send(&app, get("/api/runs/pipe/find?q=no-such-text-anywhere"))
        .await
        .json();
    assert_eq!((ids(&none), none["total"].as_u64()), (vec![], Some(0)));
}

#[tokio::test]
async fn find_refuses_bad_queries_and_unknown_runs() {
    use StatusCode as S;
    let (_store, app) = recorded();
    let long = "x".repeat(257);
    assert_refused(
        &app,
        vec![
            refused(
                get("/api/runs/pipe/find"),
                S::BAD_REQUEST,
                "bad_query",
                "find needs q=TEXT",
            ),
            refused(
                get("/api/runs/pipe/find?q="),
                S::BAD_REQUEST,
                "bad_query",
                "empty",
            ),
            refused(
                get(&format!("/api/runs/pipe/find?q={long}")),
                S::BAD_REQUEST,
                "bad_query",
                "at most 256",
            ),
            refused(
                get("/api/runs/pipe/find?q=a&limit=0"),
                S::BAD_REQUEST,
                "bad_query",
                "limit must be between 1 and 1000",
            ),
            refused(
                get("/api/runs/pipe/find?q=a&limit=1001"),
                S::BAD_REQUEST,
                "bad_query",
                "not 1001",
            ),
            refused(
                get("/api/runs/pipe/find?q=a&after=1&before=3"),
                S::BAD_REQUEST,
                "bad_query",
                "not both",
            ),
            refused(
                get("/api/runs/pipe/find?q=a&after=-1"),
                S::BAD_REQUEST,
                "bad_query",
                "after",
            ),
            refused(
                get("/api/runs/pipe/find?q=a&near=3"),
                S::BAD_REQUEST,
                "bad_query",
                "near",
            ),
            refused(
                get("/api/runs/nope/find?q=a"),
                S::NOT_FOUND,
                "not_found",
                "no run 'nope'",
            ),
            refused(
                get("/api/runs/..x/find?q=a"),
                S::BAD_REQUEST,
                "invalid_id",
                "not a valid run id",
            ),
        ],
    )
    .await;
}

/// The fixture's `r1` with its rerun `r2`, plus `r4` (a rerun of r2) and
/// `r5` (a second rerun of r1), written with the store API.
fn tree_fixture() -> Fixture {
    let f = fixture();
    for (id, parent, started) in [("r4", "r2", 2_000), ("r5", "r1", 3_000)] {
        let run = f.store.create(Some(id)).unwrap();
        let mut m = f.store.manifest("r2").unwrap();
        m.id = id.into();
        m.parent = Some(parent.into());
        m.started_ms = started;
        run.write_manifest(&m).unwrap();
    }
    f
}

#[tokio::test]
async fn the_tree_holds_reruns_of_reruns_with_faults_and_verdicts() {
    let f = tree_fixture();
    let reply = send(&f.app, get("/api/runs/r1/tree")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let t = reply.json();
    assert_eq!(
        (t["size"].as_u64(), t["depth"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(t["ancestors"], serde_json::json!([]));
    let root = &t["root"];
    assert_eq!(
        (root["id"].as_str(), root["verdict"].as_str()),
        (Some("r1"), Some("pass"))
    );
    let kids: Vec<_> = root["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["r2", "r5"], "oldest first");
    let r2 = &root["children"][0];
    assert_eq!(r2["verdict"], "fail");
    assert_eq!(r2["parent"], "r1");
    assert_eq!(r2["faults"][0]["fault"]["kind"], "drop");
    assert_eq!(r2["faults"][0]["fired"], true);
    assert_eq!(r2["children"][0]["id"], "r4");
    // From a rerun: its ancestors and its own subtree only.
    let t = send(&f.app, get("/api/runs/r4/tree")).await.json();
    assert_eq!(t["ancestors"], serde_json::json!(["r1", "r2"]));
    assert_eq!(
        (t["size"].as_u64(), t["depth"].as_u64()),
        (Some(1), Some(0))
    );
    // A run that is nobody's rerun and has none.
    let t = send(&f.app, get("/api/runs/r3/tree")).await.json();
    assert_eq!(t["root"]["children"], serde_json::json!([]));
    assert_refused(
        &f.app,
        vec![
            refused(
                get("/api/runs/nope/tree"),
                StatusCode::NOT_FOUND,
                "not_found",
                "no run 'nope'",
            ),
            refused(
                get("/api/runs/.x/tree"),
                StatusCode::BAD_REQUEST,
                "invalid_id",
                "not a valid run id",
            ),
        ],
    )
    .await;
    // The page: a shell for the frontend, 404 for a run that is not there.
    let page = send(&f.app, get("/runs/r1/tree")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(r#"data-page="tree""#),
        "{}",
        page.text()
    );
    assert_eq!(
        send(&f.app, get("/runs/nope/tree")).await.status,
        StatusCode::NOT_FOUND
    );
}
