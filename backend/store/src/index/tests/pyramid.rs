//! The level-of-detail pyramid on random runs: every level holds what a
//! `GROUP BY` over the events and deliveries tables gives at its bucket
//! width, and windows answered from it match the reference (exactly so
//! when the columns fall on bucket edges).

use proptest::prelude::*;

use super::super::pyramid::KINDS_OR;
use super::super::{Index, build};
use super::{same, setup};
use bop_model::{Endpoint, Event};
use bop_tracker::window::{Extent, Scale, WindowQuery, window_of_export};

/// One step of a random run: client `c` writes to the server (maybe
/// after the server's read failed with EAGAIN), which answers; `gap` ns
/// pass before it, and the write may be marked injected.
#[derive(Clone, Debug)]
struct Step {
    c: usize,
    gap: u64,
    injected: bool,
    eagain: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..3usize,
        1..20_000u64,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(c, gap, injected, eagain)| Step {
            c,
            gap,
            injected,
            eagain,
        })
}

/// A server (pid 1) and `clients` clients (pids 2..), each connected
/// once, then `steps` round trips with irregular gaps.
fn random_run(clients: usize, steps: &[Step]) -> Vec<Event> {
    let ep = |local: String, peer: String| Endpoint {
        kind: Some(bop_model::ChannelKind::Tcp),
        stream: true,
        local,
        peer: Some(peer),
        ..Endpoint::default()
    };
    let srv = "127.0.0.1:7000".to_string();
    let ends: Vec<(Endpoint, Endpoint)> = (0..clients)
        .map(|c| {
            let cl = format!("127.0.0.1:{}", 4000 + c);
            (ep(cl.clone(), srv.clone()), ep(srv.clone(), cl))
        })
        .collect();
    let mut ev: Vec<Event> = Vec::new();
    let mut now = 0u64;
    let mut push = |now: u64, pid: i32, call: &str, f: &dyn Fn(&mut Event)| {
        let mut e = Event {
            seq: ev.len() as u64,
            pid,
            tid: pid,
            call: call.into(),
            start_ns: now,
            end_ns: Some(now + 3),
            ret: Some(0),
            ..Event::default()
        };
        f(&mut e);
        ev.push(e);
    };
    push(now, 1, "start", &|e| e.detail.node = Some("server".into()));
    push(now, 1, "listen", &|e| e.fd = Some(3));
    for (c, (cs, sc)) in ends.iter().enumerate() {
        let pid = 2 + c as i32;
        now += 10;
        push(now, pid, "start", &|e| {
            e.detail.node = Some(format!("client{c}"))
        });
        push(now, pid, "connect", &|e| {
            e.fd = Some(3);
            e.endpoint = Some(cs.clone().into());
        });
        push(now + 1, 1, "accept4", &|e| {
            e.fd = Some(3);
            e.ret = Some(4 + c as i64);
            e.detail.fds = vec![4 + c as i32];
            e.detail.new_endpoints = vec![sc.clone()];
        });
    }
    for s in steps {
        let c = s.c % clients;
        let (cs, sc) = &ends[c];
        let (pid, sfd) = (2 + c as i32, 4 + c as i32);
        let data = |e: &mut Event, fd: i32, end: &Endpoint| {
            e.fd = Some(fd);
            e.ret = Some(1);
            e.bytes = Some(1);
            e.endpoint = Some(end.clone().into());
        };
        now += s.gap;
        if s.eagain {
            push(now, 1, "read", &|e| {
                e.fd = Some(sfd);
                e.ret = Some(-11);
                e.errno = Some("EAGAIN".into());
                e.endpoint = Some(sc.clone().into());
            });
        }
        push(now + 1, pid, "write", &|e| {
            data(e, 3, cs);
            if s.injected {
                e.injected = Some("delay 1ms".into());
            }
        });
        push(now + 2, 1, "read", &|e| data(e, sfd, sc));
        push(now + 3, 1, "write", &|e| data(e, sfd, sc));
        push(now + 4, pid, "read", &|e| data(e, 3, cs));
    }
    for c in 0..clients {
        now += 5;
        push(now, 2 + c as i32, "exit_group", &|e| {
            e.detail.status = Some(0)
        });
    }
    ev
}

