//! search-target: small replicated stores that `bop search` must get right
//! (tests/search.rs, docs/SEARCH.md). Real TCP, one thread per connection.
//!
//! ```text
//! search-target backup --port B [--versioned]
//! search-target primary --port P --backups B1[,B2] [--wait-ack] [--retry]
//! search-target client two|window|retry --primary P --backups B1[,B2] --history FILE
//! search-target check FILE [--flaky COUNTER]
//! ```
//!
//! * `two`: the primary replicates a PUT to two backups and answers OK
//!   after the first ACK or 300 ms, whichever comes first (the bug: it
//!   answers OK with no ACK); the client reads from the first backup and
//!   falls back to the second. Losing either replication message is
//!   masked; losing both loses an acknowledged write: a two-fault bug.
//! * `window`: an asynchronous `PUTA x 1` (answered QUEUED, replicated on a
//!   connection of its own) then a synchronous `PUT x 2` (answered OK only
//!   after the backup's ACK, with `--wait-ack`). A backup without
//!   `--versioned` applies SETs in arrival order, so the first SET arriving
//!   after the second (a delay inside a window) makes it serve 1 after 2
//!   was acknowledged. Dropping it or holding it long is harmless.
//! * `retry` (with a `--retry` primary and one backup): the primary sends
//!   the SET, and when no ACK comes within 150 ms sends it once more on
//!   a new connection, then answers OK whatever happened (the bug).
//!   Losing the SET is masked by the retry; losing both loses an
//!   acknowledged write. The retry exists only in runs where the first
//!   SET was lost, so the base run's graph has no such message: a search
//!   finds the bug only by learning it from a rerun.
//! * `--versioned` backups ignore older versions: the `window` system is
//!   then correct and a search must find nothing.
//! * `check --flaky COUNTER`: the check also fails one run in four,
//!   whatever happened (the 1st, 5th, 9th... run to check, counted in the
//!   directory COUNTER that all runs of a store share): a flaky check. A
//!   counter rather than a coin, so that the rate is exact and the test
//!   of it is not flaky itself: no three runs in a row fail twice, so a
//!   confirmation (2 of 3) can never pass by chance.
// A target under test, not part of bop.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn has(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn ports(name: &str) -> Vec<u16> {
    flag(name)
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn main() {
    let port = || ports("--port")[0];
    match std::env::args().nth(1).as_deref() {
        Some("backup") => backup(port(), has("--versioned")),
        Some("primary") if has("--retry") => retrying_primary(port(), ports("--backups")[0]),
        Some("primary") => primary(port(), &ports("--backups"), has("--wait-ack")),
        Some("client") => client(
            &std::env::args().nth(2).unwrap_or_default(),
            ports("--primary")[0],
            &ports("--backups"),
            &flag("--history").unwrap(),
        ),
        Some("check") => {
            if let Some(counter) = flag("--flaky") {
                flaky(&counter);
            }
            check(&std::env::args().nth(2).unwrap())
        }
        _ => {
            eprintln!("usage: search-target backup|primary|client|check ...");
            exit(2)
        }
    }
}

