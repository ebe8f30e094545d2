//! Trace classes: a canonical hash of a run's causal structure.
//!
//! The graph is [`super::CausalGraph`]; this module turns the
//! graph into a text that names only logical things (threads, event
//! ordinals, calls, outcomes, channels, messages, edges) and hashes it.
//! Pids, tids, ports, fds, timestamps and `seq` never enter the text, and
//! every line is sorted, so two runs that differ only in how concurrent
//! events interleaved get the same class, while a different message order
//! (a read fed by another send) changes an edge line and the class.
//!
//! Timing noise is left out: blocking points (`poll`, `select`,
//! `epoll_wait`...) and calls that failed with `EAGAIN`/`EWOULDBLOCK`/
//! `EINTR` are skipped unless a cross edge touches them (none normally
//! does), and event ordinals in the class count only the kept events. How
//! often a server loops through `epoll_wait` or retries a non-blocking read
//! depends on scheduling, not on what the system did; keeping them would
//! give nearly every run its own class. Byte counts of reads are left out
//! for the same reason (where they matter they show as message edges);
//! byte counts of messages (sends) are kept.
//!
//! In a scenario run, only the causal past of the client's last event
//! counts: what nodes do after the workload ended (being stopped by bop's
//! SIGTERM at whatever point they were) is bop's timing, not the system's.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::{CausalGraph, EdgeKind, is_blocking, receives};

/// Hex digits kept from the SHA-256 of the class text (64 bits).
const CLASS_HEX: usize = 16;

/// True when event `i` is timing noise (see the module docs): a blocking
/// point or a call that failed with a retry errno, that the injector did
/// not change and that no cross edge touches. The one rule for trace
/// classes and run comparison, which leaves these out of its alignment.
pub(crate) fn is_noise(g: &CausalGraph<'_>, i: usize) -> bool {
    let e = &g.events()[i];
    let retry = matches!(e.errno.as_deref(), Some("EAGAIN" | "EWOULDBLOCK" | "EINTR"));
    (is_blocking(&e.call) || retry) && e.injected.is_none() && !g.has_cross_edges(i)
}

/// The outcome of an event as the class sees it; borrowed or static but
/// for exits and kills (a `String` per event was a tenth of a class).
fn outcome<'g>(g: &CausalGraph<'g>, i: usize) -> Cow<'g, str> {
    let e = &g.events()[i];
    if let Some(errno) = &e.errno {
        return Cow::Borrowed(errno.as_str());
    }
    match e.call.as_str() {
        "exit" | "exit_group" => format!("status={}", e.detail.status.unwrap_or(0)).into(),
        "killed" => format!("signal={}", e.detail.signal.as_deref().unwrap_or("?")).into(),
        _ if e.ret.is_none() => Cow::Borrowed("unfinished"),
        _ if receives(e) && e.ret == Some(0) => Cow::Borrowed("eof"),
        _ => Cow::Borrowed("ok"),
    }
}

/// A piece of a class line: lines are written piece by piece, without
/// the formatting machinery, which was a third of a class at 10^6 events.
#[derive(Clone, Copy)]
enum Piece<'a> {
    Str(&'a str),
    Num(u64),
}

/// The pieces of an event's class name, `thread/kept ordinal:call`.
fn class_name<'a>(thread: &'a str, kept: u32, call: &'a str) -> [Piece<'a>; 5] {
    use Piece::{Num, Str};
    [
        Str(thread),
        Str("/"),
        Num(u64::from(kept)),
        Str(":"),
        Str(call),
    ]
}

/// The sorted lines the trace class hashes, for explaining why two runs
/// fall in different classes (a line diff of two runs' structures).
pub fn class_structure(g: &CausalGraph<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for_each_sorted(g, |line| out.push(line.to_string()));
    out
}

