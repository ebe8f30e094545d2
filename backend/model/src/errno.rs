//! Errno names as the event log and fault plans spell them (`ECONNREFUSED`),
//! from Linux's numbers (errno(3)).

use nix::errno::Errno;

/// The largest errno number Linux defines (EHWPOISON); names are looked up
/// among 1..=this.
const LAST_ERRNO: i32 = 133;

/// Name of an errno value (`ECONNREFUSED`); `E<n>` for a number Linux does
/// not define.
pub fn errno_name(errno: i32) -> String {
    let e = Errno::from_raw(errno);
    if e == Errno::UnknownErrno {
        format!("E{errno}")
    } else {
        format!("{e:?}")
    }
}

/// The errno number of a name like `ECONNREFUSED`, if Linux has it.
pub fn errno_number(name: &str) -> Option<i32> {
    (1..=LAST_ERRNO).find(|&n| errno_name(n) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(errno_name(111), "ECONNREFUSED");
        assert_eq!(errno_number("EHWPOISON"), Some(133));
        assert_eq!(errno_number("ENOPE"), None);
        assert_eq!(errno_name(9999), "E9999");
    }
}
