//! The memory the preload library and the tracer share (docs/FASTPATH.md):
//! one file per run in /dev/shm, mapped by the tracer and by every process
//! of the run that loaded the library. This file is compiled into both
//! crates (the tracer includes it by path), so the two always agree on the
//! layout; it uses only `core`.
//!
//! ```text
//! [control: 4096 bytes][slot 0][slot 1]...[slot SLOTS-1]
//! slot = [header: 64 bytes][record 0]...[record RECORDS-1]
//! record = [header: 64 bytes][address: 128 bytes][capture bytes, a multiple of 8]
//! ```
//!
//! A slot is one thread's ring: the thread claims a free slot (owner 0 ->
//! its tid) at its first hot call; the tracer frees it once it has drained
//! the ring of a thread that ended. Each ring has one producer (the thread)
//! and one consumer (the tracer): the thread publishes a record's entry by
//! advancing `head`, completes it in place (`state` DONE, release), and the
//! tracer advances `tail` past done records only, so a call in progress
//! keeps its place and everything after it waits.

// Each of the two crates uses its half; `pub` is for the crate that includes it.
#![allow(dead_code, unreachable_pub)]

use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};

/// "bopfast3" (2: records carry a socket address; 3: the control block
/// holds the table of processes a fault plan leaves to the fast path).
pub const MAGIC: u64 = u64::from_le_bytes(*b"bopfast3");
/// Bytes of the control block before the first slot.
pub const CONTROL_SIZE: usize = 4096;
/// Thread rings per run; a thread that finds none free takes the ptrace path.
pub const SLOTS: usize = 256;
/// Records per ring; a full ring sends the call the ptrace path.
pub const RECORDS: usize = 2048;
/// Entries of the control block's table of admitted processes: a run
/// with a fault plan lets at most this many live processes at once use
/// the fast path; the others (a full table) stay on ptrace.
pub const ADMITTED: usize = 512;
/// Bytes of a slot's header.
pub const SLOT_HEADER: usize = 64;
/// Bytes of a record's header.
pub const RECORD_HEADER: usize = 64;
/// Bytes of a record's address area, right after its header: a
/// `sockaddr_storage`, the largest address the kernel takes or gives.
pub const ADDR_SIZE: usize = 128;
/// Offset of the captured payload bytes in a record.
pub const CAPTURE_AT: usize = RECORD_HEADER + ADDR_SIZE;
/// Largest `--capture-bytes` the fast path carries (above it, bop traces
/// every call under ptrace).
pub const MAX_CAPTURE: usize = 1024;
/// Where the library maps its `syscall; ret` stub. The seccomp filter lets
/// the hot calls through when the instruction pointer the kernel reports
/// (the address after the 2-byte `syscall`) is `STUB_ADDR + 2`.
pub const STUB_ADDR: usize = 0x7000_0000;
/// The instruction pointer seccomp sees for a call made from the stub.
pub const STUB_RETURN: u64 = STUB_ADDR as u64 + 2;
/// The environment variable that carries the shared file's path.
pub const ENV_PATH: &str = "BOP_FASTPATH";

/// A record's `state`: its slot is free.
pub const EMPTY: u32 = 0;
/// The call has entered (the thread is in it, or died in it).
pub const ENTERED: u32 = 1;
/// The call has returned; every field is final.
pub const DONE: u32 = 2;

/// The control block at offset 0.
#[repr(C)]
pub struct Control {
    /// [`MAGIC`] once the tracer has set the file up.
    pub magic: u64,
    /// Bytes of payload to copy per call (the run's `--capture-bytes`).
    pub capture: u32,
    /// Bytes of one record ([`record_size`] of `capture`).
    pub record_size: u32,
    /// Non-zero: the run has a fault plan, and a process takes the fast
    /// path only once its pid is in [`Control::admitted`] (the plan cannot
    /// act on it). Set before any tracee starts.
    pub gated: AtomicU32,
    /// Incremented by a thread after it claimed a slot, so the tracer
    /// rescans owners only when something changed.
    pub claims: AtomicU32,
    /// Pids of the live processes a gated run lets use the fast path (0:
    /// a free entry). Written by the tracer only (a pid is added before
    /// the process runs any code of its own and removed when it has
    /// ended), read by the library; never revoked while the process lives.
    pub admitted: [AtomicI32; ADMITTED],
}