/// The kinds of class line, in the order their lines sort: every line
/// starts with its kind's word and the words sort in this order, so the
/// sorted lines of each kind, one kind after the other, are the sorted
/// lines of the whole class. Only one kind's lines are held at a time: at
/// 10^6 events all of them were 240 MB of the 300 that recording may use
/// (docs/PERFORMANCE.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Channel,
    Edge,
    Event,
    Lost,
    Message,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Channel,
        Kind::Edge,
        Kind::Event,
        Kind::Lost,
        Kind::Message,
    ];
}

/// Calls `f` with every line of the class of `g`, in byte order.
fn for_each_sorted(g: &CausalGraph<'_>, mut f: impl FnMut(&str)) {
    let kept = kept_ordinals(g);
    for kind in Kind::ALL {
        let parts = match (kind, threads_by_prefix(g)) {
            (Kind::Event, Some(order)) => order.into_iter().map(Some).collect(),
            _ => vec![None],
        };
        for thread in parts {
            let lines = Lines::of(g, &kept, kind, thread);
            for line in lines.sorted() {
                f(line);
            }
        }
    }
}

/// The threads in the byte order of `NAME/`, which follows `event ` in
/// each of their event lines, when no thread's `NAME/` starts another's:
/// then the lines of each thread sorted, one thread after the other, are
/// the event lines sorted, and only one thread's are held at a time (all
/// of them were ~60 MB at 10^6 events, docs/PERFORMANCE.md). `None` when
/// two names clash that way (equal names, say).
fn threads_by_prefix(g: &CausalGraph<'_>) -> Option<Vec<usize>> {
    let prefix = |t: usize| format!("{}/", g.threads()[t].name);
    let mut order: Vec<usize> = (0..g.threads().len()).collect();
    order.sort_by_cached_key(|&t| prefix(t));
    let free = order
        .windows(2)
        .all(|w| !prefix(w[1]).starts_with(&prefix(w[0])));
    free.then_some(order)
}

/// Per event: its ordinal among its thread's kept events (the class name
/// is thread/ordinal:call, written where it is needed), or `u32::MAX` for
/// an event the class leaves out (noise, or after the workload's end).
fn kept_ordinals(g: &CausalGraph<'_>) -> Vec<u32> {
    let horizon = g.workload_end();
    let past = horizon.map(|h| g.causal_past(h));
    let in_scope = |i: usize| match (horizon, &past) {
        (Some(h), Some(past)) => i == h || past[i],
        _ => true,
    };
    let mut kept: Vec<u32> = vec![u32::MAX; g.events().len()];
    for th in g.threads() {
        let mut k = 0;
        for &i in &th.events {
            if is_noise(g, i) || !in_scope(i) {
                continue;
            }
            kept[i] = k;
            k += 1;
        }
    }
    kept
}

/// One kind's lines in one text, line `k` ending at `ends[k]`: one
/// `String` per line (and one per event's class name) would be a third of
/// what recording a run may use.
struct Lines {
    text: String,
    ends: Vec<usize>,
}

impl Lines {
    /// The lines of `kind`; of one thread's events only when `thread` is
    /// given (for [`Kind::Event`]).
    fn of(g: &CausalGraph<'_>, kept: &[u32], kind: Kind, thread: Option<usize>) -> Lines {
        let mut lines = Lines {
            text: String::new(),
            ends: Vec::new(),
        };
        lines.build(g, kept, kind, thread);
        lines
    }

    /// Appends one line; `write!` to a `String` cannot fail.
    fn push(&mut self, line: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        let _ = self.text.write_fmt(line);
        self.ends.push(self.text.len());
    }

