//! Interned short names: an event's call (`write`, `start`) and errno
//! (`ECONNREFUSED`).
//!
//! A run repeats a few dozen such names in every one of its events; held as
//! a `String` each, they were 24 bytes inline plus a heap block per event,
//! ~50 MB at 10^6 events while a run is recorded (issue 16,
//! docs/PERFORMANCE.md). A [`Name`] is a shared `&'static str`: the set of
//! names is small and bounded (the tracer's call table, lifecycle points,
//! errno names), so each distinct name is kept for the life of the process.
//! The log's text is unchanged: a name reads and writes as a JSON string.

use std::collections::HashSet;
use std::fmt;
use std::sync::{LazyLock, RwLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned name; derefs to `str` and compares with `&str`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Name(&'static str);

/// Every name seen so far, seeded with the tracer's calls and the
/// lifecycle points so that recording interns without allocating.
static NAMES: LazyLock<RwLock<HashSet<&'static str>>> = LazyLock::new(|| {
    let mut names: HashSet<&'static str> = crate::CALLS.iter().map(|(n, _)| *n).collect();
    names.extend(["start", "exec", "exit", "killed"]);
    RwLock::new(names)
});

impl Name {
    /// The shared copy of `s`, made on first sight of it.
    pub fn new(s: &str) -> Name {
        if let Some(n) = NAMES.read().unwrap_or_else(|e| e.into_inner()).get(s) {
            return Name(n);
        }
        let mut names = NAMES.write().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = names.get(s) {
            return Name(n);
        }
        let n: &'static str = Box::leak(s.into());
        names.insert(n);
        Name(n)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::new(&s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0.to_string()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.0 == other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self == other.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Name, E> {
                Ok(Name::new(s))
            }
        }
        d.deserialize_str(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shared_and_read_as_strings() {
        let a = Name::new("recvfrom");
        let b: Name = serde_json::from_str(r#""recvfrom""#).expect("parses");
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "not interned");
        assert_eq!(a, "recvfrom");
        assert_eq!(serde_json::to_string(&b).expect("encodes"), r#""recvfrom""#);
        let odd: Name = serde_json::from_str(r#""a\"b""#).expect("escaped parses");
        assert_eq!(odd, "a\"b");
        assert!(std::ptr::eq(odd.as_str(), Name::new("a\"b").as_str()));
        assert_eq!(std::mem::size_of::<Option<Name>>(), 16);
    }
}
