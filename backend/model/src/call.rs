//! What each system call the tracer records is for, by name: the one table
//! the tracer (which also maps syscall numbers to these names), the tracker
//! and the injector consult, so "is this a send?" has one answer: by name
//! ([`is_send`]) for the calls whose name fixes their role, by event
//! ([`sends`], [`receives`]) once transfer calls, whose role depends on
//! which of their fds are channels, count too.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use crate::Event;

/// The role of a recorded system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// Creates fds: socket, socketpair, pipe, pipe2, eventfd, eventfd2.
    Create,
    /// bind/connect/listen/accept/accept4.
    Setup,
    /// Moves bytes out (write family / send family).
    Send,
    /// Moves bytes in (read family / recv family).
    Recv,
    /// sendfile, splice, tee, copy_file_range: move bytes from one fd to
    /// another inside the kernel. A send on the out fd when it is a
    /// channel, a receive on the in fd when that is (EVENTS.md "Transfers").
    Transfer,
    /// io_uring_setup, io_uring_enter: I/O the kernel does for the process
    /// outside system calls bop can see; recorded so the run says so.
    Unseen,
    /// close / shutdown.
    Teardown,
    /// dup, dup2, dup3, fcntl.
    Dup,
    /// fork, vfork, clone, clone3.
    Spawn,
    /// execve, execveat.
    Exec,
    /// exit, exit_group (never return).
    Exit,
    /// wait4, waitid.
    Wait,
    /// poll & co: recorded only as where a thread blocks.
    Block,
    /// close_range: not recorded, but invalidates cached fds.
    CloseRange,
    /// rt_sigreturn: not recorded; ends a signal handler (see ERESTART*).
    SigReturn,
}

/// Every call the tracer stops at, as strace spells it, with its role
/// (`send`/`recv` exist on other architectures; x86_64 has only the `*to`
/// and `*from` forms).
pub const CALLS: &[(&str, CallKind)] = &[
    ("socket", CallKind::Create),
    ("socketpair", CallKind::Create),
    ("pipe", CallKind::Create),
    ("pipe2", CallKind::Create),
    ("eventfd", CallKind::Create),
    ("eventfd2", CallKind::Create),
    ("bind", CallKind::Setup),
    ("connect", CallKind::Setup),
    ("listen", CallKind::Setup),
    ("accept", CallKind::Setup),
    ("accept4", CallKind::Setup),
    ("write", CallKind::Send),
    ("writev", CallKind::Send),
    ("pwrite64", CallKind::Send),
    ("send", CallKind::Send),
    ("sendto", CallKind::Send),
    ("sendmsg", CallKind::Send),
    ("sendmmsg", CallKind::Send),
    ("read", CallKind::Recv),
    ("readv", CallKind::Recv),
    ("pread64", CallKind::Recv),
    ("recv", CallKind::Recv),
    ("recvfrom", CallKind::Recv),
    ("recvmsg", CallKind::Recv),
    ("recvmmsg", CallKind::Recv),
    ("sendfile", CallKind::Transfer),
    ("splice", CallKind::Transfer),
    ("tee", CallKind::Transfer),
    ("copy_file_range", CallKind::Transfer),
    ("io_uring_setup", CallKind::Unseen),
    ("io_uring_enter", CallKind::Unseen),
    ("shutdown", CallKind::Teardown),
    ("close", CallKind::Teardown),
    ("dup", CallKind::Dup),
    ("dup2", CallKind::Dup),
    ("dup3", CallKind::Dup),
    ("fcntl", CallKind::Dup),
    ("fork", CallKind::Spawn),
    ("vfork", CallKind::Spawn),
    ("clone", CallKind::Spawn),
    ("clone3", CallKind::Spawn),
    ("execve", CallKind::Exec),
    ("execveat", CallKind::Exec),
    ("exit", CallKind::Exit),
    ("exit_group", CallKind::Exit),
    ("wait4", CallKind::Wait),
    ("waitid", CallKind::Wait),
    ("poll", CallKind::Block),
    ("ppoll", CallKind::Block),
    ("select", CallKind::Block),
    ("pselect6", CallKind::Block),
    ("epoll_wait", CallKind::Block),
    ("epoll_pwait", CallKind::Block),
    ("epoll_pwait2", CallKind::Block),
    ("close_range", CallKind::CloseRange),
    ("restart_syscall", CallKind::Block),
    ("rt_sigreturn", CallKind::SigReturn),
];

impl CallKind {
    /// The role of a call by name; `None` for calls the tracer does not
    /// stop at and for lifecycle points (`start`, `killed`).
    pub fn of(name: &str) -> Option<CallKind> {
        by_name().get(name).copied()
    }
}