/// Serves request lines on every connection, one thread each.
fn serve(port: u16, answer: impl Fn(&[&str]) -> String + Send + Sync + 'static) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let answer = Arc::new(answer);
    for conn in listener.incoming().flatten() {
        let answer = answer.clone();
        std::thread::spawn(move || {
            let mut out = conn.try_clone().unwrap();
            for line in BufReader::new(conn).lines().map_while(Result::ok) {
                let words: Vec<&str> = line.split_whitespace().collect();
                if out
                    .write_all(format!("{}\n", answer(&words)).as_bytes())
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}

fn backup(port: u16, versioned: bool) {
    let store: Mutex<HashMap<String, (u64, String)>> = Mutex::default();
    serve(port, move |words| match words {
        ["SET", ver, k, v] => {
            let ver: u64 = ver.parse().unwrap_or(0);
            let mut s = store.lock().unwrap();
            let newer = s.get(*k).is_none_or(|(old, _)| ver > *old);
            if newer || !versioned {
                s.insert(k.to_string(), (ver, v.to_string()));
            }
            "ACK".into()
        }
        ["GET", k] => store
            .lock()
            .unwrap()
            .get(*k)
            .map_or("NIL".into(), |(_, v)| v.clone()),
        _ => "ERR".into(),
    });
}

/// One line out, one line back, within `timeout`.
fn ask(conn: &mut TcpStream, line: &str, timeout: Duration) -> Option<String> {
    conn.set_read_timeout(Some(timeout)).ok()?;
    conn.write_all(format!("{line}\n").as_bytes()).ok()?;
    let mut reply = String::new();
    match BufReader::new(conn.try_clone().ok()?).read_line(&mut reply) {
        Ok(n) if n > 0 => Some(reply.trim().to_string()),
        _ => None,
    }
}

fn connect(port: u16) -> TcpStream {
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn primary(port: u16, backups: &[u16], wait_ack: bool) {
    let version = Arc::new(AtomicU64::new(0));
    let sync: Vec<Mutex<TcpStream>> = backups.iter().map(|&b| Mutex::new(connect(b))).collect();
    let backups = backups.to_vec();
    println!("primary ready");
    serve(port, move |words| match words {
        ["PUTA", k, v] => {
            let line = format!("SET {} {k} {v}", version.fetch_add(1, Ordering::SeqCst) + 1);
            let first = backups[0];
            std::thread::spawn(move || {
                let mut c = connect(first);
                let _ = ask(&mut c, &line, Duration::from_secs(1));
            });
            "QUEUED".into()
        }
        ["PUT", k, v] => {
            let line = format!("SET {} {k} {v}", version.fetch_add(1, Ordering::SeqCst) + 1);
            let (acks, got) = mpsc::channel();
            std::thread::scope(|scope| {
                for conn in &sync {
                    let (acks, line) = (acks.clone(), line.clone());
                    scope.spawn(move || {
                        let mut c = conn.lock().unwrap();
                        if ask(&mut c, &line, Duration::from_millis(300)).as_deref() == Some("ACK")
                        {
                            let _ = acks.send(());
                        }
                    });
                }
                drop(acks);
                let acked = got.recv_timeout(Duration::from_millis(300)).is_ok();
                if acked || !wait_ack {
                    "OK".to_string()
                } else {
                    "ERR".to_string()
                }
            })
        }
        _ => "ERR".into(),
    });
}

/// Replicates each PUT to one backup, sending the SET a second time when
/// the first gets no ACK in time, and acknowledges the PUT either way.
fn retrying_primary(port: u16, backup: u16) {
    let version = AtomicU64::new(0);
    let conn = Mutex::new(connect(backup));
    println!("primary ready");
    serve(port, move |words| match words {
        ["PUT", k, v] => {
            let line = format!("SET {} {k} {v}", version.fetch_add(1, Ordering::SeqCst) + 1);
            let mut c = conn.lock().unwrap();
            let wait = Duration::from_millis(150);
            if ask(&mut c, &line, wait).is_none() {
                // A stream that lost a message loses what follows too: the
                // retry goes on a new connection.
                *c = connect(backup);
                let _ = ask(&mut c, &line, wait);
            }
            "OK".into()
        }
        _ => "ERR".into(),
    });
}

fn client(mode: &str, primary: u16, backups: &[u16], history: &str) {
    let mut h = Vec::new();
    let mut p = TcpStream::connect(("127.0.0.1", primary)).ok();
    let call = |conn: &mut Option<TcpStream>, line: &str| {
        conn.as_mut()
            .and_then(|c| ask(c, line, Duration::from_secs(1)))
            .unwrap_or("timeout".into())
    };
    if mode == "window" {
        h.push(format!("puta x 1 -> {}", call(&mut p, "PUTA x 1")));
        // Replication normally lands long before the next write.
        std::thread::sleep(Duration::from_millis(30));
    }
    let want = if mode == "window" { "2" } else { "1" };
    h.push(format!(
        "put x {want} -> {}",
        call(&mut p, &format!("PUT x {want}"))
    ));
    std::thread::sleep(Duration::from_millis(100));
    let mut got = "timeout".to_string();
    for &b in backups.iter().take(if mode == "two" { 2 } else { 1 }) {
        let mut conn = TcpStream::connect(("127.0.0.1", b)).ok();
        got = call(&mut conn, "GET x");
        h.push(format!("get x from {b} -> {got}"));
        if got != "NIL" && got != "timeout" {
            break;
        }
    }
    h.push(format!("read x -> {got}"));
    std::fs::write(history, h.join("\n") + "\n").unwrap();
}

/// Fails the 1st, 5th, 9th... call on one counter directory, whatever
/// the run did. Each call takes the first free number by creating its file
/// with O_EXCL, so runs that check at once never share one.
fn flaky(counter: &str) {
    std::fs::create_dir_all(counter).unwrap();
    let n = (1u64..)
        .find(|n| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(format!("{counter}/{n}"))
                .is_ok()
        })
        .unwrap();
    if n % 4 == 1 {
        println!("FAIL flaky check: check {n} fails whatever happened (one in four)");
        exit(1)
    }
}

/// Fails only when an acknowledged PUT is not what the read answered.
fn check(history: &str) {
    let text = std::fs::read_to_string(history).unwrap_or_default();
    let acked = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("put x ")?.strip_suffix(" -> OK"));
    let read = text.lines().find_map(|l| l.strip_prefix("read x -> "));
    match (acked, read) {
        (Some(v), Some(r)) if r != "timeout" && r != "ERR" && r != v => {
            println!(
                "FAIL acknowledged write lost: PUT x {v} was acknowledged but the read returned {r}"
            );
            exit(1)
        }
        _ => println!("PASS"),
    }
}
