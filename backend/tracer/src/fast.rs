//! The tracer's half of the fast path (docs/FASTPATH.md): the run's shared
//! file in /dev/shm, set up before any tracee starts, mapped here for the
//! whole run (records of a tracee that died are still readable), and read
//! ring by ring as the session drains them. The layout is `ring`, shared
//! with the preload library.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::ring::{self, Control, DONE, ENTERED, Record, SlotHeader};

/// The preload library's file name, looked for next to the bop executable.
pub(crate) const LIBRARY: &str = "libbop_preload.so";

/// One call the library recorded, as the session turns it into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FastCall {
    /// Syscall number.
    pub(crate) nr: u64,
    /// Its fd argument.
    pub(crate) fd: i32,
    /// MSG_* flags of send/recv.
    pub(crate) flags: u32,
    /// Raw result; `None`: the thread died in the call.
    pub(crate) ret: Option<i64>,
    /// Run-relative ns at entry.
    pub(crate) start_ns: u64,
    /// Run-relative ns at return.
    pub(crate) end_ns: Option<u64>,
    /// The payload's first bytes.
    pub(crate) data: Vec<u8>,
    /// The peer address the call named or was given, as bop writes
    /// addresses (`None`: none, or not one bop decodes).
    pub(crate) addr: Option<String>,
}

/// The shared file, mapped.
pub(crate) struct FastPath {
    file: PathBuf,
    library: PathBuf,
    base: *mut u8,
    capture: usize,
    /// CLOCK_MONOTONIC ns at the run's start (events are relative to it).
    epoch_ns: u64,
    /// `claims` when the owners were last scanned.
    claims_seen: u32,
    /// Slot of each thread that claimed one.
    slots: HashMap<i32, usize>,
    /// Entry of each admitted process in the control block's table.
    admitted: HashMap<i32, usize>,
}

/// CLOCK_MONOTONIC in ns: what `Instant` reads and what the library
/// timestamps with.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Where the library is: next to the running executable.
pub(crate) fn find_library() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find bop's executable: {e}"))?;
    let lib = exe.parent().unwrap_or(Path::new("/")).join(LIBRARY);
    if lib.is_file() {
        Ok(lib)
    } else {
        Err(format!("{} not found", lib.display()))
    }
}

