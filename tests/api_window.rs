//! `GET /api/runs/{id}/window` against runs recorded by the real `bop run`
//! (issue 16): a window is the whole graph restricted to it, bad
//! parameters are 400 JSON, an old run without an index (or with a damaged
//! one) gets one built on its first window, and a real `bop serve` under
//! concurrent window requests of a big run stays bounded in memory (its
//! peak RSS is printed; run with `--nocapture`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bop_server::{AppState, RerunConfig, app};
use bop_store::Store;
use bop_store::index::INDEX;
use bop_tracker::CausalGraph;
use bop_tracker::export::Export;
use bop_tracker::window::{Scale, WindowQuery, window_of_export_in};
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{Served, TempStore};

fn app_for(store: &TempStore) -> Router {
    let config = RerunConfig {
        bop_exe: "/bin/false".into(),
        max_concurrent: 1,
        timeout: Duration::from_secs(1),
    };
    let addr: SocketAddr = "127.0.0.1:7878".parse().unwrap();
    let store = Store::open(store.path()).unwrap();
    app(AppState::new(store, addr, "/nonexistent".into(), config))
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let req = Request::get(uri)
        .header("host", "127.0.0.1:7878")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// The reference window of a recorded run, from its whole export.
fn reference(store: &TempStore, id: &str, q: &WindowQuery) -> Value {
    reference_in(store, id, q, 1)
}

/// The reference counted in buckets of `bucket` (what the index answers
/// from its level-of-detail pyramid; 1: event by event).
fn reference_in(store: &TempStore, id: &str, q: &WindowQuery, bucket: u64) -> Value {
    let (manifest, events) = store.read(id);
    let x = Export::from_graph(&manifest, &CausalGraph::build(&events));
    serde_json::to_value(window_of_export_in(&x, q, bucket.trailing_zeros()).unwrap()).unwrap()
}

fn uri(id: &str, q: &WindowQuery) -> String {
    let mut u = format!(
        "/api/runs/{id}/window?scale={}&columns={}",
        match q.scale {
            Scale::Time => "time",
            Scale::Logical => "logical",
        },
        q.columns
    );
    if let Some(x0) = q.x0 {
        u += &format!("&x0={x0}");
    }
    if let Some(x1) = q.x1 {
        u += &format!("&x1={x1}");
    }
    if let Some(l) = &q.lanes {
        u += &format!("&lanes={}", l.join(",").replace('#', "%23"));
    }
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_of_a_recorded_run_are_its_graph_restricted_to_them() {
    let store = TempStore::new();
    let (m, events) = store.record_guest("pp", &["pingpong", "500"]);
    assert!(
        store.path().join("pp").join(INDEX).is_file(),
        "bop run wrote no index"
    );
    let app = app_for(&store);
    let (_, graph) = get(&app, "/api/runs/pp/graph").await;
    let t_end = events
        .iter()
        .map(|e| e.end_ns.unwrap_or(e.start_ns))
        .max()
        .unwrap();
    let client = graph["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .find(|n| n.contains("guest#0"))
        .unwrap_or_else(|| graph["threads"][0]["name"].as_str().unwrap().to_string());
    let queries = [
        WindowQuery {
            columns: 100,
            ..WindowQuery::default()
        },
        WindowQuery {
            columns: 8000,
            ..WindowQuery::default()
        },
        WindowQuery {
            x0: Some(t_end / 3),
            x1: Some(t_end / 3 + t_end / 50),
            ..WindowQuery::default()
        },
        WindowQuery {
            scale: Scale::Logical,
            x0: Some(100),
            x1: Some(300),
            ..WindowQuery::default()
        },
        WindowQuery {
            lanes: Some(vec![client.clone()]),
            columns: 50,
            ..WindowQuery::default()
        },
        WindowQuery {
            scale: Scale::Logical,
            lanes: Some(vec![client]),
            x0: Some(10),
            x1: Some(60),
            ..WindowQuery::default()
        },
    ];
    for q in &queries {
        let (status, w) = get(&app, &uri("pp", q)).await;
        assert_eq!(status, StatusCode::OK, "{q:?}: {w}");
        let bucket = w["lod"]["bucket"].as_u64().unwrap_or(1);
        assert_eq!(w, reference_in(&store, "pp", q, bucket), "{q:?}");
        assert_eq!(w["run"], graph["run"], "{q:?}");
        assert_eq!(w["threads"], graph["threads"]);
        // Every event of a detailed window is the graph's event of that id.
        for e in w["events"].as_array().into_iter().flatten() {
            let id = e["id"].as_u64().unwrap() as usize;
            let g = graph["events"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["id"] == id)
                .unwrap();
            assert_eq!(e, g);
        }
    }
    let (_, whole) = get(&app, &uri("pp", &queries[1])).await;
    assert_eq!(
        whole["events"], graph["events"],
        "the whole run in detail is the graph"
    );
    assert_eq!(whole["edges"], graph["edges"]);
    assert_eq!(whole["messages"], graph["messages"]);
    assert_eq!(whole["total_events"], events.len() as u64);
    let (_, lod) = get(&app, &uri("pp", &queries[0])).await;
    assert!(
        lod["events"].is_null() && lod["lod"]["lanes"].is_array(),
        "{} events",
        m.counts.events
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_window_parameters_are_400_json() {
    let store = TempStore::new();
    store.record_guest("pp", &["pingpong", "20"]);
    let app = app_for(&store);
    for bad in [
        "scale=wall",
        "x0=9&x1=3",
        "columns=0",
        "columns=8001",
        "lanes=nobody:t0",
        "x0=abc",
        "x1=-1",
    ] {
        let (status, body) = get(&app, &format!("/api/runs/pp/window?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad_query", "{bad}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{bad}: {body}"
        );
    }
    let (status, body) = get(&app, "/api/runs/nope/window").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = get(&app, "/api/runs/..%2Fx/window").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_or_damaged_index_is_built_on_the_first_window() {
    let store = TempStore::new();
    store.record_guest("pp", &["pingpong", "200"]);
    let path = store.path().join("pp").join(INDEX);
    let q = WindowQuery {
        columns: 4000,
        ..WindowQuery::default()
    };
    let want = reference(&store, "pp", &q);
    // An old run: recorded before indexes existed.
    std::fs::remove_file(&path).unwrap();
    let app = app_for(&store);
    let (status, w) = get(&app, &uri("pp", &q)).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w, want);
    assert!(path.is_file(), "no index was written");
    // A damaged one (a fresh server, so nothing is cached): rebuilt.
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad.truncate(mid);
    std::fs::write(&path, &bad).unwrap();
    let app = app_for(&store);
    let (status, w) = get(&app, &uri("pp", &q)).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w, want);
    assert!(std::fs::metadata(&path).unwrap().len() as usize > good.len() / 2);
    let tmp = std::fs::read_dir(store.path().join("pp"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"));
    assert!(!tmp, "a temporary index was left behind");
}

/// A search's or exploration's rerun (`bop rerun --no-index`) is
/// recorded without an index, and its first window builds one that
/// answers like the index `bop run` writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_recorded_without_an_index_gets_one_on_its_first_window() {
    let store = TempStore::new();
    store.record_guest("pp", &["pingpong", "200"]);
    let out = store.bop(&["rerun", "-q", "--no-index", "pp", "--id", "rr"]);
    crate::common::assert_ok(&out, "bop rerun --no-index");
    let path = store.path().join("rr").join(INDEX);
    assert!(!path.exists(), "bop rerun --no-index wrote an index");
    let q = WindowQuery {
        columns: 4000,
        ..WindowQuery::default()
    };
    let app = app_for(&store);
    let (status, w) = get(&app, &uri("rr", &q)).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w, reference(&store, "rr", &q));
    assert!(path.is_file(), "no index was written on the first window");
}

/// Requests this file makes of a [`Served`] server.
impl Served {
    fn status(&self, path: &str) -> u16 {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).to_string();
        head.split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

#[test]
fn concurrent_windows_of_big_runs_keep_the_server_small() {
    let store = TempStore::new();
    let (_, events) = store.record_guest("big", &["pingpong", "10000"]);
    let (_, events2) = store.record_guest("big2", &["pingpong", "10000"]);
    // One of them has no index yet: its first windows build it.
    std::fs::remove_file(store.path().join("big2").join(INDEX)).unwrap();
    let served = Served::start(store.path());
    let t_end = events
        .iter()
        .map(|e| e.end_ns.unwrap_or(e.start_ns))
        .max()
        .unwrap();
    std::thread::scope(|s| {
        for k in 0..16u64 {
            let served = &served;
            s.spawn(move || {
                for j in 0..6u64 {
                    let id = if (k + j) % 2 == 0 { "big" } else { "big2" };
                    let x0 = t_end * ((k * 7 + j) % 10) / 10;
                    let path = match j % 3 {
                        0 => format!("/api/runs/{id}/window"),
                        1 => format!("/api/runs/{id}/window?x0={x0}&x1={}", x0 + t_end / 2000),
                        _ => format!("/api/runs/{id}/window?scale=logical&columns=8000"),
                    };
                    assert_eq!(served.status(&path), 200, "{path}");
                }
            });
        }
    });
    assert_eq!(served.status("/api/runs"), 200);
    let peak_mb = served.peak_rss_kb() / 1024;
    println!(
        "bop serve peak RSS after 96 concurrent windows of two {}- and {}-event runs: {peak_mb} MB",
        events.len(),
        events2.len()
    );
    // A graph request of one such run alone costs ~200 MB; windows must not.
    assert!(peak_mb < 200, "bop serve peaked at {peak_mb} MB");
}
