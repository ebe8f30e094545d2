//! The index answers every window exactly as the reference computed from
//! the whole export does, and refuses to open a file it cannot trust.

use bop_model::{Endpoint, Event, Manifest};
use bop_tracker::CausalGraph;
use bop_tracker::export::Export;
use bop_tracker::window::{Scale, WindowError, WindowQuery, window_of_export_in};

use super::{Index, IndexError, Stamp, build};
use crate::{RunDir, Store};

/// A TCP ping-pong of `rounds` one-byte round trips, client `c` and
/// server `s` (one thread each), every 7th client write marked injected.
pub(super) fn pingpong(rounds: usize) -> Vec<Event> {
    let ep = |local: &str, peer: &str| Endpoint {
        kind: Some(bop_model::ChannelKind::Tcp),
        stream: true,
        local: local.into(),
        peer: Some(peer.into()),
        ..Endpoint::default()
    };
    let (cs, sc) = (
        ep("127.0.0.1:4000", "127.0.0.1:7000"),
        ep("127.0.0.1:7000", "127.0.0.1:4000"),
    );
    let mut ev: Vec<Event> = Vec::new();
    let mut push = |pid: i32, call: &str, f: &dyn Fn(&mut Event)| {
        let seq = ev.len() as u64;
        let mut e = Event {
            seq,
            pid,
            tid: pid,
            call: call.into(),
            start_ns: 1000 * seq,
            end_ns: Some(1000 * seq + 10 * (seq % 3)),
            ret: Some(0),
            ..Event::default()
        };
        f(&mut e);
        ev.push(e);
    };
    push(1, "start", &|e| e.detail.node = Some("server".into()));
    push(1, "listen", &|e| e.fd = Some(3));
    push(2, "start", &|e| e.detail.node = Some("client".into()));
    push(2, "connect", &|e| {
        e.fd = Some(3);
        e.endpoint = Some(cs.clone().into());
    });
    push(1, "accept4", &|e| {
        e.fd = Some(3);
        e.ret = Some(4);
        e.detail.fds = vec![4];
        e.detail.new_endpoints = vec![sc.clone()];
    });
    for k in 0..rounds {
        let data = |e: &mut Event, fd: i32, end: &Endpoint| {
            e.fd = Some(fd);
            e.ret = Some(1);
            e.bytes = Some(1);
            e.endpoint = Some(end.clone().into());
        };
        push(2, "write", &|e| {
            data(e, 3, &cs);
            if k % 7 == 3 {
                e.injected = Some("delay 1ms".into());
            }
        });
        push(1, "read", &|e| data(e, 4, &sc));
        push(1, "write", &|e| data(e, 4, &sc));
        push(2, "read", &|e| data(e, 3, &cs));
    }
    push(2, "exit_group", &|e| e.detail.status = Some(0));
    ev
}

pub(super) fn setup(events: &[Event]) -> (tempfile::TempDir, RunDir, Manifest, Export) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::open(tmp.path().join("runs")).expect("store");
    let run = store.create(Some("r")).expect("create");
    let mut w = run.event_writer().expect("writer");
    for e in events {
        w.append(e).expect("append");
    }
    let manifest = Manifest {
        ended_ms: Some(1),
        status: bop_model::RunStatus::Done,
        exit_status: Some(0),
        verdict: bop_model::Verdict::Pass,
        ..Manifest::new(
            "r",
            bop_model::Target::Command {
                argv: vec!["pingpong".into()],
                cwd: "/".into(),
            },
            "pingpong",
            0,
        )
    };
    run.write_manifest(&manifest).expect("manifest");
    let export = Export::from_graph(&manifest, &CausalGraph::build(events));
    (tmp, run, manifest, export)
}

mod pyramid;