    /// Appends one line made of `pieces`, numbers in decimal.
    fn push_pieces(&mut self, pieces: &[Piece<'_>]) {
        for p in pieces {
            match *p {
                Piece::Str(s) => self.text.push_str(s),
                Piece::Num(mut n) => {
                    let mut digits = [0u8; 20];
                    let mut k = digits.len();
                    loop {
                        k -= 1;
                        digits[k] = b'0' + (n % 10) as u8;
                        n /= 10;
                        if n == 0 {
                            break;
                        }
                    }
                    self.text
                        .push_str(std::str::from_utf8(&digits[k..]).unwrap_or_default());
                }
            }
        }
        self.ends.push(self.text.len());
    }

    fn line(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.text[start..self.ends[k]]
    }

    /// The lines in byte order (the order of sorted `String`s).
    fn sorted(&self) -> impl Iterator<Item = &str> {
        let mut order: Vec<u32> = (0..self.ends.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.line(a as usize).cmp(self.line(b as usize)));
        order.into_iter().map(|k| self.line(k as usize))
    }

    fn build(&mut self, g: &CausalGraph<'_>, kept: &[u32], kind: Kind, thread: Option<usize>) {
        use Piece::{Num, Str};
        let name = |i: usize| {
            let k = kept[i];
            (k != u32::MAX)
                .then(|| class_name(&g.threads()[g.thread_of(i)].name, k, &g.events()[i].call))
        };
        match kind {
            Kind::Event => {
                let threads = g.threads().iter().enumerate();
                for (_, th) in threads.filter(|&(t, _)| thread.is_none_or(|only| only == t)) {
                    for &i in th.events.iter().filter(|&&i| kept[i] != u32::MAX) {
                        let [t, slash, k, colon, call] =
                            class_name(&th.name, kept[i], &g.events()[i].call);
                        let outcome = outcome(g, i);
                        self.push_pieces(&[
                            Str("event "),
                            t,
                            slash,
                            k,
                            colon,
                            call,
                            Str(" "),
                            Str(&outcome),
                        ]);
                    }
                }
            }
            Kind::Channel => {
                for c in g.channels() {
                    let mode = if c.stream { "stream" } else { "dgram" };
                    self.push(format_args!(
                        "channel {} {} {mode}",
                        c.name,
                        c.kind.as_str()
                    ));
                }
            }
            Kind::Edge => {
                // Any order: the lines are sorted.
                for (a, b, e) in g.cross_edges() {
                    let (Some(from), Some(to)) = (name(a), name(b)) else {
                        continue;
                    };
                    let (space, label) = match (e.kind, e.message) {
                        (EdgeKind::Message, Some(m)) => (" ", g.messages()[m].name.as_str()),
                        _ => ("", ""),
                    };
                    let mut line = [Str(""); 16];
                    line[..3].copy_from_slice(&[Str("edge "), Str(e.kind.as_str()), Str(" ")]);
                    line[3..8].copy_from_slice(&from);
                    line[8] = Str(" ");
                    line[9..14].copy_from_slice(&to);
                    line[14..].copy_from_slice(&[Str(space), Str(label)]);
                    self.push_pieces(&line);
                }
            }
            // What was said matters, not only who talked to whom: a reply
            // of 4 bytes ("NIL") where another run sent 2 ("1") is another
            // behaviour.
            Kind::Message => {
                for m in g.messages().iter().filter(|m| kept[m.send] != u32::MAX) {
                    self.push_pieces(&[Str("message "), Str(&m.name), Str(" "), Num(m.bytes)]);
                }
            }
            Kind::Lost => {
                for m in g
                    .messages()
                    .iter()
                    .filter(|m| m.lost && kept[m.send] != u32::MAX)
                {
                    self.push(format_args!("lost {}", m.name));
                }
            }
        }
    }
}

/// The trace class of a run: the first 16 hex digits of the SHA-256 of its
/// [`class_structure`]. Same causal structure over logical names → same
/// class, whatever the pids, ports, timings and interleaving.
pub fn trace_class(g: &CausalGraph<'_>) -> String {
    let mut h = Sha256::new();
    for_each_sorted(g, |line| {
        h.update(line.as_bytes());
        h.update(b"\n");
    });
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..CLASS_HEX].to_string()
}
