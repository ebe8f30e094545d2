//! bop-kv: the bundled demo system, a tiny replicated key-value store with
//! real TCP between a primary, a replica and a client. It is written to
//! look reasonable and pass every normal run, yet it hides "time of fault"
//! bugs that one late or missing message reveals (see the README's spoiler).
//!
//! ```text
//! bop-kv primary --port P --replica R    client commands: PUT k v | GET k | INCR k
//! bop-kv replica --port R                replication: SET k v (answered ACK) | GET k
//! bop-kv client --primary P --replica R --history FILE
//! bop-kv check FILE                      exit 0 unless an answer the client got broke a guarantee
//! ```
// A target under test, not part of bop: it fails loudly (unwrap) on what a
// demo never meets, as a small real service would.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::exit;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Store = Arc<Mutex<HashMap<String, String>>>;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn port(name: &str) -> u16 {
    flag(name).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
        eprintln!("bop-kv: {name} PORT is required");
        exit(2)
    })
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("primary") => primary(port("--port"), port("--replica")),
        Some("replica") => replica(port("--port")),
        Some("client") => client(
            port("--primary"),
            port("--replica"),
            flag("--history").unwrap_or("history.txt".into()),
        ),
        Some("check") => check(&std::env::args().nth(2).unwrap_or("history.txt".into())),
        _ => {
            eprintln!("usage: bop-kv primary|replica|client|check ...");
            exit(2)
        }
    }
}

/// Serves a line protocol on every connection, one thread each: each
/// request line's words go to `answer`, whose reply is sent back as a line.
/// `GET k` is answered from `store` for every role.
fn serve(
    port: u16,
    store: Store,
    answer: impl Fn(&[&str]) -> Option<String> + Send + Sync + 'static,
) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| {
        eprintln!("bop-kv: cannot listen on {port}: {e}");
        exit(1)
    });
    println!("listening on {port}");
    let answer = Arc::new(answer);
    for conn in listener.incoming().flatten() {
        let (answer, store) = (answer.clone(), store.clone());
        std::thread::spawn(move || {
            let mut out = conn.try_clone().unwrap();
            for line in BufReader::new(conn).lines().map_while(Result::ok) {
                let words: Vec<&str> = line.split_whitespace().collect();
                let reply = match (answer(&words), words.as_slice()) {
                    (Some(r), _) => r,
                    (None, ["GET", k]) => store
                        .lock()
                        .unwrap()
                        .get(*k)
                        .cloned()
                        .unwrap_or("NIL".into()),
                    (None, _) => "ERR".into(),
                };
                if out.write_all(format!("{reply}\n").as_bytes()).is_err() {
                    break;
                }
            }
        });
    }
}

fn primary(port: u16, replica_port: u16) {
    let store: Store = Arc::default();
    // One replication connection, opened at start.
    let repl = loop {
        match TcpStream::connect(("127.0.0.1", replica_port)) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    // Acks are read and counted; replication is asynchronous.
    let acks = BufReader::new(repl.try_clone().unwrap());
    std::thread::spawn(move || for _ in acks.lines().map_while(Result::ok) {});
    // Replication is asynchronous: requests queue their writes for a
    // replicator thread and answer the client right away.
    let (queue, updates) = std::sync::mpsc::channel::<String>();
    let mut repl_out = repl;
    std::thread::spawn(move || {
        for update in updates {
            if repl_out.write_all(update.as_bytes()).is_err() {
                break;
            }
        }
    });
    let queue = Mutex::new(queue);
    serve(port, store.clone(), move |words| match words {
        ["PUT", k, v] => {
            store.lock().unwrap().insert(k.to_string(), v.to_string());
            let _ = queue.lock().unwrap().send(format!("SET {k} {v}\n"));
            Some("OK".to_string())
        }
        ["INCR", k] => {
            let mut s = store.lock().unwrap();
            let n = s.get(*k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) + 1;
            s.insert(k.to_string(), n.to_string());
            let _ = queue.lock().unwrap().send(format!("SET {k} {n}\n"));
            Some(n.to_string())
        }
        _ => None,
    });
}

fn replica(port: u16) {
    let store: Store = Arc::default();
    serve(port, store.clone(), move |words| match words {
        ["SET", k, v] => {
            store.lock().unwrap().insert(k.to_string(), v.to_string());
            Some("ACK".to_string())
        }
        _ => None,
    });
}

/// A request/response connection with a reply timeout; a connection that
/// could not be opened answers nothing, like one whose replies time out.
struct Conn {
    streams: Option<(BufReader<TcpStream>, TcpStream)>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let streams = match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_millis(1000)))
                    .unwrap();
                Some((BufReader::new(s.try_clone().unwrap()), s))
            }
            Err(e) => {
                eprintln!("bop-kv client: cannot connect to {port}: {e}");
                None
            }
        };
        Conn { streams }
    }

    fn call(&mut self, request: &str) -> Option<String> {
        let (reader, writer) = self.streams.as_mut()?;
        writer.write_all(format!("{request}\n").as_bytes()).ok()?;
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim().to_string()),
            _ => None,
        }
    }
}

