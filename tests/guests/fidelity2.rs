//! Guests for the fidelity cases of issue 13 that the tracker and the
//! injector own: each role imitates one behaviour of a real system that
//! bop once named or matched wrongly.
//!
//! * `threads`: threads created in an order that defeats depth numbering.
//!   t0 starts A, A starts B, B writes a byte to t0, and only once t0 has
//!   read it does t0 start C (a later thread at a smaller depth).
//! * `peek`: a reader that sniffs each message with a 1-byte `MSG_PEEK`
//!   before reading it: messages of 10, 20 and 30 bytes on a socketpair.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::thread;

fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    match role.as_str() {
        "threads" => threads(),
        "peek" => peek(),
        other => {
            eprintln!("fidelity2: unknown role {other:?} (use threads or peek)");
            std::process::exit(2);
        }
    }
}

fn threads() {
    let (mut to_main, mut from_b) = UnixStream::pair().unwrap();
    let a = thread::spawn(move || {
        let b = thread::spawn(move || {
            to_main.write_all(b"b").unwrap();
            to_main.write_all(b"again").unwrap();
        });
        b.join().unwrap();
    });
    let mut byte = [0u8; 1];
    from_b.read_exact(&mut byte).unwrap();
    let c = thread::spawn(move || {
        let mut rest = [0u8; 5];
        from_b.read_exact(&mut rest).unwrap();
    });
    a.join().unwrap();
    c.join().unwrap();
}

fn peek() {
    let (mut writer, mut reader) = UnixStream::pair().unwrap();
    for n in [10, 20, 30] {
        writer.write_all(&vec![b'm'; n]).unwrap();
    }
    for n in [10, 20, 30] {
        let mut first = [0u8; 1];
        // SAFETY: `first` is a live 1-byte buffer for the whole call.
        #[allow(unsafe_code)]
        let got = unsafe {
            libc::recv(
                reader.as_raw_fd(),
                first.as_mut_ptr().cast(),
                1,
                libc::MSG_PEEK,
            )
        };
        assert_eq!(got, 1, "peek");
        let mut msg = vec![0u8; n];
        reader.read_exact(&mut msg).unwrap();
    }
}
