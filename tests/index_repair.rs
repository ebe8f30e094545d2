//! The window index of a run recorded by the real `bop run`, served by a
//! real `bop serve` over real HTTP (issue 16): find answers from the
//! index as find over the whole graph does, and an index that is damaged,
//! cut short, of an older layout, or left half written by a server killed
//! while building it is never trusted: it is rebuilt and the user gets the
//! right answer, not an error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bop_store::Store;
use bop_store::index::{self, FIND, INDEX, Index, Stamp};
use bop_tracker::find::{FindQuery, Findable, find};
use serde_json::Value;

use crate::common::{Served, TempStore};

/// Windows and finds whose answers must survive any damage: whole runs,
/// a zoomed-in window, pages of finds both ways, a short (scanned) needle.
const QUERIES: &[&str] = &[
    "window?columns=4000",
    "window?scale=logical&columns=40",
    "window?scale=logical&x0=100&x1=160",
    "find?q=sendto",
    "find?q=sendto&after=500&limit=3",
    "find?q=RECVFROM&before=900&limit=2",
    "find?q=exit_group",
    "find?q=t0&after=10&limit=5",
    "find?q=no-such-text",
];

impl Served {
    /// `GET /api/runs/{id}/{query}`: the status and the JSON body.
    fn get_json(&self, id: &str, query: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
        write!(
            s,
            "GET /api/runs/{id}/{query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let json = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{query}: not JSON ({e}): {text}"));
        (status, json)
    }

    /// Every query of [`QUERIES`], each asserted to answer 200.
    fn answers(&self, id: &str) -> Vec<Value> {
        QUERIES
            .iter()
            .map(|q| {
                let (status, json) = self.get_json(id, q);
                assert_eq!(status, 200, "{q}: {json}");
                json
            })
            .collect()
    }
}

fn index_of(store: &TempStore, id: &str) -> PathBuf {
    store.path().join(id).join(INDEX)
}

/// The index on disk is one `bop serve` trusts: current layout, complete,
/// of this event log, and whole by SQLite's integrity check.
fn assert_trusted(store: &TempStore, id: &str) {
    let run = Store::open(store.path()).unwrap().run(id).unwrap();
    Index::open(&run, Stamp::of(&run)).unwrap_or_else(|e| panic!("{id}'s index: {e}"));
    index::verify(&index_of(store, id)).unwrap();
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn find_from_the_index_answers_as_find_over_the_whole_graph() {
    let store = TempStore::new();
    store.record_guest("pp", &["pingpong", "300"]);
    let export = store.export("pp");
    let json = serde_json::to_string(&export["events"]).unwrap();
    let events: Vec<Findable<'_>> = serde_json::from_str(&json).unwrap();
    let served = Served::start(store.path());
    for (text, after, before, limit) in [
        ("sendto", None, None, 100),
        ("sendto", Some(500), None, 3),
        ("RECVFROM", None, Some(900), 2),
        ("Guest#0", Some(3), None, 1000),
        ("exit_group", None, None, 10),
        (":t0/1", None, Some(100_000), 7),
        ("t0", Some(10), None, 5),
        ("no-such-text", None, None, 1),
    ] {
        let q = FindQuery {
            text: text.into(),
            after,
            before,
            limit,
        };
        let want = serde_json::to_value(find(&events, &q).unwrap()).unwrap();
        let mut uri = format!("find?q={}&limit={limit}", text.replace('#', "%23"));
        if let Some(a) = after {
            uri += &format!("&after={a}");
        }
        if let Some(b) = before {
            uri += &format!("&before={b}");
        }
        let (status, got) = served.get_json("pp", &uri);
        assert_eq!(status, 200, "{uri}: {got}");
        assert_eq!(got, want, "{uri}");
        if text == "sendto" && after.is_none() {
            assert!(want["total"].as_u64().unwrap() >= 300, "{want}");
        }
    }
}

/// One way an index file goes bad, named.
type Damage = (&'static str, Box<dyn Fn(&Path)>);

/// Ways an index file goes bad: each is rebuilt on the next request.
fn damages() -> Vec<Damage> {
    vec![
        (
            "cut to half its length",
            Box::new(|p: &Path| {
                let len = std::fs::metadata(p).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .unwrap()
                    .set_len(len / 2)
                    .unwrap();
            }),
        ),
        (
            "pages overwritten, length kept",
            Box::new(|p: &Path| {
                let mut bytes = std::fs::read(p).unwrap();
                let n = bytes.len();
                for b in &mut bytes[n / 5..n * 9 / 10] {
                    *b = 0xa5;
                }
                std::fs::write(p, bytes).unwrap();
            }),
        ),
        (
            "header zeroed",
            Box::new(|p: &Path| {
                let mut bytes = std::fs::read(p).unwrap();
                bytes[..100].fill(0);
                std::fs::write(p, bytes).unwrap();
            }),
        ),
        (
            "empty",
            Box::new(|p: &Path| std::fs::write(p, b"").unwrap()),
        ),
        (
            "an older layout",
            Box::new(|p: &Path| {
                let c = rusqlite::Connection::open(p).unwrap();
                c.execute("UPDATE meta SET value = '2' WHERE key = 'schema'", [])
                    .unwrap();
            }),
        ),
    ]
}

#[test]
fn a_damaged_cut_or_old_index_is_rebuilt_and_answers_stay_right() {
    let store = TempStore::new();
    store.record_guest("pp", &["pingpong", "300"]);
    let want = Served::start(store.path()).answers("pp");
    // The index and its find table (a file of its own), each damaged
    // every way while the other is whole.
    for file in [INDEX, FIND] {
        let path = store.path().join("pp").join(file);
        let good = std::fs::read(&path).unwrap();
        for (what, damage) in damages() {
            let what = format!("{file} {what}");
            std::fs::write(&path, &good).unwrap();
            damage(&path);
            assert!(
                std::fs::read(&path).unwrap() != good,
                "{what}: nothing changed"
            );
            // A fresh server, so nothing is cached.
            let served = Served::start(store.path());
            assert_eq!(served.answers("pp"), want, "{what}");
            drop(served);
            assert_trusted(&store, "pp");
            let tmp = temporaries(&store.path().join("pp"));
            assert!(tmp.is_empty(), "{what}: {tmp:?} left behind");
        }
    }
}

#[test]
fn a_server_killed_while_building_an_index_leaves_nothing_trusted() {
    let store = TempStore::new();
    store.record_guest("pp", &["pingpong", "5000"]);
    let (path, dir) = (index_of(&store, "pp"), store.path().join("pp"));
    let want = Served::start(store.path()).answers("pp");
    std::fs::remove_file(&path).unwrap();
    let mut served = Served::start(store.path());
    let addr = served.addr;
    // The first window builds the index; kill the server while it does.
    let asking = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = write!(
            s,
            "GET /api/runs/pp/window HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        );
        let _ = s.read_to_end(&mut Vec::new());
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while temporaries(&dir).is_empty() && !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let half = temporaries(&dir);
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    asking.join().unwrap();
    assert!(
        !half.is_empty(),
        "the build finished before it could be killed"
    );
    assert!(
        !path.exists(),
        "a half-built index was put in place: {:?}",
        temporaries(&dir)
    );
    drop(served);
    let served = Served::start(store.path());
    assert_eq!(served.answers("pp"), want);
    drop(served);
    assert_trusted(&store, "pp");
    // The dead server's temporary file is removed by the next build.
    let left = temporaries(&dir);
    assert!(left.is_empty(), "{left:?} left behind");
}
