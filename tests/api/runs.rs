//! Runs: the paged list, one run's manifest, graph, events and exports,
//! delete, corrupt runs, compression, the requests that are refused, and
//! the one test on a real socket.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bop_server::{AppState, RerunConfig, app};
use bop_store::Store;
use serde_json::json;

use super::*;

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
}

/// Bad queries, bad and missing ids, unknown routes and methods: each a
/// JSON error that names the problem, and nothing changes.
#[tokio::test]
async fn bad_run_requests_are_refused() {
    use StatusCode as S;
    const DOTS: &str = "'..' is not a valid run id";
    const NOPE: &str = "no run 'nope' in this store";
    let f = fixture();
    let put = Request::put("/api/runs")
        .header(header::HOST, ADDR)
        .body(Body::empty())
        .unwrap();
    assert_refused(
        &f.app,
        vec![
            // Paging.
            refused(
                get("/api/runs?limit=0"),
                S::BAD_REQUEST,
                "bad_query",
                "limit must be between 1 and 1000, not 0",
            ),
            refused(
                get("/api/runs?limit=100000"),
                S::BAD_REQUEST,
                "bad_query",
                "limit must be between 1 and 1000, not 100000",
            ),
            refused(
                get("/api/runs?offset=-1"),
                S::BAD_REQUEST,
                "bad_query",
                "offset: invalid digit",
            ),
            refused(
                get("/api/runs/r1/events?limit=10001"),
                S::BAD_REQUEST,
                "bad_query",
                "limit must be between 1 and 10000, not 10001",
            ),
            // Formats.
            refused(
                get("/api/runs/r1/export?format=svg"),
                S::BAD_REQUEST,
                "unknown_format",
                "unknown export format 'svg' (use json, dot, shiviz or perfetto)",
            ),
            // Ids that are not run ids, on every route that takes one.
            refused(get("/api/runs/.."), S::BAD_REQUEST, "invalid_id", DOTS),
            refused(get("/api/runs/%2e%2e"), S::BAD_REQUEST, "invalid_id", DOTS),
            refused(
                get("/api/runs/%2e%2e/graph"),
                S::BAD_REQUEST,
                "invalid_id",
                DOTS,
            ),
            refused(
                get("/api/runs/a%20b/events"),
                S::BAD_REQUEST,
                "invalid_id",
                "'a b' is not a valid run id",
            ),
            refused(
                get("/api/runs/.hidden/export"),
                S::BAD_REQUEST,
                "invalid_id",
                "'.hidden' is not a valid run id",
            ),
            refused(
                delete("/api/runs/%2e%2e"),
                S::BAD_REQUEST,
                "invalid_id",
                DOTS,
            ),
            refused(
                post_json("/api/runs/%2e%2e/reruns", PLAN),
                S::BAD_REQUEST,
                "invalid_id",
                DOTS,
            ),
            // Runs that do not exist.
            refused(get("/api/runs/nope"), S::NOT_FOUND, "not_found", NOPE),
            refused(get("/api/runs/nope/graph"), S::NOT_FOUND, "not_found", NOPE),
            refused(
                get("/api/runs/nope/events"),
                S::NOT_FOUND,
                "not_found",
                NOPE,
            ),
            refused(
                get("/api/runs/nope/export?format=dot"),
                S::NOT_FOUND,
                "not_found",
                NOPE,
            ),
            // Routes and methods that do not exist.
            refused(
                get("/api/nothing/here"),
                S::NOT_FOUND,
                "not_found",
                "no such API route",
            ),
            refused(
                put,
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed on this route",
            ),
        ],
    )
    .await;
    assert_eq!(f.store.list().unwrap().len(), 3, "nothing was deleted");
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
    let reply = send(&f.app, delete("/api/runs/r3")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
    assert!(!f.store.root().join("r3").exists());
    send(&f.app, delete("/api/runs/r3"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(send(&f.app, get("/api/runs")).await.json()["total"], 2);
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
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers[header::CONTENT_ENCODING], "gzip");
    let plain = send(&f.app, get("/api/runs/r1/events")).await;
    assert!(
        !plain.headers.contains_key(header::CONTENT_ENCODING),
        "not compressed unless asked"
    );
    assert_eq!(plain.json()["total"], 5);
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
