//! The fast path's fallback on a Go program (issue 15 item 5): Go's runtime
//! makes its system calls with its own instructions, not through libc, so
//! in a dynamically linked Go binary the preload library loads and sees
//! nothing. Every call must still be recorded, under ptrace, to the same
//! graph as `--no-fast-path`, and a fault on its messages must fire.
//! Needs the Go toolchain (Debian: golang-go; `.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::*;
use crate::fastpath::{fast, library_is_built, record, shape};

/// tests/guests/go/pingpong.go, built once per test run with the machine's
/// `go` (cgo on, as by default: `net` then links libc dynamically).
pub(crate) fn pingpong() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/go/pingpong.go");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
        let out = dir.join("pingpong");
        let ran = run(Command::new("go")
            .arg("build")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .env("GOCACHE", dir.join("cache"))
            .env("GOPATH", dir.join("path"))
            .env("GO111MODULE", "off"));
        assert_ok(&ran, "go build pingpong.go (is golang-go installed?)");
        out
    })
}

/// The ELF program headers name an interpreter: the binary is dynamically
/// linked, so the library is loaded into it (the case this test is for).
fn dynamically_linked(exe: &Path) -> bool {
    let ldd = run(Command::new("ldd").arg(exe));
    ldd.status.success() && text(&ldd.stdout).contains("libc.so")
}

#[test]
fn a_dynamically_linked_go_program_is_recorded_under_ptrace_the_same_way() {
    library_is_built();
    let exe = pingpong();
    assert!(dynamically_linked(exe), "{} links libc", exe.display());
    let exe = exe.to_str().unwrap();
    let s = TempStore::new();
    let (mf, ef) = record(&s, "fast", &[], &[exe, "30"]);
    let (ms, es) = record(&s, "slow", &["--no-fast-path"], &[exe, "30"]);
    assert!(mf.fast_path.enabled && !ms.fast_path.enabled);
    assert_eq!(fast(&ef), 0, "Go's own system calls pass the library by");
    assert!(
        mf.fast_path.processes.is_empty(),
        "no process used the fast path: {:?}",
        mf.fast_path
    );
    // 30 pings and 30 pongs of 8 bytes, each read whole (one in flight).
    let data = |ev: &[bop_model::Event], call: &str| {
        calls(ev, call, None)
            .into_iter()
            .filter(|e| e.bytes == Some(8))
            .count()
    };
    assert_eq!((data(&ef, "write"), data(&ef, "read")), (60, 60));
    assert_eq!((data(&es, "write"), data(&es, "read")), (60, 60));
    // Which reads find nothing yet (EAGAIN, then the netpoller) is timing,
    // and so is the trace class, which counts those reads; the messages,
    // their bytes and receives are not.
    let messages = shape(&s, "fast").0;
    assert_eq!(messages.len(), 60, "{messages:?}");
    assert_eq!(messages, shape(&s, "slow").0);
}

#[test]
fn a_delay_on_a_go_programs_message_fires() {
    library_is_built();
    let exe = pingpong().to_str().unwrap();
    let s = TempStore::new();
    record(&s, "base", &[], &[exe, "10"]);
    let pong = message_id(&s.export("base"), true);
    let out = s.bop(&[
        "rerun",
        "-q",
        "base",
        "--id",
        "x",
        "--delay",
        &format!("{pong}=30"),
    ]);
    assert_ok(&out, "rerun with a delay");
    let (m, ev) = s.read("x");
    assert!(m.faults[0].fired, "{:?}", m.faults);
    assert!(
        ev.iter()
            .any(|e| e.injected.as_deref() == Some("delay 30 ms"))
    );
}