/// The index's answer is the reference's at the bucket width it says it
/// counted in (1 when event by event).
fn same(ix: &Index, m: &Manifest, x: &Export, q: &WindowQuery) -> u64 {
    let got = ix.window(m, q).expect("index");
    let bucket = got.lod.as_ref().map_or(1, |l| l.bucket);
    let want = window_of_export_in(x, q, bucket.trailing_zeros()).expect("reference");
    let (got, want) = (
        serde_json::to_value(got).expect("json"),
        serde_json::to_value(want).expect("json"),
    );
    assert_eq!(got, want, "window {q:?}");
    bucket
}

#[test]
fn windows_from_the_index_match_the_whole_graph_restricted_to_them() {
    let events = pingpong(300);
    let (_tmp, run, m, x) = setup(&events);
    let ix = build(&run).expect("index");
    assert_eq!(ix.events(), events.len() as u64);
    let lanes = |names: &[&str]| Some(names.iter().map(|s| s.to_string()).collect());
    let mut buckets = std::collections::BTreeSet::new();
    for scale in [Scale::Time, Scale::Logical] {
        for (x0, x1) in [
            (None, None),
            (Some(0), Some(0)),
            (Some(5_000), Some(40_000)),
            (Some(600_000), None),
            (Some(10_000_000), None),
        ] {
            for l in [
                None,
                lanes(&["client:t0"]),
                lanes(&["server:t0", "client:t0"]),
                lanes(&[]),
            ] {
                for columns in [1, 7, 1000] {
                    let q = WindowQuery {
                        scale,
                        x0,
                        x1,
                        lanes: l.clone(),
                        columns,
                    };
                    buckets.insert(same(&ix, &m, &x, &q));
                }
            }
        }
    }
    assert!(
        buckets.len() > 2,
        "both ways of counting were tried: {buckets:?}"
    );
}

#[test]
fn a_detailed_window_carries_the_other_ends_of_its_edges() {
    let events = pingpong(50);
    let (_tmp, run, m, _x) = setup(&events);
    let ix = build(&run).expect("index");
    // One client write: its receive on the server is outside the lane filter
    // and the window, and still comes along.
    let t = events[5].end_ns.expect("end");
    let q = WindowQuery {
        x0: Some(t),
        x1: Some(t),
        lanes: Some(vec!["client:t0".into()]),
        ..WindowQuery::default()
    };
    let w = ix.window(&m, &q).expect("window");
    assert_eq!(w.total_events, 1);
    let ids: Vec<u64> = w
        .events
        .as_ref()
        .expect("detail")
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, vec![5, 6], "the write and the read it fed");
    assert_eq!(w.edges.as_ref().expect("edges").len(), 1);
    assert_eq!(w.messages.as_ref().expect("messages").len(), 1);
    assert!(w.lod.is_none());
}

#[test]
fn a_zoomed_out_window_is_bucketed_per_column_and_lane() {
    let events = pingpong(300);
    let (_tmp, run, m, _x) = setup(&events);
    let ix = build(&run).expect("index");
    let q = WindowQuery {
        columns: 10,
        ..WindowQuery::default()
    };
    let w = ix.window(&m, &q).expect("window");
    assert!(w.events.is_none(), "{} events > 40", w.total_events);
    let lod = w.lod.expect("lod");
    let counted: u64 = lod.lanes.iter().flat_map(|l| l.counts.iter()).sum();
    assert_eq!(counted, events.len() as u64);
    let injected: u64 = lod.lanes.iter().flat_map(|l| l.injected.iter()).sum();
    assert_eq!(injected, (0..300).filter(|k| k % 7 == 3).count() as u64);
    let arrows: u64 = lod.arrows.iter().map(|a| a.count).sum();
    assert_eq!(arrows, 600, "every delivery of the whole run");
    assert!(
        lod.arrows
            .iter()
            .all(|a| (0..10).contains(&a.column_from) && a.column_to >= a.column_from)
    );
    // A window of the second half: deliveries from before it start at -1.
    let half = events[events.len() / 2].start_ns;
    let q = WindowQuery {
        x0: Some(half),
        columns: 10,
        ..WindowQuery::default()
    };
    let lod = ix.window(&m, &q).expect("window").lod.expect("lod");
    assert!(
        lod.arrows
            .iter()
            .all(|a| a.column_from >= -1 && a.column_to < 10)
    );
}

