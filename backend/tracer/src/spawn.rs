//! Starting a root tracee: fork on the tracer thread (so this thread is the
//! tracer), then in the child: stdio, cwd, `PTRACE_TRACEME`, stop, and once
//! the tracer has set its options, install the seccomp filter and exec.
//!
//! Between fork and exec the child runs only raw, async-signal-safe calls
//! on data prepared before the fork (bop is multi-threaded). The filter is
//! installed only after the tracer set `PTRACE_O_TRACESECCOMP`: a
//! `SECCOMP_RET_TRACE` without that option fails the call with ENOSYS, which
//! would break the exec itself.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::AsRawFd;

use nix::unistd::{ForkResult, Pid, fork};

use super::seccomp::Filter;
use super::{SpawnSpec, Stdin, TraceError, resolve_program};

/// Everything the child needs, prepared before the fork (the child may not
/// allocate). The pointer arrays point into the `CString`s kept beside them.
struct Prepared {
    path: CString,
    cwd: CString,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    /// Kept open until the fork, for a /dev/null stdin.
    _devnull: std::fs::File,
    stdin_fd: i32,
    out_fd: i32,
    err_fd: i32,
    /// bop's pid, to tell in the child whether bop died before the
    /// death signal was armed.
    parent: libc::pid_t,
}

fn cstr(s: &str) -> Result<CString, TraceError> {
    CString::new(s).map_err(|_| TraceError::Setup(format!("argument has a NUL byte: {s:?}")))
}

/// NULL-terminated pointers to `strings`, for execve.
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    let mut p: Vec<*const libc::c_char> = strings.iter().map(|a| a.as_ptr()).collect();
    p.push(std::ptr::null());
    p
}

impl Prepared {
    fn of(spec: &SpawnSpec, extra_env: &[(String, String)]) -> Result<Prepared, TraceError> {
        let command = spec
            .argv
            .first()
            .ok_or_else(|| TraceError::Setup("no command to run".into()))?;
        let program = resolve_program(command, &spec.cwd)?;
        let argv: Vec<CString> = spec
            .argv
            .iter()
            .map(|a| cstr(a))
            .collect::<Result<_, _>>()?;
        let mut env: Vec<(String, String)> = std::env::vars().collect();
        for (k, v) in spec.env.iter().chain(extra_env) {
            env.retain(|(k2, _)| k2 != k);
            env.push((k.clone(), v.clone()));
        }
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| cstr(&format!("{k}={v}")))
            .collect::<Result<_, _>>()?;
        let devnull = std::fs::File::open("/dev/null")
            .map_err(|e| TraceError::Setup(format!("cannot open /dev/null: {e}")))?;
        let stdin_fd = match spec.stdin {
            Stdin::Inherit => libc::STDIN_FILENO,
            Stdin::Null => devnull.as_raw_fd(),
        };
        Ok(Prepared {
            path: cstr(&program.to_string_lossy())?,
            cwd: cstr(&spec.cwd.to_string_lossy())?,
            argv_ptrs: pointers(&argv),
            envp_ptrs: pointers(&envp),
            _argv: argv,
            _envp: envp,
            _devnull: devnull,
            stdin_fd,
            out_fd: spec.stdout.as_raw_fd(),
            err_fd: spec.stderr.as_raw_fd(),
            parent: std::process::id() as libc::pid_t,
        })
    }
}

/// Forks and execs `spec`; returns the child pid. The child is stopped
/// (SIGSTOP) when this returns; the caller waits for that stop.
/// `extra_env` (the fast path's) is set over the spec's environment.
pub(super) fn fork_traced(
    spec: &SpawnSpec,
    filter: &Filter,
    extra_env: &[(String, String)],
) -> Result<Pid, TraceError> {
    let p = Prepared::of(spec, extra_env)?;
    // SAFETY: the child only runs `child`, which calls async-signal-safe
    // functions on memory prepared above, then execs or _exits.
    match unsafe { fork() }.map_err(|e| TraceError::Setup(format!("fork failed: {e}")))? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => child(&p, filter),
    }
}

/// The forked child up to its exec: stdio, cwd, signal dispositions,
/// PTRACE_TRACEME, the stop the tracer waits for, the filter, exec.
fn child(p: &Prepared, filter: &Filter) -> ! {
    // SAFETY: async-signal-safe libc calls on memory prepared before the
    // fork (the parent is multi-threaded); every path ends in exec or _exit.
    unsafe {
        if p.stdin_fd != libc::STDIN_FILENO {
            libc::dup2(p.stdin_fd, libc::STDIN_FILENO);
        }
        libc::dup2(p.out_fd, libc::STDOUT_FILENO);
        libc::dup2(p.err_fd, libc::STDERR_FILENO);
        if libc::chdir(p.cwd.as_ptr()) != 0 {
            libc::_exit(126);
        }
        // bop ignores SIGPIPE (Rust does at startup) and an ignored signal
        // stays ignored across exec: give the target the defaults it
        // would have had untraced, and an empty signal mask.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        // Die with bop even before the tracer has set EXITKILL.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // A bop killed between the fork and the prctl sends no signal:
        // the child was reparented already, and must not stop forever.
        if libc::getppid() != p.parent {
            libc::_exit(126);
        }
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            libc::_exit(126);
        }
        libc::raise(libc::SIGSTOP);
        if filter.install().is_err() {
            libc::_exit(126);
        }
        libc::execve(p.path.as_ptr(), p.argv_ptrs.as_ptr(), p.envp_ptrs.as_ptr());
        libc::_exit(127)
    }
}
