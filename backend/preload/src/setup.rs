//! Setting the library up in each process image, before `main`: map the
//! run's shared file (its path in `BOP_FASTPATH`) and the `syscall; ret`
//! stub at its fixed address. Anything that fails leaves the library off
//! for this process: every call then takes libc's way and the ptrace path.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};

use super::ring::{self, Control, Record, SlotHeader};

/// The shared file as this process mapped it.
pub(crate) struct Shared {
    base: *mut u8,
    /// Bytes of payload to copy per call.
    pub(crate) capture: usize,
}

static SHARED: AtomicPtr<Shared> = AtomicPtr::new(core::ptr::null_mut());

/// This process's id, for [`read_own`] (getpid(2) is a system call).
static PID: AtomicI32 = AtomicI32::new(0);

/// This process found its pid among the admitted ones (a gated run): it
/// stays admitted while it lives, so the table is scanned only until then.
/// A forked child starts over (`in_child`); an exec'd image loads afresh.
static ADMITTED: AtomicBool = AtomicBool::new(false);

/// A copy of the `T` at `p` in this process, or `None` where it is not
/// readable, without faulting: process_vm_readv(2) on this process, which
/// fails with EFAULT where the kernel would. One system call (not one the
/// filter stops at), for the few arguments the library must read before
/// a call whose kernel check of them comes later.
pub(crate) fn read_own<T: Copy>(p: *const T) -> Option<T> {
    let mut out = core::mem::MaybeUninit::<T>::uninit();
    let size = core::mem::size_of::<T>();
    let local = libc::iovec {
        iov_base: out.as_mut_ptr() as *mut libc::c_void,
        iov_len: size,
    };
    let remote = libc::iovec {
        iov_base: p as *mut libc::c_void,
        iov_len: size,
    };
    // SAFETY: `local` is this function's buffer of `size` bytes; the
    // kernel checks `remote`.
    let n =
        unsafe { libc::process_vm_readv(PID.load(Ordering::Relaxed), &local, 1, &remote, 1, 0) };
    // SAFETY: the kernel filled all `size` bytes.
    (n == size as isize).then(|| unsafe { out.assume_init() })
}

/// The shared memory, once set up (one atomic load: signal-safe).
pub(crate) fn shared() -> Option<&'static Shared> {
    // SAFETY: set once in `init` to a leaked Box, never freed.
    unsafe { SHARED.load(Ordering::Acquire).as_ref() }
}

impl Shared {
    pub(crate) fn control(&self) -> &Control {
        // SAFETY: the control block is at offset 0 of the mapping.
        unsafe { &*(self.base as *const Control) }
    }

    /// True when this process may take the fast path: always, unless the
    /// run has a fault plan (`gated`); then only once the tracer has put
    /// its pid in the admitted table. One relaxed load on the hot path of
    /// an ungated run or an admitted process; a scan of the table (atomic
    /// loads, no system call) for a process not admitted, whose call then
    /// stops under ptrace anyway.
    pub(crate) fn may_use(&self) -> bool {
        let control = self.control();
        if control.gated.load(Ordering::Relaxed) == 0 || ADMITTED.load(Ordering::Relaxed) {
            return true;
        }
        let pid = PID.load(Ordering::Relaxed);
        let found = pid > 0
            && control
                .admitted
                .iter()
                .any(|p| p.load(Ordering::Acquire) == pid);
        if found {
            ADMITTED.store(true, Ordering::Relaxed);
        }
        found
    }

    fn slot(&self, i: usize) -> *mut SlotHeader {
        // SAFETY: i < SLOTS, inside the mapping.
        unsafe { self.base.add(ring::slot_offset(self.capture, i)) as *mut SlotHeader }
    }

    /// Claims a free ring for this thread (null: none free).
    pub(crate) fn claim(&self) -> *mut SlotHeader {
        // SAFETY: raw gettid/getpid, which cannot fail.
        let (tid, pid) = unsafe { (libc::syscall(libc::SYS_gettid) as i32, libc::getpid()) };
        for i in 0..ring::SLOTS {
            let slot = self.slot(i);
            // SAFETY: slot headers are inside the mapping; the owner CAS
            // makes the slot this thread's alone.
            let header = unsafe { &*slot };
            if header
                .owner
                .compare_exchange(0, tid, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                header.pid.store(pid, Ordering::Relaxed);
                self.control().claims.fetch_add(1, Ordering::Release);
                return slot;
            }
        }
        core::ptr::null_mut()
    }

