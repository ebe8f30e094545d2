//! The seccomp-bpf filter installed in each root tracee before exec: the
//! kernel stops the tracee (`SECCOMP_RET_TRACE`) only at the calls in
//! [`super::syscall`]; every other call runs at full speed with no stop.
//! Children inherit the filter across fork and exec.
//!
//! With the fast path on, a prefix comes first: a hot call (the
//! library's [`HOT_CALLS`](super::ring::HOT_CALLS), and the
//! restart_syscall that continues one) made from the preload
//! library's stub is allowed without a stop. The kernel reports the
//! instruction pointer after the 2-byte `syscall` instruction
//! (`seccomp_data.instruction_pointer` is the user `ip` at entry, which
//! `syscall` has already advanced), so the test is `ip == STUB_ADDR + 2`.
//! Every other call meets the filter below as before.
#![allow(unsafe_code)]

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

/// A compiled filter, ready to install after fork without allocating.
pub(super) struct Filter {
    program: BpfProgram,
}

impl Filter {
    /// Compiles the filter for the native architecture; `fast`: with the
    /// fast path's prefix.
    pub(super) fn new(fast: bool) -> Result<Filter, String> {
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = super::syscall::traced_numbers()
            .map(|nr| (nr, Vec::new()))
            .collect();
        #[cfg(target_arch = "x86_64")]
        let arch = TargetArch::x86_64;
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), arch)
            .map_err(|e| e.to_string())?;
        let mut program: BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| e.to_string())?;
        if fast {
            let mut p = fast_prefix();
            p.append(&mut program);
            program = p;
        }
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

/// `seccomp_data` offsets (linux/seccomp.h): nr, arch, instruction_pointer.
const NR: u32 = 0;
const ARCH: u32 = 4;
const IP_LO: u32 = 8;
const IP_HI: u32 = 12;

fn stmt(code: u16, k: u32) -> seccompiler::sock_filter {
    seccompiler::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> seccompiler::sock_filter {
    seccompiler::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// The fast path's prefix: ALLOW a hot call from the stub, else fall
/// through (a forward jump past the prefix) to the filter proper.
fn fast_prefix() -> Vec<seccompiler::sock_filter> {
    use super::ring::{HOT_CALLS, RESTART, STUB_RETURN};
    let load = |k| stmt((libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, k);
    // An interrupted poll continues through restart_syscall at the stub.
    let allowed: Vec<u32> = HOT_CALLS.iter().copied().chain([RESTART]).collect();
    let hot = allowed.len();
    // Layout: 0 ld hi, 1 jeq, 2 ld lo, 3 jeq, 4 ld arch, 5 jeq, 6 ld nr,
    // 7.. one jeq per hot call, then `ja` past the ALLOW, then ALLOW.
    let len = 7 + hot + 2;
    let to_end = |at: usize| (len - at - 1) as u8;
    let mut p = vec![
        load(IP_HI),
        jeq((STUB_RETURN >> 32) as u32, 0, to_end(1)),
        load(IP_LO),
        jeq(STUB_RETURN as u32, 0, to_end(3)),
        load(ARCH),
        jeq(AUDIT_ARCH_X86_64, 0, to_end(5)),
        load(NR),
    ];
    for (i, nr) in allowed.iter().enumerate() {
        let at = 7 + i;
        // True: to the ALLOW at len - 1.
        p.push(jeq(*nr, (len - 1 - at - 1) as u8, 0));
    }
    p.push(stmt((libc::BPF_JMP | libc::BPF_JA) as u16, 1));
    p.push(stmt(
        (libc::BPF_RET | libc::BPF_K) as u16,
        libc::SECCOMP_RET_ALLOW,
    ));
    debug_assert_eq!(p.len(), len);
    p
}

/// linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_jumps_stay_inside_it_and_land_on_allow_or_past_it() {
        let p = fast_prefix();
        let len = p.len();
        for (i, ins) in p.iter().enumerate() {
            if ins.code == (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16 {
                let (t, f) = (i + 1 + ins.jt as usize, i + 1 + ins.jf as usize);
                assert!(t == len - 1 || t == i + 1, "jt of {i}");
                assert!(f == len || f == i + 1, "jf of {i}");
            }
        }
        assert_eq!(p[len - 1].k, libc::SECCOMP_RET_ALLOW);
        assert!(
            Filter::new(true).unwrap().program.len()
                == Filter::new(false).unwrap().program.len() + len
        );
    }
}
