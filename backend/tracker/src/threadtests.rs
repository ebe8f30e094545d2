//! Thread names (DESIGN.md "Logical names"): a thread is named by its own
//! creation history only, so every prefix of a run names each thread the
//! way the whole run does, and concurrent creators interleaving otherwise
//! (another run of the same behaviour) do not rename anyone.

use proptest::prelude::*;

use super::CausalGraph;
use super::testlog::{Ev, Log, ev};

/// Plays a thread tree: op `(j, spawn)` makes thread `j % n` (n threads so
/// far) start a thread, or make a call. Threads run interleaved by `seed`;
/// tids are relabelled by `tid0`. Returns the log and, per event, the
/// simulator's identity of its thread (stable across interleavings).
fn play(script: &[(u8, bool)], seed: u64, tid0: i32) -> (Vec<bop_model::Event>, Vec<usize>) {
    // Each thread's program: Some(child) to spawn it, None for a call.
    let mut programs: Vec<Vec<Option<usize>>> = vec![Vec::new()];
    for &(j, spawn) in script {
        let j = usize::from(j) % programs.len();
        if spawn {
            programs.push(Vec::new());
            let child = programs.len() - 1;
            programs[j].push(Some(child));
        } else {
            programs[j].push(None);
        }
    }
    let tid = |s: usize| tid0 + 7 * s as i32;
    let pid = tid0;
    let mut log = Log::default();
    let mut who = Vec::new();
    let mut push = |log: &mut Log, e, s| {
        log.push(e);
        who.push(s);
    };
    push(&mut log, ev(pid, pid, "start").ret(None).node("n"), 0);
    let mut next = vec![0usize; programs.len()];
    let mut live = vec![0usize];
    let mut rng = seed | 1;
    while !live.is_empty() {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let k = (rng >> 33) as usize % live.len();
        let s = live[k];
        match programs[s].get(next[s]).copied() {
            Some(Some(c)) => {
                // The tracer records the start while the creator is still
                // stopped in its clone, then the clone's exit.
                let start = ev(pid, tid(c), "start").ret(None).child(tid(s)).thread();
                push(&mut log, start, c);
                push(&mut log, ev(pid, tid(s), "clone").child(tid(c)), s);
                live.push(c);
            }
            Some(None) => push(&mut log, ev(pid, tid(s), "getpid"), s),
            None => {
                push(&mut log, ev(pid, tid(s), "exit"), s);
                live.swap_remove(k);
            }
        }
        next[s] += 1;
    }
    (log.events, who)
}

/// Per simulator thread identity: its name in the graph of `events`.
fn names_by_identity(events: &[bop_model::Event], who: &[usize]) -> Vec<(usize, String)> {
    let g = CausalGraph::build(events);
    let mut out: Vec<(usize, String)> = (0..events.len())
        .map(|i| (who[i], g.threads()[g.thread_of(i)].name.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn script() -> impl Strategy<Value = Vec<(u8, bool)>> {
    prop::collection::vec((any::<u8>(), any::<bool>()), 0..40)
}

proptest! {
    #[test]
    fn prefix_names_every_thread_like_the_whole_run(s in script(), seed in any::<u64>(), cut in any::<prop::sample::Index>()) {
        let (events, _) = play(&s, seed, 100);
        let g = CausalGraph::build(&events);
        let k = cut.index(events.len() + 1);
        let p = CausalGraph::build(&events[..k]);
        for i in 0..k {
            prop_assert_eq!(p.event_name(i), g.event_name(i));
        }
    }

    #[test]
    fn interleaving_does_not_rename_threads(s in script(), a in any::<u64>(), b in any::<u64>()) {
        let (ea, wa) = play(&s, a, 100);
        let (eb, wb) = play(&s, b, 5000);
        let na = names_by_identity(&ea, &wa);
        let nb = names_by_identity(&eb, &wb);
        prop_assert_eq!(&na, &nb);
        let mut distinct: Vec<&String> = na.iter().map(|(_, n)| n).collect();
        distinct.sort();
        distinct.dedup();
        prop_assert_eq!(distinct.len(), na.len());
    }
}

/// The case of issue 13: t0 starts A, A starts B, then t0 starts C. Depth
/// numbering named B `t3` in the whole run but `t2` before C existed.
#[test]
fn a_thread_started_later_at_smaller_depth_renames_nobody() {
    let mut log = Log::default();
    log.push(ev(1, 1, "start").ret(None).node("n"));
    log.push(ev(1, 2, "start").ret(None).child(1).thread());
    log.push(ev(1, 1, "clone").child(2));
    log.push(ev(1, 3, "start").ret(None).child(2).thread());
    log.push(ev(1, 2, "clone").child(3));
    log.push(ev(1, 3, "read"));
    let prefix = log.events.len();
    log.push(ev(1, 4, "start").ret(None).child(1).thread());
    log.push(ev(1, 1, "clone").child(4));
    let whole = CausalGraph::build(&log.events);
    let names: Vec<&str> = whole.threads().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["n:t0", "n:t1", "n:t1.1", "n:t2"]);
    let part = CausalGraph::build(&log.events[..prefix]);
    assert_eq!(part.event_name(5), "n:t1.1/1:read");
    assert_eq!(whole.event_name(5), "n:t1.1/1:read");
}
