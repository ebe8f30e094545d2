//! Real systems nobody here wrote, as the bundled scenarios run them
//! (issue 13's acceptance): nginx in front of two nginx backends (static
//! files sent with sendfile), memcached (connections handed to worker
//! threads), PostgreSQL (initdb, a server, psql). Each is recorded twice
//! and must show: every connection between traced processes linked and
//! named by its two processes, the same channel names in both runs, and a
//! drop planned from one run that fires in the next. Each needs its
//! program installed (.ci/run installs them).

use std::path::{Path, PathBuf};

use bop_model::{ChannelKind, Event, Manifest, Verdict};
use bop_tracker::CausalGraph;

use crate::common::*;

/// A bundled scenario file.
fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../backend/bop/demo/{name}"))
}

/// What the test measured, for the report in its output.
struct Recorded {
    manifest: Manifest,
    events: Vec<Event>,
    channels: Vec<String>,
}

/// Records `file` as run `id` and checks that it passed and that every
/// connection is linked: both of its ends are traced processes, and its
/// name carries no port of this run.
fn record(s: &TempStore, file: &Path, id: &str, env: &[(&str, &str)]) -> Recorded {
    let mut command = s.bop_command(&["run", "-q", "--id", id, file.to_str().unwrap()]);
    let out = run(command.envs(env.iter().copied()));
    assert_ok(&out, &format!("bop run {}", file.display()));
    let (manifest, events) = s.read(id);
    assert_eq!(
        manifest.verdict,
        Verdict::Pass,
        "{id}: {:?}",
        manifest.reason
    );
    let g = CausalGraph::build(&events);
    let mut channels = Vec::new();
    let mut linked = 0;
    for c in g.channels() {
        let connection = matches!(c.kind, ChannelKind::Tcp | ChannelKind::Unix) && c.stream;
        if connection {
            assert!(
                c.processes.iter().all(Option::is_some),
                "{id}: {} has an unlinked side: {:?}",
                c.name,
                c.ends
            );
            linked += 1;
        }
        for port in manifest.ports.values() {
            assert!(
                !c.name.contains(&port.to_string()),
                "{id}: {} names a port of this run",
                c.name
            );
        }
        channels.push(c.name.clone());
    }
    channels.sort();
    eprintln!(
        "{id}: {} events, {} processes, {} threads, {} channels ({linked} linked connections, 0 unlinked), {} messages",
        events.len(),
        g.processes().len(),
        g.threads().len(),
        g.channels().len(),
        g.messages().len()
    );
    Recorded {
        manifest,
        events,
        channels,
    }
}

