//! The text form of a [`Comparison`] (`bop diff A B`): the first divergence
//! on top, then one section per kind of difference. Long lists are cut;
//! `--json` has everything.

use std::fmt::Write;

use super::{
    Comparison, Divergence, DivergenceKind, EventInfo, MessageDiff, MessageInfo, RunInfo,
    ThreadDiff,
};

/// Entries shown per list before "... and N more".
const MAX_LIST: usize = 25;

/// Renders a comparison for a terminal (plain text, no colours).
pub fn render_text(c: &Comparison) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "bop diff: A = {}  vs  B = {}", c.a.id, c.b.id);
    run_line(o, "A", &c.a);
    run_line(o, "B", &c.b);
    if c.same_class {
        let _ = writeln!(o, "   same trace class");
    }
    divergences(o, c);
    if c.is_empty() {
        return out;
    }
    names(o, c);
    messages(o, &c.messages);
    events(o, &c.events);
    section(o, "Summary");
    for l in c.summary.lines() {
        let _ = writeln!(o, "  {l}");
    }
    out
}

/// The first divergence and the others.
fn divergences(o: &mut String, c: &Comparison) {
    section(o, "First divergence");
    match &c.first_divergence {
        None if c.is_empty() => {
            let _ = writeln!(o, "  none: the runs match event for event");
        }
        None => {
            let _ = writeln!(o, "  none in causal order (see the differences below)");
        }
        Some(d) => {
            divergence(o, d, "  ");
            if !c.other_divergences.is_empty() {
                let _ = writeln!(
                    o,
                    "\n  Other divergences with no traced causal path from the first\n  \
                     (communication the tracer does not see, such as in-process queues,\n  \
                     may still link them):"
                );
                for d in &c.other_divergences {
                    divergence(o, d, "    ");
                }
            }
        }
    }
}

/// Processes, threads and channels only in one run.
fn names(o: &mut String, c: &Comparison) {
    if c.processes.is_empty() && c.threads.is_empty() && c.channels.is_empty() {
        return;
    }
    section(o, "Processes, threads, channels");
    for (what, x) in [
        ("processes", &c.processes),
        ("threads", &c.threads),
        ("channels", &c.channels),
    ] {
        for (side, v) in [("A", &x.only_a), ("B", &x.only_b)] {
            if !v.is_empty() {
                let _ = writeln!(o, "  {what} only in {side}: {}", v.join(", "));
            }
        }
    }
}

fn messages(o: &mut String, m: &MessageDiff) {
    if m.changed.is_empty() && m.only_a.is_empty() && m.only_b.is_empty() {
        return;
    }
    section(o, "Messages");
    if !m.changed.is_empty() {
        let _ = writeln!(o, "  changed:");
        for (k, ch) in m.changed.iter().enumerate() {
            if cut(o, k, m.changed.len(), "    ") {
                break;
            }
            let _ = writeln!(o, "    {}", message(&ch.a));
            for w in &ch.what {
                let _ = writeln!(o, "        {w}");
            }
        }
    }
    for (side, v) in [("A", &m.only_a), ("B", &m.only_b)] {
        if v.is_empty() {
            continue;
        }
        let _ = writeln!(o, "  only in {side}:");
        for (k, x) in v.iter().enumerate() {
            if cut(o, k, v.len(), "    ") {
                break;
            }
            let _ = writeln!(o, "    {}", message(x));
        }
    }
}

fn events(o: &mut String, threads: &[ThreadDiff]) {
    if threads.is_empty() {
        return;
    }
    section(
        o,
        "Events per thread  (- only in A, + only in B, ~ changed, > moved)",
    );
    for t in threads {
        let _ = writeln!(o, "  {}", t.thread);
        let lines = thread_lines(t);
        for (k, l) in lines.iter().enumerate() {
            if cut(o, k, lines.len(), "    ") {
                break;
            }
            let _ = writeln!(o, "{l}");
        }
    }
}

/// One list in thread order: A's events by A position, B's insertions
/// after them (their names say where they are).
fn thread_lines(t: &ThreadDiff) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for ch in &t.changed {
        lines.push(format!("    ~ {}  ->  B {}", event(&ch.a), event(&ch.b)));
        for w in &ch.what {
            lines.push(format!("        {w}"));
        }
    }
    for ch in &t.moved {
        lines.push(format!("    > {}  ->  B {}", event(&ch.a), ch.b.name));
    }
    for e in &t.removed {
        lines.push(format!("    - {}", event(e)));
    }
    for e in &t.inserted {
        lines.push(format!("    + {}", event(e)));
    }
    lines
}

fn section(o: &mut String, title: &str) {
    let _ = writeln!(o, "\n== {title} ==");
}

/// Writes "... and N more" and returns true at the cut-off.
fn cut(o: &mut String, k: usize, len: usize, indent: &str) -> bool {
    if k == MAX_LIST && len > MAX_LIST + 1 {
        let _ = writeln!(o, "{indent}... and {} more (see --json)", len - MAX_LIST);
        return true;
    }
    false
}