impl FastPath {
    /// Creates and maps the run's shared file for `capture` bytes per
    /// call; `epoch_ns` is the run's start on CLOCK_MONOTONIC.
    pub(crate) fn create(
        library: PathBuf,
        capture: usize,
        epoch_ns: u64,
    ) -> Result<FastPath, String> {
        if capture > ring::MAX_CAPTURE {
            return Err(format!(
                "--capture-bytes {capture} is above the fast path's {}",
                ring::MAX_CAPTURE
            ));
        }
        remove_stale();
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let file = PathBuf::from(format!("/dev/shm/bop-fastpath-{}-{n}", std::process::id()));
        let size = ring::file_size(capture);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&file)
            .and_then(|f| f.set_len(size as u64).map(|()| f))
            .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
        use std::os::fd::AsRawFd;
        // SAFETY: maps a file this function just sized; checked below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            let _ = std::fs::remove_file(&file);
            return Err(format!(
                "cannot map {}: {}",
                file.display(),
                std::io::Error::last_os_error()
            ));
        }
        let fast = FastPath {
            file,
            library,
            base: base as *mut u8,
            capture,
            epoch_ns,
            claims_seen: 0,
            slots: HashMap::new(),
            admitted: HashMap::new(),
        };
        // SAFETY: the control block is at offset 0 of the fresh (zeroed)
        // mapping; no tracee maps it before this returns.
        unsafe {
            let c = fast.base as *mut Control;
            (*c).capture = capture as u32;
            (*c).record_size = ring::record_size(capture) as u32;
            std::ptr::write_volatile(&mut (*c).magic, ring::MAGIC);
        }
        Ok(fast)
    }

    /// The environment a tracee gets: the library appended to any
    /// `LD_PRELOAD` already set (`current`), and the shared file's path.
    pub(crate) fn env(&self, current: Option<&str>) -> Vec<(String, String)> {
        let lib = self.library.display().to_string();
        let preload = match current {
            Some(c) if !c.trim().is_empty() => format!("{c}:{lib}"),
            _ => lib,
        };
        vec![
            ("LD_PRELOAD".into(), preload),
            (ring::ENV_PATH.into(), self.file.display().to_string()),
        ]
    }

    /// Makes the fast path opt-in per process (a run with a fault plan):
    /// from now on a process takes it only once [`FastPath::admit`]ted.
    /// Called before any tracee starts.
    pub(crate) fn gate(&self) {
        self.control().gated.store(1, Ordering::Release);
    }

    /// Lets process `pid` use the fast path (a gated run: the plan cannot
    /// act on it). False when the table is full: it stays on ptrace.
    pub(crate) fn admit(&mut self, pid: i32) -> bool {
        if self.admitted.contains_key(&pid) {
            return true;
        }
        let table = &self.control().admitted;
        let Some(i) = (0..ring::ADMITTED).find(|&i| table[i].load(Ordering::Relaxed) == 0) else {
            return false;
        };
        // Release: written before the process is resumed; the library
        // reads it with acquire.
        table[i].store(pid, Ordering::Release);
        self.admitted.insert(pid, i);
        true
    }

    /// Takes an ended process out of the table (its pid may be reused by
    /// a process the plan can act on).
    pub(crate) fn dismiss(&mut self, pid: i32) {
        if let Some(i) = self.admitted.remove(&pid) {
            self.control().admitted[i].store(0, Ordering::Release);
        }
    }

    /// True when process `pid` is admitted.
    #[cfg(test)]
    pub(crate) fn is_admitted(&self, pid: i32) -> bool {
        self.admitted.contains_key(&pid)
    }

    fn control(&self) -> &Control {
        // SAFETY: offset 0 of the mapping, alive as long as self.
        unsafe { &*(self.base as *const Control) }
    }

    fn slot(&self, i: usize) -> &SlotHeader {
        // SAFETY: i < SLOTS, inside the mapping.
        unsafe { &*(self.base.add(ring::slot_offset(self.capture, i)) as *const SlotHeader) }
    }

    /// Rescans slot owners if a thread claimed one since the last scan.
    fn refresh(&mut self) {
        let claims = self.control().claims.load(Ordering::Acquire);
        if claims == self.claims_seen {
            return;
        }
        self.claims_seen = claims;
        for i in 0..ring::SLOTS {
            let owner = self.slot(i).owner.load(Ordering::Acquire);
            if owner != 0 {
                self.slots.insert(owner, i);
            }
        }
    }

    /// Threads that own a ring now.
    pub(crate) fn threads(&mut self) -> Vec<i32> {
        self.refresh();
        let mut tids: Vec<i32> = self.slots.keys().copied().collect();
        tids.sort_unstable();
        tids
    }

    /// The completed calls of thread `tid`'s ring, in its program order,
    /// up to the first call still in progress. `dead`: the thread has
    /// ended, so a call in progress never returns and is taken too.
    pub(crate) fn drain(&mut self, tid: i32, dead: bool) -> Vec<FastCall> {
        self.refresh();
        let Some(&i) = self.slots.get(&tid) else {
            return Vec::new();
        };
        let slot = self.slot(i);
        let head = slot.head.load(Ordering::Acquire);
        let mut tail = slot.tail.load(Ordering::Relaxed);
        let mut out = Vec::new();
        while tail < head {
            let k = (tail % ring::RECORDS as u64) as usize;
            // SAFETY: record k of slot i is inside the mapping; its fields
            // are final once `state` reads DONE (acquire), and the thread
            // does not reuse it before `tail` passes it.
            let call = unsafe {
                let rec = (slot as *const SlotHeader as *const u8)
                    .add(ring::record_offset(self.capture, k))
                    as *const Record;
                self.read_record(rec, dead)
            };
            let Some(call) = call else {
                break;
            };
            out.push(call);
            tail += 1;
        }
        slot.tail.store(tail, Ordering::Release);
        out
    }

    /// One record, if it is complete (or `dead` and entered).
    ///
    /// SAFETY: `rec` is a published record of a ring in the mapping.
    unsafe fn read_record(&self, rec: *const Record, dead: bool) -> Option<FastCall> {
        // SAFETY: as the caller promises.
        unsafe {
            let state = (*rec).state.load(Ordering::Acquire);
            let done = state == DONE;
            if !(done || (dead && state == ENTERED)) {
                return None;
            }
            let captured = if done {
                ((*rec).captured as usize).min(self.capture)
            } else {
                0
            };
            let data =
                std::slice::from_raw_parts((rec as *const u8).add(ring::CAPTURE_AT), captured);
            let addr_len = if done {
                ((*rec).addr_len as usize).min(ring::ADDR_SIZE)
            } else {
                0
            };
            let addr = (addr_len >= 2)
                .then(|| {
                    let raw = std::slice::from_raw_parts(
                        (rec as *const u8).add(ring::RECORD_HEADER),
                        addr_len,
                    );
                    super::memory::decode_sockaddr(raw)
                })
                .flatten();
            let rel = |ns: u64| ns.saturating_sub(self.epoch_ns);
            Some(FastCall {
                nr: u64::from((*rec).nr),
                fd: (*rec).fd,
                flags: (*rec).flags,
                ret: done.then(|| (*rec).ret),
                start_ns: rel((*rec).start_ns),
                end_ns: done.then(|| rel((*rec).end_ns)),
                data: data.to_vec(),
                addr,
            })
        }
    }

    /// The number of the call thread `tid` is inside on the fast path, if
    /// it is a wait call (poll & co): the last record its ring published,
    /// entered and not done. Asked at a signal-delivery stop, after the
    /// ring was drained, so every earlier record is gone.
    pub(crate) fn wait_in_progress(&mut self, tid: i32) -> Option<u32> {
        let rec = self.in_progress(tid)?;
        // SAFETY: a published record of a ring in the mapping.
        let nr = unsafe { (*rec).nr };
        ring::WAIT_CALLS.contains(&nr).then_some(nr)
    }

    /// Takes the wait call thread `tid` is inside (see
    /// [`FastPath::wait_in_progress`]) out of its ring with the result
    /// `ret` it returned at run-relative `end_ns`: the tracer writes it
    /// now, and the library's own completion of the record, later, is
    /// never read.
    pub(crate) fn take_wait(&mut self, tid: i32, ret: i64, end_ns: u64) -> Option<FastCall> {
        let rec = self.in_progress(tid)?;
        let i = *self.slots.get(&tid)?;
        // SAFETY: a published record of a ring in the mapping.
        if !ring::WAIT_CALLS.contains(&unsafe { (*rec).nr }) {
            return None;
        }
        // SAFETY: as in `in_progress`; the entry fields are final once
        // the record is published (the thread wrote them before `head`).
        let call = unsafe {
            FastCall {
                nr: u64::from((*rec).nr),
                fd: (*rec).fd,
                flags: (*rec).flags,
                ret: Some(ret),
                start_ns: (*rec).start_ns.saturating_sub(self.epoch_ns),
                end_ns: Some(end_ns),
                data: Vec::new(),
                addr: None,
            }
        };
        self.slot(i).tail.fetch_add(1, Ordering::Release);
        Some(call)
    }

    /// The record thread `tid` is inside: the only one left between
    /// `tail` and `head`, entered and not done.
    fn in_progress(&mut self, tid: i32) -> Option<*const Record> {
        self.refresh();
        let &i = self.slots.get(&tid)?;
        let slot = self.slot(i);
        let head = slot.head.load(Ordering::Acquire);
        let tail = slot.tail.load(Ordering::Relaxed);
        if head != tail + 1 {
            return None;
        }
        let k = (tail % ring::RECORDS as u64) as usize;
        // SAFETY: record k of slot i is inside the mapping and published.
        let rec = unsafe {
            (slot as *const SlotHeader as *const u8).add(ring::record_offset(self.capture, k))
                as *const Record
        };
        // SAFETY: as above; `state` is atomic.
        let state = unsafe { (*rec).state.load(Ordering::Acquire) };
        (state == ENTERED).then_some(rec)
    }

    /// Frees the ring of a thread that ended (or whose image exec
    /// replaced), once drained, so another thread can claim it.
    pub(crate) fn release(&mut self, tid: i32) {
        self.refresh();
        let Some(i) = self.slots.remove(&tid) else {
            return;
        };
        let slot = self.slot(i);
        slot.head.store(0, Ordering::Relaxed);
        slot.tail.store(0, Ordering::Relaxed);
        slot.pid.store(0, Ordering::Relaxed);
        // Release: a thread that claims the slot sees the reset counters.
        slot.owner.store(0, Ordering::Release);
    }
}

