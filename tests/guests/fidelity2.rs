//! Guests for the fidelity cases of issue 13 that the tracker and the
//! injector own: each role imitates one behaviour of a real system that
//! bop once named or matched wrongly.
//!
//! * `threads`: threads created in an order that defeats depth numbering.
//!   t0 starts A, A starts B, B writes a byte to t0, and only once t0 has
//!   read it does t0 start C (a later thread at a smaller depth).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;

fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    match role.as_str() {
        "threads" => threads(),
        other => {
            eprintln!("fidelity2: unknown role {other:?} (use threads)");
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