#[test]
fn bad_queries_are_refused() {
    let (_tmp, run, m, _x) = setup(&pingpong(3));
    let ix = build(&run).expect("index");
    let err = |q: WindowQuery| match ix.window(&m, &q) {
        Err(IndexError::Window(e)) => e,
        other => panic!("{q:?} gave {other:?}"),
    };
    assert_eq!(
        err(WindowQuery {
            x0: Some(9),
            x1: Some(3),
            ..WindowQuery::default()
        }),
        WindowError::Reversed { x0: 9, x1: 3 }
    );
    assert_eq!(
        err(WindowQuery {
            columns: 0,
            ..WindowQuery::default()
        }),
        WindowError::Columns(0)
    );
    assert_eq!(
        err(WindowQuery {
            columns: 8001,
            ..WindowQuery::default()
        }),
        WindowError::Columns(8001)
    );
    assert_eq!(
        err(WindowQuery {
            lanes: Some(vec!["nobody:t0".into()]),
            ..WindowQuery::default()
        }),
        WindowError::Lane("nobody:t0".into())
    );
}

#[test]
fn a_damaged_stale_or_unfinished_index_is_never_opened() {
    let (_tmp, run, _m, _x) = setup(&pingpong(200));
    let ix = build(&run).expect("index");
    let path = ix.path().to_path_buf();
    drop(ix);
    let stamp = Stamp::of(&run);
    assert!(Index::open(&run, stamp).is_ok());
    let stale = Stamp {
        len: stamp.len + 1,
        ..stamp
    };
    assert!(matches!(
        Index::open(&run, stale),
        Err(IndexError::Unusable { .. })
    ));
    let bytes = std::fs::read(&path).expect("read");
    // Cut in half (a partial copy), then garbage in the middle.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    assert!(
        Index::open(&run, stamp).is_err(),
        "a truncated index opened"
    );
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid..mid + 4096].fill(0x5a);
    std::fs::write(&path, &bad).expect("write");
    assert!(
        Index::open(&run, stamp).and_then(|ix| ix.verify()).is_err(),
        "a scribbled index passed its checks"
    );
    // An index whose write never reached its last row.
    std::fs::write(&path, &bytes).expect("write");
    let c = rusqlite::Connection::open(&path).expect("open");
    c.execute("DELETE FROM meta WHERE key = 'complete'", [])
        .expect("delete");
    drop(c);
    assert!(matches!(
        Index::open(&run, Stamp::of(&run)),
        Err(IndexError::Unusable { .. })
    ));
    // The find table is the index's too: missing, unfinished or of
    // another log, the index is not opened; scribbled, it fails verify.
    std::fs::write(&path, &bytes).expect("write");
    let find = run.file(super::FIND);
    let find_bytes = std::fs::read(&find).expect("read find");
    assert!(Index::open(&run, Stamp::of(&run)).is_ok());
    std::fs::remove_file(&find).expect("remove");
    assert!(matches!(
        Index::open(&run, Stamp::of(&run)),
        Err(IndexError::Unusable { .. })
    ));
    std::fs::write(&find, &find_bytes).expect("write");
    let c = rusqlite::Connection::open(&find).expect("open");
    c.execute("UPDATE meta SET value = '{}' WHERE key = 'stamp'", [])
        .expect("update");
    drop(c);
    assert!(matches!(
        Index::open(&run, Stamp::of(&run)),
        Err(IndexError::Unusable { .. })
    ));
    let mut bad = find_bytes.clone();
    let mid = bad.len() / 2;
    bad[mid..mid + 4096].fill(0x5a);
    std::fs::write(&find, &bad).expect("write");
    assert!(
        Index::open(&run, Stamp::of(&run))
            .and_then(|ix| ix.verify())
            .is_err(),
        "a scribbled find table passed its checks"
    );
    let left: Vec<_> = std::fs::read_dir(&run.path)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn find_over_the_index_answers_as_find_over_the_graph() {
    let mut events = pingpong(60);
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    events[7].data = Some(hex("GET /Key%_1\n").into());
    events[8].data = Some(hex("GET /Key%_1\n").into());
    events[12].data = Some("4g".into());
    events[13].data = Some(hex("caf\u{e9} \0 x").into());
    // Invalid UTF-8 around valid sequences; a quote; a bad digit midway.
    events[20].data = Some("ffc3a9e0414243ff".into());
    events[21].data = Some(hex("say \"hi\" \u{fffd}!").into());
    events[22].data = Some(format!("{}zz{}", hex("abc"), hex("def")).into());
    let (_tmp, run, _m, x) = setup(&events);
    let ix = build(&run).expect("index");
    let json = serde_json::to_string(&x.events).expect("json");
    let all: Vec<bop_tracker::find::Findable<'_>> = serde_json::from_str(&json).expect("events");
    for text in [
        "get /key",
        "%_",
        "Client:T0/1",
        "write",
        "t0/",
        "\u{c9}",
        "\0 x",
        "4",
        "zz",
        // Answered from the find table (three characters or more).
        "CAF\u{c9}",
        "caf\u{e9} \0",
        "\u{e9}ab",
        "abc",
        "cde",
        "def",
        "\"hi\"",
        "y \"",
        "->s",
        "#0/",
        ":read",
        "T0/12",
        "no such text",
        // Scanned: U+FFFD is not a payload byte.
        "\u{fffd}!",
        "\u{fffd}\u{fffd}\u{fffd}",
    ] {
        for (after, before, limit) in [
            (None, None, 100),
            (Some(9), None, 3),
            (None, Some(200), 2),
            (Some(0), None, 1000),
            (None, Some(0), 5),
            (Some(100_000), None, 5),
            (None, Some(100_000), 1),
        ] {
            let q = bop_tracker::find::FindQuery {
                text: text.into(),
                after,
                before,
                limit,
            };
            let want = bop_tracker::find::find(&all, &q).expect("graph");
            assert_eq!(ix.find(&q).expect("index"), want, "{q:?}");
        }
    }
    let empty = bop_tracker::find::FindQuery {
        text: String::new(),
        after: None,
        before: None,
        limit: 1,
    };
    assert!(matches!(ix.find(&empty), Err(IndexError::Find(_))));
}