/// Removes the shared files of bops that died without removing theirs
/// (SIGKILL): `bop-fastpath-PID-N` whose PID no longer runs.
fn remove_stale() {
    let Ok(dir) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("bop-fastpath-")) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for FastPath {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `create`, not used after.
        unsafe {
            libc::munmap(
                self.base as *mut libc::c_void,
                ring::file_size(self.capture),
            )
        };
        let _ = std::fs::remove_file(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_appends_to_a_preload_already_set() {
        let fast = FastPath::create(PathBuf::from("/x/libbop_preload.so"), 16, 0).unwrap();
        let env = fast.env(Some("/a.so"));
        assert_eq!(
            env[0],
            ("LD_PRELOAD".into(), "/a.so:/x/libbop_preload.so".into())
        );
        assert_eq!(fast.env(None)[0].1, "/x/libbop_preload.so");
        assert!(env[1].1.starts_with("/dev/shm/bop-fastpath-"));
        let file = fast.file.clone();
        assert!(file.exists());
        drop(fast);
        assert!(!file.exists(), "the shared file goes with the run");
    }

    /// Writes a record into slot 0 the way the library does.
    fn produce(fast: &FastPath, k: usize, state: u32, ret: i64, data: &[u8]) {
        let slot = fast.slot(0);
        // SAFETY: record k of slot 0 is inside the mapping; the test is the
        // only producer.
        unsafe {
            let rec = (slot as *const SlotHeader as *mut u8)
                .add(ring::record_offset(fast.capture, k)) as *mut Record;
            (*rec).nr = 1;
            (*rec).fd = 5;
            (*rec).ret = ret;
            (*rec).start_ns = 1_000 + k as u64;
            (*rec).end_ns = 2_000 + k as u64;
            (*rec).captured = data.len() as u32;
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                (rec as *mut u8).add(ring::CAPTURE_AT),
                data.len(),
            );
            (*rec).state.store(state, Ordering::Release);
        }
        slot.head.fetch_add(1, Ordering::Release);
    }

    #[test]
    fn a_ring_drains_up_to_a_call_in_progress_and_all_of_it_once_dead() {
        let mut fast = FastPath::create(PathBuf::from("/x"), 8, 500).unwrap();
        fast.slot(0).owner.store(42, Ordering::Release);
        fast.control().claims.fetch_add(1, Ordering::Release);
        produce(&fast, 0, DONE, 3, b"abc");
        produce(&fast, 1, ENTERED, 0, b"");
        let first = fast.drain(42, false);
        assert_eq!(first.len(), 1, "the call in progress waits");
        assert_eq!(
            (first[0].ret, first[0].fd, first[0].data.as_slice()),
            (Some(3), 5, &b"abc"[..])
        );
        assert_eq!(
            (first[0].start_ns, first[0].end_ns),
            (500, Some(1_500)),
            "run-relative"
        );
        assert!(fast.drain(42, false).is_empty());
        let last = fast.drain(42, true);
        assert_eq!(last.len(), 1);
        assert_eq!(
            (last[0].ret, last[0].end_ns),
            (None, None),
            "died in the call"
        );
        assert_eq!(fast.threads(), [42]);
        fast.release(42);
        assert_eq!(fast.slot(0).owner.load(Ordering::Acquire), 0, "free again");
        assert_eq!(fast.slot(0).head.load(Ordering::Acquire), 0);
        assert!(fast.drain(42, true).is_empty());
    }

    #[test]
    fn a_wait_call_in_progress_is_taken_with_the_result_the_tracer_saw() {
        let mut fast = FastPath::create(PathBuf::from("/x"), 8, 500).unwrap();
        fast.slot(0).owner.store(42, Ordering::Release);
        fast.control().claims.fetch_add(1, Ordering::Release);
        produce(&fast, 0, DONE, 1, b"a");
        // An epoll_wait the thread is inside.
        produce(&fast, 1, ENTERED, 0, b"");
        set_nr(&fast, 1, libc::SYS_epoll_wait as u32);
        assert_eq!(fast.wait_in_progress(42), None, "not drained yet");
        assert_eq!(fast.drain(42, false).len(), 1);
        assert_eq!(fast.wait_in_progress(42), Some(libc::SYS_epoll_wait as u32));
        let taken = fast.take_wait(42, -4, 9_000).unwrap();
        assert_eq!(
            (taken.nr, taken.ret, taken.start_ns, taken.end_ns),
            (libc::SYS_epoll_wait as u64, Some(-4), 501, Some(9_000))
        );
        // The library completes the record later; it is never read.
        produce_state(&fast, 1, DONE);
        assert!(fast.drain(42, false).is_empty());
        assert_eq!(fast.wait_in_progress(42), None);
        // A data call in progress is left to the ring.
        produce(&fast, 2, ENTERED, 0, b"");
        assert_eq!(fast.wait_in_progress(42), None);
        assert!(fast.take_wait(42, 3, 9_500).is_none());
    }

    /// Sets the call number of record `k` of slot 0.
    fn set_nr(fast: &FastPath, k: usize, nr: u32) {
        let slot = fast.slot(0);
        // SAFETY: record k of slot 0 is inside the mapping.
        unsafe {
            let rec = (slot as *const SlotHeader as *mut u8)
                .add(ring::record_offset(fast.capture, k)) as *mut Record;
            (*rec).nr = nr;
        }
    }

    /// Sets the state of record `k` of slot 0.
    fn produce_state(fast: &FastPath, k: usize, state: u32) {
        let slot = fast.slot(0);
        // SAFETY: record k of slot 0 is inside the mapping.
        unsafe {
            let rec = (slot as *const SlotHeader as *const u8)
                .add(ring::record_offset(fast.capture, k)) as *const Record;
            (*rec).state.store(state, Ordering::Release);
        }
    }

    #[test]
    fn admitted_processes_fill_the_table_and_leave_it() {
        let mut fast = FastPath::create(PathBuf::from("/x"), 8, 0).unwrap();
        fast.gate();
        assert_eq!(fast.control().gated.load(Ordering::Acquire), 1);
        let table = |f: &FastPath| -> Vec<i32> {
            f.control()
                .admitted
                .iter()
                .map(|p| p.load(Ordering::Acquire))
                .filter(|&p| p != 0)
                .collect()
        };
        assert!(fast.admit(7) && fast.admit(7), "admitting twice is once");
        assert_eq!(table(&fast), [7]);
        for pid in 100..100 + ring::ADMITTED as i32 - 1 {
            assert!(fast.admit(pid));
        }
        assert!(!fast.admit(9), "a full table leaves the process on ptrace");
        assert!(!fast.is_admitted(9));
        fast.dismiss(7);
        assert!(!table(&fast).contains(&7));
        assert!(fast.admit(9), "an ended process's entry is reused");
        assert!(fast.is_admitted(9));
    }

    #[test]
    fn a_capture_above_the_limit_is_refused() {
        let err = FastPath::create(PathBuf::from("/x"), ring::MAX_CAPTURE + 1, 0)
            .err()
            .unwrap();
        assert!(err.contains("--capture-bytes"), "{err}");
    }
}