fn client(primary: u16, replica: u16, history: String) {
    let mut h = Vec::new();
    let mut p = Conn::open(primary);
    let put = p.call("PUT x 1");
    h.push(format!(
        "put x 1 -> {}",
        put.as_deref().unwrap_or("timeout")
    ));
    // Read-your-writes: the write was acknowledged, so the replica must have
    // it. (The client thinks for 200 ms first, as clients do; replication
    // takes well under a millisecond untraced and a few under a loaded
    // tracer, so only a fault makes the read stale.)
    std::thread::sleep(Duration::from_millis(200));
    let mut r = Conn::open(replica);
    let got = r.call("GET x").unwrap_or("timeout".into());
    h.push(format!("get x from replica -> {got}"));
    // A counter: retry once on a timeout, as clients do.
    let mut incr = p.call("INCR hits");
    h.push(format!(
        "incr hits -> {}",
        incr.as_deref().unwrap_or("timeout")
    ));
    if incr.is_none() {
        p = Conn::open(primary);
        incr = p.call("INCR hits");
        h.push(format!(
            "incr hits (retry) -> {}",
            incr.as_deref().unwrap_or("timeout")
        ));
    }
    let hits = p.call("GET hits").unwrap_or("timeout".into());
    h.push(format!("get hits -> {hits}"));
    std::fs::write(&history, h.join("\n") + "\n").unwrap();
    println!("{}", h.join("\n"));
}

/// The guarantees a user of the store expects after one PUT and one INCR,
/// judged as violations only (README "Verdicts"): an answer the client got
/// must be true, and an acknowledged write must not be lost or applied
/// twice. A request that timed out or failed was never answered, so it
/// broke no promise: unavailability under faults passes.
fn check(history: &str) {
    let text = std::fs::read_to_string(history).unwrap_or_else(|e| {
        eprintln!("check: cannot read {history}: {e}");
        exit(2)
    });
    let value = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix));
    fn answered(v: Option<&str>) -> Option<&str> {
        v.filter(|v| !matches!(*v, "timeout" | "ERR"))
    }
    let mut failures = Vec::new();
    let read = answered(value("get x from replica -> "));
    if let (Some("OK"), Some(got)) = (value("put x 1 -> "), read) {
        if got != "1" {
            failures.push(format!(
                "FAIL read-your-writes: PUT x 1 was acknowledged but the replica returned {got}"
            ));
        }
    }
    // One logical INCR (the retry repeats it): the counter may be 0 (never
    // applied, never acknowledged) or 1, and never more.
    let acked = [value("incr hits -> "), value("incr hits (retry) -> ")]
        .into_iter()
        .any(|v| answered(v).is_some());
    let hits = answered(value("get hits -> ")).map(|h| h.parse::<i64>().unwrap_or(0));
    match hits {
        Some(n) if n > 1 => failures.push(format!(
            "FAIL exactly-once increment: one INCR was issued, hits = {n}"
        )),
        Some(n) if n < 1 && acked => failures.push(format!(
            "FAIL exactly-once increment: the INCR was acknowledged, hits = {n}"
        )),
        _ => {}
    }
    for f in &failures {
        println!("{f}");
    }
    if failures.is_empty() {
        println!("PASS");
    }
    exit(if failures.is_empty() { 0 } else { 1 })
}