    /// The next record of this thread's ring, if it is not full.
    ///
    /// SAFETY: `slot` is this thread's claimed slot.
    pub(crate) unsafe fn reserve(&self, slot: *mut SlotHeader) -> Option<*mut Record> {
        // SAFETY: as the caller promises.
        let header = unsafe { &*slot };
        let head = header.head.load(Ordering::Relaxed);
        let tail = header.tail.load(Ordering::Acquire);
        if head.wrapping_sub(tail) >= ring::RECORDS as u64 {
            return None;
        }
        let k = (head % ring::RECORDS as u64) as usize;
        // SAFETY: record k of this slot is inside the mapping.
        Some(unsafe { (slot as *mut u8).add(ring::record_offset(self.capture, k)) as *mut Record })
    }
}

extern "C" fn init() {
    // SAFETY: runs once, before main, in a single thread; only libc calls
    // on memory it owns.
    unsafe {
        let path = libc::getenv(c"BOP_FASTPATH".as_ptr());
        if path.is_null() {
            return;
        }
        let Some(shared) = map_shared(path) else {
            return;
        };
        if !map_stub() {
            libc::munmap(
                shared.base as *mut libc::c_void,
                ring::file_size(shared.capture),
            );
            return;
        }
        PID.store(libc::getpid(), Ordering::Relaxed);
        libc::pthread_atfork(None, None, Some(in_child));
        SHARED.store(Box::into_raw(Box::new(shared)), Ordering::Release);
    }
}

extern "C" fn in_child() {
    // SAFETY: getpid cannot fail.
    PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    // The parent's admission is not the child's: the tracer decides for
    // the child once it is named.
    ADMITTED.store(false, Ordering::Relaxed);
    super::forget_ring();
}

/// Maps the run's shared file, checking that the tracer set it up.
///
/// SAFETY: `path` is a NUL-terminated string.
unsafe fn map_shared(path: *const libc::c_char) -> Option<Shared> {
    // SAFETY: plain libc calls on a path and an fd this function owns.
    unsafe {
        let fd = libc::open(path, libc::O_RDWR | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let mut st: libc::stat = core::mem::zeroed();
        let size = if libc::fstat(fd, &mut st) == 0 {
            st.st_size as usize
        } else {
            0
        };
        let base = if size >= ring::CONTROL_SIZE {
            libc::mmap(
                core::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        } else {
            libc::MAP_FAILED
        };
        libc::close(fd);
        if base == libc::MAP_FAILED {
            return None;
        }
        let control = &*(base as *const Control);
        let capture = control.capture as usize;
        if control.magic != ring::MAGIC
            || capture > ring::MAX_CAPTURE
            || control.record_size as usize != ring::record_size(capture)
            || size != ring::file_size(capture)
        {
            libc::munmap(base, size);
            return None;
        }
        Some(Shared {
            base: base as *mut u8,
            capture,
        })
    }
}

/// Maps `syscall; ret` at the fixed address the seccomp filter knows.
/// False when the address is taken (the program mapped something there):
/// then the library stays off, since a call from anywhere else stops.
fn map_stub() -> bool {
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; a
    // kernel without it treats the address as a hint, checked below.
    unsafe {
        let page = libc::mmap(
            ring::STUB_ADDR as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if page == libc::MAP_FAILED {
            return false;
        }
        if page as usize != ring::STUB_ADDR {
            libc::munmap(page, 4096);
            return false;
        }
        let code: [u8; 3] = [0x0f, 0x05, 0xc3]; // syscall; ret
        core::ptr::copy_nonoverlapping(code.as_ptr(), page as *mut u8, code.len());
        libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC) == 0
    }
}

/// Runs `init` when the dynamic loader loads the library.
#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = init;