fn rows(ix: &Index, sql: &str, args: &[i64]) -> Vec<Vec<i64>> {
    let mut stmt = ix.conn.prepare(sql).expect("prepare");
    let n = stmt.column_count();
    stmt.query_map(rusqlite::params_from_iter(args), |r| {
        (0..n).map(|k| r.get::<_, i64>(k)).collect()
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Every level of the pyramid against the direct `GROUP BY`s.
fn levels_equal_group_by(ix: &Index) -> usize {
    let mut checked = 0;
    for (k, x, (xs, xd)) in [(0, "t", ("src_t", "dst_t")), (1, "l", ("src_l", "dst_l"))] {
        let levels = if k == 0 {
            &ix.facts.levels.time
        } else {
            &ix.facts.levels.logical
        };
        for &s in levels {
            let s = i64::from(s);
            let got = rows(
                ix,
                "SELECT bucket, lane, events, injected, kinds FROM lod_lanes
                 WHERE scale = ?1 AND shift = ?2 ORDER BY bucket, lane",
                &[k, s],
            );
            let want = rows(
                ix,
                &format!(
                    "SELECT {x} >> ?1, lane, count(*), count(injected), {KINDS_OR} FROM events
                     GROUP BY 1, 2 ORDER BY 1, 2"
                ),
                &[s],
            );
            assert_eq!(got, want, "lanes of scale {k} level {s}");
            let got = rows(
                ix,
                "SELECT src_bucket, src_lane, dst_lane, dst_bucket, count FROM lod_arrows
                 WHERE scale = ?1 AND shift = ?2 ORDER BY 1, 2, 3, 4",
                &[k, s],
            );
            let want = rows(
                ix,
                &format!(
                    "SELECT {xs} >> ?1, src_lane, dst_lane, {xd} >> ?1, count(*) FROM deliveries
                     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
                ),
                &[s],
            );
            assert_eq!(got, want, "arrows of scale {k} level {s}");
            checked += 1;
        }
    }
    checked
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn the_pyramid_is_the_group_by_and_answers_like_the_reference(
        clients in 1..4usize,
        steps in prop::collection::vec(step(), 20..400),
        queries in prop::collection::vec(
            (any::<bool>(), 0.0..1.0f64, 0.0..1.0f64, 1..300usize, 0..5usize),
            12,
        ),
    ) {
        let events = random_run(clients, &steps);
        let (_tmp, run, m, x) = setup(&events);
        let ix = build(&run).expect("index");
        prop_assert!(levels_equal_group_by(&ix) > 0);
        let threads: Vec<String> = x.threads.iter().map(|t| t.name.clone()).collect();
        for (logical, a, b, columns, lanes) in queries {
            let scale = if logical { Scale::Logical } else { Scale::Time };
            let extent = Extent::of(&x.events);
            let ext = if logical { extent.logical } else { extent.time };
            let span = (ext[1] - ext[0]) as f64;
            let (a, b) = (a.min(b), a.max(b));
            let q = WindowQuery {
                scale,
                x0: Some(ext[0] + (a * span) as u64),
                x1: Some(ext[0] + (b * span) as u64),
                // 0: every lane; else every lane but one.
                lanes: (lanes > 0).then(|| {
                    threads.iter().enumerate().filter(|(k, _)| *k != lanes % threads.len())
                        .map(|(_, t)| t.clone()).collect()
                }),
                columns,
            };
            same(&ix, &m, &x, &q);
        }
    }

    #[test]
    fn columns_on_bucket_edges_are_counted_exactly(
        steps in prop::collection::vec(step(), 50..400),
        width in 4..18u32,
        start in 0..64u64,
        columns in 1..200usize,
        logical in any::<bool>(),
    ) {
        let events = random_run(2, &steps);
        let (_tmp, run, m, x) = setup(&events);
        let ix = build(&run).expect("index");
        let width = if logical { width.min(8) } else { width };
        let x0 = start << width;
        let q = WindowQuery {
            scale: if logical { Scale::Logical } else { Scale::Time },
            x0: Some(x0),
            x1: Some(x0 + ((columns as u64) << width) - 1),
            lanes: None,
            columns,
        };
        // The same counts as event by event, whatever the bucket said.
        let mut got = ix.window(&m, &q).expect("index");
        if let Some(lod) = got.lod.as_mut() {
            lod.bucket = 1;
        }
        let got = serde_json::to_value(got).expect("json");
        let want = serde_json::to_value(window_of_export(&x, &q).expect("reference")).expect("json");
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_whole_run_at_few_columns_is_read_from_the_pyramid() {
    let steps: Vec<Step> = (0..2000)
        .map(|k| Step {
            c: k % 2,
            gap: 1000 + (k as u64 * 37) % 500,
            injected: k % 5 == 0,
            eagain: k % 9 == 0,
        })
        .collect();
    let events = random_run(2, &steps);
    let (_tmp, run, m, x) = setup(&events);
    let ix = build(&run).expect("index");
    let q = WindowQuery {
        columns: 100,
        ..WindowQuery::default()
    };
    let bucket = same(&ix, &m, &x, &q);
    assert!(bucket > 1, "counted event by event");
    let w = ix.window(&m, &q).expect("window");
    assert_eq!(w.total_events, events.len() as u64);
    let lod = w.lod.expect("lod");
    let kinds = lod
        .lanes
        .iter()
        .flat_map(|l| &l.kinds)
        .fold(0, |a, k| a | k);
    // send, recv, setup, exit, other (start) and failed (the EAGAINs).
    assert_eq!(kinds, 1 | 2 | 4 | 32 | 64 | 128, "{kinds:#b}");
}