/// Records `file` twice, compares the channel names, then reruns the first
/// run dropping the message `pick` chooses and checks that the drop fired.
/// `env` is added to bop's environment, which the nodes inherit.
fn twice_and_drop(
    file: &Path,
    env: &[(&str, &str)],
    pick: impl Fn(&CausalGraph<'_>) -> Option<String>,
) -> Recorded {
    let s = TempStore::new();
    let first = record(&s, file, "r1", env);
    let second = record(&s, file, "r2", env);
    assert_eq!(first.channels, second.channels, "channel names differ");
    let g = CausalGraph::build(&first.events);
    let message = pick(&g).unwrap_or_else(|| {
        let names: Vec<&str> = g.messages().iter().map(|m| m.name.as_str()).collect();
        panic!("no message to drop among {names:?}")
    });
    let out = s.bop(&[
        "rerun",
        "-q",
        "r1",
        "--id",
        "d",
        "--timeout",
        "40",
        "--drop",
        &message,
    ]);
    let (m, _) = s.read("d");
    let f = m.faults.first().expect("the plan has its fault");
    assert!(f.fired, "{message}: {f:?}\n{}", text(&out.stderr));
    // One lost message makes these systems unavailable, never wrong: the
    // bundled checks judge what the client was told (README "Verdicts"),
    // so a search of them does not report the outage as a bug.
    assert_ne!(
        m.verdict,
        Verdict::Fail,
        "{message}: {:?}\n{}",
        m.reason,
        text(&out.stderr)
    );
    first
}

/// The first message whose send is `call` on a channel whose name starts
/// with `prefix`.
fn message(g: &CausalGraph<'_>, prefix: &str, call: Option<&str>) -> Option<String> {
    g.messages()
        .iter()
        .find(|m| {
            g.channels()[m.channel].name.starts_with(prefix)
                && call.is_none_or(|c| g.events()[m.send].call == c)
        })
        .map(|m| m.name.clone())
}

#[test]
fn nginx_in_front_of_two_backends() {
    assert!(
        Path::new("/usr/sbin/nginx").exists(),
        "nginx is not installed (.ci/run installs nginx-light)"
    );
    let r = twice_and_drop(&demo("nginx.toml"), &[], |g| {
        // A backend's file, sent with sendfile to the front.
        message(g, "front/nginx#0->a/nginx#0#", Some("sendfile"))
    });
    let names = &r.channels;
    for want in [
        "client->front/nginx#0#0",
        "client->front/nginx#0#1",
        "front/nginx#0->a/nginx#0#0",
        "front/nginx#0->b/nginx#0#0",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(
        r.events.iter().any(|e| e.call == "sendfile"),
        "the backends send their files with sendfile"
    );
    assert_eq!(r.manifest.ports.len(), 3);
}

#[test]
fn memcached_hands_connections_to_its_workers() {
    assert!(
        Path::new("/usr/bin/memcached").exists(),
        "memcached is not installed (.ci/run installs it)"
    );
    let r = twice_and_drop(&demo("memcached.toml"), &[], |g| {
        // The answer to the get, on the second connection.
        g.messages()
            .iter()
            .find(|m| m.name == "client->memcached#1/r0")
            .map(|m| m.name.clone())
    });
    let names = &r.channels;
    assert!(
        names.iter().any(|n| n == "client->memcached#0")
            && names.iter().any(|n| n == "client->memcached#1"),
        "{names:?}"
    );
    // Each connection is handed to a worker thread through a wakeup: a
    // message edge from the listener thread to another thread, which then
    // serves the connection.
    let g = CausalGraph::build(&r.events);
    let wakeups: Vec<_> = g
        .messages()
        .iter()
        .filter(|m| {
            matches!(
                g.channels()[m.channel].kind,
                ChannelKind::Eventfd | ChannelKind::Pipe
            )
        })
        .filter(|m| {
            m.recvs
                .iter()
                .any(|&x| g.thread_of(x) != g.thread_of(m.send))
        })
        .collect();
    assert!(wakeups.len() >= 2, "{:?}", g.messages());
    for conn in ["client->memcached#0/0", "client->memcached#1/0"] {
        let m = g.messages().iter().find(|m| m.name == conn).unwrap();
        let served = m.recvs[0];
        assert!(
            wakeups.iter().any(|w| w
                .recvs
                .iter()
                .any(|&x| g.happens_before(x, served) && g.thread_of(x) == g.thread_of(served))),
            "{conn} is read by a woken worker"
        );
    }
}

#[test]
fn postgres_serves_psql_over_tcp_and_its_unix_socket() {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().any(|v| v.path().join("bin/postgres").exists()))
        .unwrap_or(false);
    assert!(
        installed,
        "PostgreSQL is not installed (.ci/run installs postgresql)"
    );
    // initdb once, untraced: most of a run's time otherwise.
    let template = PgTemplate::make();
    let data = template.data();
    let env = [("BOP_PG_TEMPLATE", data.as_str())];
    let r = twice_and_drop(&demo("postgres.toml"), &env, |g| {
        // The last message psql sends on its unix connection (Terminate):
        // psql exits anyway, so the rerun ends at once.
        let unix = g.channels().iter().position(|c| {
            c.kind == ChannelKind::Unix && c.stream && !c.name.starts_with("socketpair:")
        })?;
        g.messages()
            .iter()
            .rfind(|m| m.channel == unix && !m.reverse)
            .map(|m| m.name.clone())
    });
    let g = CausalGraph::build(&r.events);
    let server = |kind: ChannelKind| {
        g.channels()
            .iter()
            .filter(|c| c.kind == kind && c.stream && !c.name.starts_with("socketpair:"))
            .map(|c| c.ends[1].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(server(ChannelKind::Tcp), ["pg"], "{:?}", r.channels);
    assert_eq!(server(ChannelKind::Unix), ["pg"], "{:?}", r.channels);
}

/// A cluster made by initdb as the postgres user, removed when dropped.
struct PgTemplate(PathBuf);

impl PgTemplate {
    fn make() -> PgTemplate {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .flatten()
            .map(|v| v.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .unwrap();
        let dir = PathBuf::from(format!("/tmp/bop-pg-template.{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = PgTemplate(dir);
        let out = run(std::process::Command::new("/bin/sh").args([
            "-c",
            &format!(
                "chown postgres {d} && setpriv --reuid=postgres --regid=postgres --init-groups {bin}/initdb -D {d}/data -U postgres --auth=trust --no-sync -N > /dev/null",
                d = t.0.display(),
                bin = bin.display()
            ),
        ]));
        assert_ok(&out, "initdb of the template cluster");
        t
    }

    fn data(&self) -> String {
        self.0.join("data").display().to_string()
    }
}

impl Drop for PgTemplate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