#[test]
fn short_needles_are_counted_in_sql_as_find_counts_them() {
    // Every payload decodes: short needles take the exact SQL pass.
    let mut events = pingpong(60);
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    events[7].data = Some(hex("GET /Key%_1\n").into());
    events[13].data = Some(hex("caf\u{e9} \0 x").into());
    events[20].data = Some("ffc3a9e0414243ff".into());
    events[21].data = Some(hex("say \u{fffd}!").into());
    let (_tmp, run, _m, x) = setup(&events);
    let ix = build(&run).expect("index");
    let json = serde_json::to_string(&x.events).expect("json");
    let all: Vec<bop_tracker::find::Findable<'_>> = serde_json::from_str(&json).expect("events");
    for text in [
        "4",
        "%_",
        "%",
        "_",
        "\\",
        "t0",
        "0/",
        "/1",
        "K",
        "\u{e9}",
        "\u{c9}",
        "\u{fffd}",
        "\u{fffd}!",
        "\0",
        "\0 ",
        "ab",
        "c",
        "->",
        "#",
    ] {
        for (after, before, limit) in [
            (None, None, 1000),
            (Some(9), None, 3),
            (None, Some(200), 2),
            (None, Some(0), 5),
        ] {
            let q = bop_tracker::find::FindQuery {
                text: text.into(),
                after,
                before,
                limit,
            };
            let want = bop_tracker::find::find(&all, &q).expect("graph");
            assert_eq!(ix.find(&q).expect("index"), want, "{q:?}");
        }
    }
    assert!(!ix.undecodable().expect("lookup"));
}