/// The header of one slot.
#[repr(C)]
pub struct SlotHeader {
    /// The tid of the thread that owns the ring; 0 when free.
    pub owner: AtomicI32,
    /// The owner's process id.
    pub pid: AtomicI32,
    /// Records published by the thread (a count; index = head % RECORDS).
    pub head: AtomicU64,
    /// Records consumed by the tracer.
    pub tail: AtomicU64,
}

/// The header of one record.
#[repr(C)]
pub struct Record {
    /// [`EMPTY`], [`ENTERED`] or [`DONE`].
    pub state: AtomicU32,
    /// The syscall number.
    pub nr: u32,
    /// The fd argument.
    pub fd: i32,
    /// The flags argument of send/recv (MSG_*), 0 for the others.
    pub flags: u32,
    /// The raw return value (negative errno on failure).
    pub ret: i64,
    /// CLOCK_MONOTONIC nanoseconds right before the call.
    pub start_ns: u64,
    /// CLOCK_MONOTONIC nanoseconds right after it.
    pub end_ns: u64,
    /// Bytes copied into the capture area.
    pub captured: u32,
    /// Bytes of the peer's `sockaddr` in the address area (0: none): the
    /// destination a send named, or the source a receive was given.
    pub addr_len: u32,
    /// Padding to [`RECORD_HEADER`] bytes.
    pub pad: [u32; 4],
}

/// Bytes of one record for a run capturing `capture` bytes per call.
pub const fn record_size(capture: usize) -> usize {
    CAPTURE_AT + capture.div_ceil(8) * 8
}

/// Bytes of one slot.
pub const fn slot_size(capture: usize) -> usize {
    SLOT_HEADER + RECORDS * record_size(capture)
}

/// Bytes of the whole file.
pub const fn file_size(capture: usize) -> usize {
    CONTROL_SIZE + SLOTS * slot_size(capture)
}

/// Offset of slot `i`.
pub const fn slot_offset(capture: usize, i: usize) -> usize {
    CONTROL_SIZE + i * slot_size(capture)
}

/// Offset of record `k` (already reduced modulo [`RECORDS`]) within a slot.
pub const fn record_offset(capture: usize, k: usize) -> usize {
    SLOT_HEADER + k * record_size(capture)
}

/// The calls the library records, by x86_64 number: the data calls (read,
/// write, readv, writev, sendto, recvfrom, sendmsg, recvmsg) and the wait
/// calls (poll, ppoll, epoll_wait, epoll_pwait, epoll_pwait2); the seccomp
/// filter lets exactly these through from the stub, and [`RESTART`].
pub const HOT_CALLS: [u32; 13] = [0, 1, 19, 20, 44, 45, 46, 47, 7, 271, 232, 281, 441];

/// restart_syscall(2): the kernel makes the stub's `syscall` again with
/// this number to continue a poll that a signal with no handler
/// interrupted (poll(2) keeps what is left of its timeout that way). Only an interrupted call restarts at the stub, so
/// it is let through there too; the record is still the poll's.
pub const RESTART: u32 = 219;

/// The wait calls of [`HOT_CALLS`]: blocking points, recorded with no fd,
/// payload or address.
pub const WAIT_CALLS: [u32; 5] = [7, 271, 232, 281, 441];

const _: () = assert!(core::mem::size_of::<Record>() == RECORD_HEADER);
const _: () = assert!(core::mem::size_of::<SlotHeader>() <= SLOT_HEADER);
const _: () = assert!(core::mem::size_of::<Control>() <= CONTROL_SIZE);
