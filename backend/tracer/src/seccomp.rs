//! The seccomp-bpf filter installed in each root tracee before exec: the
//! kernel stops the tracee (`SECCOMP_RET_TRACE`) only at the calls in
//! [`super::syscall`]; every other call runs at full speed with no stop.
//! Children inherit the filter across fork and exec.
#![allow(unsafe_code)]

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

/// A compiled filter, ready to install after fork without allocating.
pub(super) struct Filter {
    program: BpfProgram,
}

impl Filter {
    /// Compiles the filter for the native architecture.
    pub(super) fn new() -> Result<Filter, String> {
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = super::syscall::traced_numbers()
            .map(|nr| (nr, Vec::new()))
            .collect();
        #[cfg(target_arch = "x86_64")]
        let arch = TargetArch::x86_64;
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), arch)
            .map_err(|e| e.to_string())?;
        let program: BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| e.to_string())?;
        Ok(Filter { program })
    }

    /// Installs the filter in the calling process. Async-signal-safe (only
    /// raw syscalls), so it can run between fork and exec. As root no
    /// `no_new_privs` is needed; otherwise it is set so the kernel accepts
    /// the filter.
    pub(super) fn install(&self) -> Result<(), i32> {
        let prog = libc::sock_fprog {
            len: self.program.len() as u16,
            filter: self.program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: prog points at a valid BPF program that outlives the call.
        let seccomp = |prog: &libc::sock_fprog| unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                prog as *const _,
            )
        };
        if seccomp(&prog) == 0 {
            return Ok(());
        }
        // SAFETY: plain prctl and errno reads.
        unsafe {
            if *libc::__errno_location() != libc::EACCES {
                return Err(*libc::__errno_location());
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(*libc::__errno_location());
            }
        }
        if seccomp(&prog) == 0 {
            Ok(())
        } else {
            // SAFETY: reads this thread's errno, which is always valid.
            Err(unsafe { *libc::__errno_location() })
        }
    }
}
