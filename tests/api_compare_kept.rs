//! The comparison summary of two runs recorded by the real `bop run`, as
//! the real `bop serve` keeps it (issue 16 item 3): computed once, kept
//! next to run A (`A/compare/B.json`), and read back by a server started
//! afresh without comparing again (the `x-bop-compare` header says where
//! the answer came from, and the file is not rewritten). A damaged or
//! stale file is computed again and replaced, with no error to the client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::common::{Served, TempStore, message_id};

/// One answer: status, `x-bop-compare` header (if any) and body.
struct Answer {
    status: u16,
    source: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

fn get(served: &Served, path: &str) -> Answer {
    request(served, &format!("GET {path}"), "")
}

/// `line` (method and path) with `body` as JSON when not empty.
fn request(served: &Served, line: &str, body: &str) -> Answer {
    let mut s = TcpStream::connect(served.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let json = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    write!(
        s,
        "{line} HTTP/1.1\r\nHost: {}\r\n{json}Connection: close\r\n\r\n{body}",
        served.addr
    )
    .unwrap();
    let path = line;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{path}: no header end in {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let source = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("x-bop-compare")
            .then(|| v.trim().to_string())
    });
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Answer {
        status,
        source,
        body,
    }
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

const SUMMARY: &str = "/api/compare/summary?a=pa&b=pb";
const MARKS: &str = "/api/compare/marks?a=pa&b=pb&limit=10000";

/// Two ping-pongs, B longer (they diverge where A ends).
fn recorded() -> TempStore {
    let store = TempStore::new();
    store.record_guest("pa", &["pingpong", "300"]);
    store.record_guest("pb", &["pingpong", "320"]);
    store
}

fn kept(store: &TempStore) -> PathBuf {
    store.path().join("pa").join("compare").join("pb.json")
}

fn modified(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// The summary as the first server computes it, with the marks.
fn computed(store: &TempStore) -> (Vec<u8>, Value) {
    let served = Served::start(store.path());
    let first = get(&served, SUMMARY);
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(first.source.as_deref(), Some("computed"));
    let s = first.json();
    assert!(
        s["first_divergence"].is_object(),
        "B's extra rounds diverge: {s}"
    );
    assert!(s["differences"]["marks"].as_u64().unwrap() > 0, "{s}");
    let again = get(&served, SUMMARY);
    assert_eq!(again.source.as_deref(), Some("memory"));
    assert_eq!(again.body, first.body);
    (first.body, get(&served, MARKS).json())
}

#[test]
fn a_new_server_serves_the_kept_summary_without_comparing_again() {
    let store = recorded();
    assert!(!kept(&store).exists());
    {
        // Asked for only if kept: nothing is, and nothing is computed.
        let served = Served::start(store.path());
        let miss = get(&served, &format!("{SUMMARY}&kept=only"));
        assert_eq!((miss.status, miss.source.as_deref()), (204, Some("none")));
        assert!(miss.body.is_empty());
        assert_eq!(get(&served, &format!("{SUMMARY}&kept=yes")).status, 400);
        assert!(!kept(&store).exists());
    }
    let (summary, marks) = computed(&store);
    let file = kept(&store);
    assert!(file.exists(), "the comparison is kept next to run A");
    let (at, bytes) = (modified(&file), std::fs::read(&file).unwrap());

    let served = Served::start(store.path());
    // The marks first: they come from the same file.
    assert_eq!(get(&served, MARKS).json(), marks);
    let fresh = get(&served, SUMMARY);
    assert_eq!(fresh.status, 200);
    assert_eq!(
        fresh.source.as_deref(),
        Some("memory"),
        "read once, kept in memory"
    );
    assert_eq!(fresh.body, summary);
    drop(served);

    let served = Served::start(store.path());
    let fresh = get(&served, &format!("{SUMMARY}&kept=only"));
    assert_eq!(fresh.source.as_deref(), Some("disk"));
    assert_eq!(fresh.body, summary);
    assert_eq!(modified(&file), at, "the kept file is not rewritten");
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    // The other direction is another comparison, kept next to B.
    let back = get(&served, "/api/compare/summary?a=pb&b=pa");
    assert_eq!(back.source.as_deref(), Some("computed"));
    assert!(store.path().join("pb/compare/pa.json").exists());
}

#[test]
fn a_damaged_or_stale_kept_summary_is_computed_again() {
    let store = recorded();
    let (summary, marks) = computed(&store);
    let file = kept(&store);

    for damage in [&b"{\"format\":1,\"stamp\":"[..], b"", b"\x00\xffnot json"] {
        std::fs::write(&file, damage).unwrap();
        let served = Served::start(store.path());
        let again = get(&served, SUMMARY);
        assert_eq!(
            again.status,
            200,
            "{}",
            String::from_utf8_lossy(&again.body)
        );
        assert_eq!(
            again.source.as_deref(),
            Some("computed"),
            "after {damage:?}"
        );
        assert_eq!(again.body, summary);
        assert_eq!(get(&served, MARKS).json(), marks);
        let rewritten: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(rewritten["marks"], marks["marks"], "the file is replaced");
    }

    // B's manifest touched: the kept file no longer describes B.
    let manifest = store.path().join("pb").join("manifest.json");
    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&manifest)
        .unwrap()
        .set_modified(past)
        .unwrap();
    let served = Served::start(store.path());
    let again = get(&served, SUMMARY);
    assert_eq!(
        again.source.as_deref(),
        Some("computed"),
        "stale after B changed"
    );
    assert_eq!(again.body, summary);
    drop(served);
    let served = Served::start(store.path());
    assert_eq!(get(&served, SUMMARY).source.as_deref(), Some("disk"));
}

#[test]
fn a_rerun_is_compared_with_its_parent_when_it_finishes() {
    let store = recorded();
    let served = Served::start(store.path());
    let graph = get(&served, "/api/runs/pa/graph").json();
    let plan = format!(
        r#"{{"faults":[{{"kind":"delay","message":"{}","ms":20}}]}}"#,
        message_id(&graph, true)
    );
    let started = request(&served, "POST /api/runs/pa/reruns", &plan);
    assert!(
        started.status / 100 == 2,
        "{}: {}",
        started.status,
        String::from_utf8_lossy(&started.body)
    );
    let id = started.json()["id"].as_str().unwrap().to_string();
    let file = store
        .path()
        .join("pa")
        .join("compare")
        .join(format!("{id}.json"));
    // Nobody asks for the comparison: the server computes and keeps it
    // once the rerun is recorded (bounded wait, not a timing assertion).
    let mut status = Value::Null;
    for _ in 0..600 {
        status = get(&served, &format!("/api/reruns/{id}")).json();
        if status["state"] == "done" && file.exists() {
            break;
        }
        assert_ne!(status["state"], "failed", "{status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(file.exists(), "kept after the rerun ended: {status}");
    let summary = get(
        &served,
        &format!("/api/compare/summary?a=pa&b={id}&kept=only"),
    );
    assert_eq!(summary.status, 200);
    assert_eq!(
        summary.source.as_deref(),
        Some("memory"),
        "computed by the server itself"
    );
    let s = summary.json();
    assert_eq!(
        (&s["a"]["id"], &s["b"]["id"]),
        (&Value::from("pa"), &Value::from(id.as_str()))
    );
    assert_eq!(s["b"]["faults"][0]["fired"], true, "{s}");
}

#[test]
fn deleting_a_run_removes_the_comparisons_kept_of_it() {
    let store = recorded();
    let served = Served::start(store.path());
    for (a, b) in [("pa", "pb"), ("pb", "pa")] {
        let s = get(&served, &format!("/api/compare/summary?a={a}&b={b}"));
        assert_eq!(s.status, 200);
    }
    let (of_a, of_b) = (kept(&store), store.path().join("pb/compare/pa.json"));
    assert!(of_a.exists() && of_b.exists());
    let deleted = request(&served, "DELETE /api/runs/pb", "");
    assert_eq!(
        deleted.status,
        204,
        "{}",
        String::from_utf8_lossy(&deleted.body)
    );
    assert!(!store.path().join("pb").exists());
    // Removed in the background (it looks in every run): a bounded wait.
    for _ in 0..300 {
        if !of_a.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!of_a.exists(), "A's comparison with the deleted B is gone");
    let gone = get(&served, SUMMARY);
    assert_eq!(gone.status, 404, "{}", String::from_utf8_lossy(&gone.body));
}