fn run_line(o: &mut String, side: &str, r: &RunInfo) {
    let verdict = r.verdict.as_str();
    let parent = r
        .parent
        .as_ref()
        .map_or(String::new(), |p| format!("  rerun of {p}"));
    let exit = r
        .exit_status
        .map_or(String::new(), |s| format!("  exit {s}"));
    let _ = writeln!(
        o,
        "   {side}  {:<12} {verdict:<7} class {}  {} events{exit}{parent}",
        r.id, r.trace_class, r.events
    );
    for f in &r.faults {
        let at = match (&f.at, f.fired) {
            (Some(at), true) => format!("fired at {at}: {}", f.effect),
            (None, true) => format!("fired: {}", f.effect),
            (_, false) => format!("did not fire: {}", f.effect),
        };
        let _ = writeln!(o, "       fault  {}  ({at})", f.fault);
    }
}

fn divergence(o: &mut String, d: &Divergence, indent: &str) {
    wrapped(o, indent, &d.reason);
    if !d.in_workload {
        let _ = writeln!(
            o,
            "{indent}  (outside the workload: not before the client's last event)"
        );
    }
    let at = match (d.kind, &d.a, &d.b) {
        (DivergenceKind::Changed, Some(a), Some(b)) if a == b => format!("A and B: {a}"),
        (_, Some(a), Some(b)) => format!("A: {a}   B: {b}"),
        (_, Some(a), None) => format!("A: {a}   B: -"),
        (_, None, Some(b)) => format!("A: -   B: {b}"),
        _ => String::new(),
    };
    let after = d
        .after
        .as_ref()
        .map_or(String::new(), |x| format!("   (after {x}, which matches)"));
    wrapped(o, &format!("{indent}  "), &format!("{at}{after}"));
}

/// Columns of text per line of a divergence, and lines kept of it.
const WRAP: usize = 100;
const WRAP_LINES: usize = 4;

/// Writes `text` wrapped at [`WRAP`] characters (at a space when there is
/// one), each line indented, and cut after [`WRAP_LINES`] lines: one
/// divergence of a real run (a whole SQL payload) can be tens of KB, and
/// `--json` keeps the full text.
pub(super) fn wrapped(o: &mut String, indent: &str, text: &str) {
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    for line in 0..WRAP_LINES {
        if start >= chars.len() {
            return;
        }
        let mut end = (start + WRAP).min(chars.len());
        if end < chars.len() {
            if let Some(sp) = chars[start..end].iter().rposition(|&c| c == ' ') {
                end = start + sp.max(1);
            }
        }
        let piece: String = chars[start..end].iter().collect();
        let cont = if line == 0 { "" } else { "  " };
        let _ = writeln!(o, "{indent}{cont}{}", piece.trim_start());
        start = end;
    }
    let rest = chars[start..].iter().filter(|c| !c.is_whitespace()).count();
    if rest > 0 {
        let more = chars.len() - start;
        let _ = writeln!(
            o,
            "{indent}  ... ({more} more characters; the full text is in --json)"
        );
    }
}

fn message(m: &MessageInfo) -> String {
    let recvs = if m.recvs.is_empty() {
        "nothing".to_string()
    } else {
        m.recvs.join(", ")
    };
    let payload = m
        .payload
        .as_ref()
        .map_or(String::new(), |p| format!(" {p}"));
    let mut s = format!(
        "{}  {} bytes{payload}  {} -> {recvs}",
        m.name, m.bytes, m.send
    );
    if m.dropped {
        s.push_str("  [dropped]");
    } else if m.lost {
        s.push_str("  [lost]");
    }
    s
}

fn event(e: &EventInfo) -> String {
    let mut s = format!("{} {}", e.name, e.outcome);
    if let Some(c) = &e.channel {
        s.push_str(&format!(" on {c}"));
    }
    if !e.messages.is_empty() {
        s.push_str(&format!(" [{}]", e.messages.join(", ")));
    }
    if let Some(p) = &e.payload {
        s.push_str(&format!(" {p}"));
    }
    if let Some(i) = &e.injected {
        s.push_str(&format!(" (injected: {i})"));
    }
    s
}

#[cfg(test)]
mod wrap_tests {
    use super::wrapped;

    #[test]
    fn long_divergence_lines_wrap_and_are_cut() {
        let text = "word ".repeat(2000);
        let mut o = String::new();
        wrapped(&mut o, "  ", &text);
        let lines: Vec<&str> = o.lines().collect();
        assert_eq!(lines.len(), 5, "{o}");
        assert!(lines.iter().all(|l| l.chars().count() <= 106), "{o}");
        assert!(lines[4].contains("more characters; the full text is in --json"));
        let mut short = String::new();
        wrapped(&mut short, "  ", "A: x   B: y");
        assert_eq!(short, "  A: x   B: y\n");
    }
}