/// [`CALLS`] by name. The tracker asks "is this a send?" several times
/// per event in each pass; a scan of the table compared the name with
/// each entry of its length (a tenth of a comparison of two 10^6-event
/// runs), and SipHash of a short name still cost half of that.
fn by_name() -> &'static HashMap<&'static str, CallKind, BuildHasherDefault<Fnv>> {
    static BY_NAME: OnceLock<HashMap<&'static str, CallKind, BuildHasherDefault<Fnv>>> =
        OnceLock::new();
    BY_NAME.get_or_init(|| {
        let mut m = HashMap::default();
        for &(n, k) in CALLS.iter().rev() {
            // The first entry of a name wins, as the scan had it.
            m.insert(n, k);
        }
        m
    })
}

/// FNV-1a: call names are a few bytes from a fixed table, so a hash with
/// no per-call setup and no flooding resistance is what fits.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Calls that put bytes into a channel (EVENTS.md "Data").
pub fn is_send(call: &str) -> bool {
    CallKind::of(call) == Some(CallKind::Send)
}

/// Calls that take bytes out of a channel.
pub fn is_recv(call: &str) -> bool {
    CallKind::of(call) == Some(CallKind::Recv)
}

/// Calls that move bytes between two fds inside the kernel.
pub fn is_transfer(call: &str) -> bool {
    CallKind::of(call) == Some(CallKind::Transfer)
}

/// Calls through which a process does I/O that bop cannot see.
pub fn is_unseen(call: &str) -> bool {
    CallKind::of(call) == Some(CallKind::Unseen)
}

/// True when the event put bytes into its endpoint's channel: a send, or
/// the output half of a transfer (EVENTS.md "Transfers").
pub fn sends(e: &Event) -> bool {
    match CallKind::of(&e.call) {
        Some(CallKind::Send) => true,
        Some(CallKind::Transfer) => !e.detail.input,
        _ => false,
    }
}

/// True when the event took bytes out of its endpoint's channel: a
/// receive, or the input half of a transfer.
pub fn receives(e: &Event) -> bool {
    match CallKind::of(&e.call) {
        Some(CallKind::Recv) => true,
        Some(CallKind::Transfer) => e.detail.input,
        _ => false,
    }
}

/// Calls that create a process or a thread (`detail.child` = new tid).
pub fn is_fork(call: &str) -> bool {
    CallKind::of(call) == Some(CallKind::Spawn)
}

/// Events that end a thread: the `exit`/`killed` lifecycle points, or the
/// `exit`/`exit_group` syscalls that replace the `exit` point.
pub fn is_thread_end(call: &str) -> bool {
    call == "killed" || CallKind::of(call) == Some(CallKind::Exit)
}

/// Blocking points: they wait for readiness and move no data.
pub fn is_blocking(call: &str) -> bool {
    CallKind::of(call) == Some(CallKind::Block)
}

/// True when `name` is a call the tracer records as an event (what error
/// faults and patterns can name).
pub fn is_recorded_call(name: &str) -> bool {
    CallKind::of(name).is_some_and(|k| {
        !matches!(
            k,
            CallKind::CloseRange | CallKind::SigReturn | CallKind::Exit
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        assert!(is_send("sendmmsg") && is_recv("recvfrom") && !is_send("read"));
        assert!(is_fork("clone3") && is_thread_end("killed") && is_thread_end("exit_group"));
        assert!(is_blocking("epoll_wait") && !is_blocking("read"));
        assert!(is_recorded_call("connect") && !is_recorded_call("rt_sigreturn"));
        assert!(!is_recorded_call("conect") && CallKind::of("start").is_none());
        assert!(is_transfer("splice") && !is_send("sendfile") && is_unseen("io_uring_setup"));
    }

    #[test]
    fn the_lookup_agrees_with_a_scan_of_the_table() {
        for &(name, _) in CALLS {
            let first = CALLS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
            assert_eq!(CallKind::of(name), first, "{name}");
        }
        for name in ["", "rea", "readd", "READ", "exit"] {
            let scan = CALLS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
            assert_eq!(CallKind::of(name), scan, "{name}");
        }
    }

    #[test]
    fn a_transfer_is_a_send_or_a_receive_by_its_half() {
        let mut e = Event {
            call: "splice".into(),
            ..Event::default()
        };
        assert!(sends(&e) && !receives(&e));
        e.detail.input = true;
        assert!(receives(&e) && !sends(&e));
        e.call = "write".into();
        assert!(sends(&e) && !receives(&e));
    }
}
