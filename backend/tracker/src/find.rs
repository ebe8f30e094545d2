//! Find: the events of a run whose logical name, call, channel or captured
//! payload contains a text, in event id order, a page at a time.
//!
//! Why here and not in the browser: a big run's page holds only the window
//! in view (issue 16), so "next match" must be answered by whoever has the
//! whole run. The function is pure over a slice of [`Findable`] events,
//! which borrow from the graph JSON the server already caches
//! (`serde_json` borrows strings without escapes), so a search costs one
//! pass and no copy of the run.
//!
//! Matching is case-insensitive. Names, calls and channels match as text;
//! the payload (hex in the graph) is decoded and matched as bytes, so
//! `GET /key` finds the request whatever the bytes around it are, and a
//! text with non-ASCII characters matches their UTF-8 bytes.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Longest text accepted: longer ones are surely not a name or a payload
/// prefix anyone types, and bound the work per event.
pub const MAX_FIND_TEXT: usize = 256;
/// Most matches one page returns.
pub const MAX_FIND_LIMIT: usize = 1000;

/// The fields of one graph event that find reads (the rest of the event
/// is ignored when deserializing).
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Findable<'a> {
    /// Event id (its index in the graph).
    pub id: usize,
    /// Logical name `thread/ordinal:call`.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Thread name.
    #[serde(borrow)]
    pub thread: Cow<'a, str>,
    /// Syscall or lifecycle point.
    #[serde(borrow)]
    pub call: Cow<'a, str>,
    /// Channel name.
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    /// Captured bytes, hex.
    #[serde(borrow, default)]
    pub data: Option<Cow<'a, str>>,
    /// Entry time, ns since the run started.
    pub start_ns: u64,
    /// Return time.
    #[serde(default)]
    pub end_ns: Option<u64>,
    /// Lamport time.
    pub lamport: u64,
}

/// What to find and which page of the matches to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindQuery {
    /// The text (non-empty, at most [`MAX_FIND_TEXT`] bytes).
    pub text: String,
    /// Only matches with an id above this (the next page, or "next match").
    pub after: Option<usize>,
    /// Only matches with an id below this, the last `limit` of them
    /// ("previous match"); exclusive with `after`.
    pub before: Option<usize>,
    /// Most matches to answer (1 to [`MAX_FIND_LIMIT`]).
    pub limit: usize,
}

/// Which field of the event matched (the first one, in this order).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The logical name.
    Name,
    /// The call.
    Call,
    /// The channel.
    Channel,
    /// The captured payload.
    Data,
}

/// One matching event: enough to move a view to it without holding it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct FindMatch {
    /// Event id.
    pub id: usize,
    /// Logical name.
    pub name: String,
    /// Thread name (its lane).
    pub thread: String,
    /// Entry time.
    pub start_ns: u64,
    /// Return time.
    pub end_ns: Option<u64>,
    /// Lamport time.
    pub lamport: u64,
    /// What matched.
    pub field: Field,
}

/// One page of matches.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct FindAnswer {
    /// The page, in id order.
    pub matches: Vec<FindMatch>,
    /// Matches in the whole run.
    pub total: usize,
    /// Rank of the page's first match among all matches (0-based); with
    /// `total`, what "match 3 of 17" needs.
    pub first: usize,
}

/// A query find refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FindError {
    /// Nothing to find.
    #[error("the text to find is empty")]
    Empty,
    /// Longer than [`MAX_FIND_TEXT`].
    #[error("the text to find is {0} bytes long; at most {MAX_FIND_TEXT} are accepted")]
    TooLong(usize),
    /// `limit` out of range.
    #[error("limit must be between 1 and {MAX_FIND_LIMIT}, not {0}")]
    Limit(usize),
    /// Both directions at once.
    #[error("give after or before, not both")]
    BothDirections,
}

impl FindQuery {
    /// Checks the bounds (see [`FindError`]).
    pub fn check(&self) -> Result<(), FindError> {
        if self.text.is_empty() {
            return Err(FindError::Empty);
        }
        if self.text.len() > MAX_FIND_TEXT {
            return Err(FindError::TooLong(self.text.len()));
        }
        if !(1..=MAX_FIND_LIMIT).contains(&self.limit) {
            return Err(FindError::Limit(self.limit));
        }
        if self.after.is_some() && self.before.is_some() {
            return Err(FindError::BothDirections);
        }
        Ok(())
    }
}

/// The page of `events` (in id order) matching `query`.
pub fn find(events: &[Findable<'_>], query: &FindQuery) -> Result<FindAnswer, FindError> {
    find_in(events.iter().cloned(), query)
}

/// [`find`] over events as they come (rows of the window index, in id
/// order), holding only the page.
pub fn find_in<'a>(
    events: impl IntoIterator<Item = Findable<'a>>,
    query: &FindQuery,
) -> Result<FindAnswer, FindError> {
    query.check()?;
    let needle = query.text.to_lowercase();
    let bytes = needle.as_bytes();
    let mut total = 0;
    let mut first = 0;
    let mut page: VecDeque<FindMatch> = VecDeque::new();
    for e in events {
        let Some(field) = matches(&e, &needle, bytes) else {
            continue;
        };
        total += 1;
        let wanted = match (query.after, query.before) {
            (Some(a), _) => e.id > a,
            (_, Some(b)) => e.id < b,
            _ => true,
        };
        if !wanted {
            if query.after.is_some() {
                first += 1;
            }
            continue;
        }
        if query.before.is_some() {
            // Keep the last `limit` matches below `before`.
            if page.len() == query.limit {
                page.pop_front();
                first += 1;
            }
            page.push_back(found(&e, field));
        } else if page.len() < query.limit {
            page.push_back(found(&e, field));
        }
    }
    Ok(FindAnswer {
        matches: page.into_iter().collect(),
        total,
        first,
    })
}

fn found(e: &Findable<'_>, field: Field) -> FindMatch {
    FindMatch {
        id: e.id,
        name: e.name.to_string(),
        thread: e.thread.to_string(),
        start_ns: e.start_ns,
        end_ns: e.end_ns,
        lamport: e.lamport,
        field,
    }
}

fn matches(e: &Findable<'_>, needle: &str, bytes: &[u8]) -> Option<Field> {
    let has = |s: &str| contains_ci(s.as_bytes(), bytes);
    if has(&e.name) {
        return Some(Field::Name);
    }
    if has(&e.call) {
        return Some(Field::Call);
    }
    if e.channel.as_deref().is_some_and(has) {
        return Some(Field::Channel);
    }
    if e.data
        .as_deref()
        .is_some_and(|hex| payload_contains(hex, needle))
    {
        return Some(Field::Data);
    }
    None
}

/// `haystack` contains `needle` (already lower-case), ASCII case-insensitively.
fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack.windows(needle.len()).any(|w| {
            w.iter()
                .zip(needle)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

/// The hex payload, decoded, contains `needle`'s bytes. Undecodable hex
/// (never written by the tracer) matches nothing past the bad digit.
fn payload_contains(hex: &str, needle: &str) -> bool {
    let digits = hex.as_bytes();
    let decoded: Vec<u8> = digits
        .chunks_exact(2)
        .map_while(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect();
    contains_ci(&decoded, needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: usize, name: &str, channel: Option<&str>, data: Option<&str>) -> Findable<'static> {
        let call = name.rsplit(':').next().unwrap_or("").to_string();
        Findable {
            id,
            name: Cow::Owned(name.to_string()),
            thread: Cow::Owned(name.split('/').next().unwrap_or("").to_string()),
            call: Cow::Owned(call),
            channel: channel.map(|c| Cow::Owned(c.to_string())),
            data: data.map(|d| Cow::Owned(d.to_string())),
            start_ns: id as u64 * 10,
            end_ns: Some(id as u64 * 10 + 5),
            lamport: id as u64 + 1,
        }
    }

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn run() -> Vec<Findable<'static>> {
        let get = hex("GET /Key1\n");
        let put = hex("PUT key2 v\n");
        vec![
            ev(0, "client:t0/0:connect", Some("client->primary#0"), None),
            ev(
                1,
                "client:t0/1:write",
                Some("client->primary#0"),
                Some(&get),
            ),
            ev(2, "primary:t0/0:accept", Some("client->primary#0"), None),
            ev(
                3,
                "primary:t0/1:read",
                Some("client->primary#0"),
                Some(&get),
            ),
            ev(
                4,
                "primary:t1/0:write",
                Some("primary->replica#0"),
                Some(&put),
            ),
            ev(
                5,
                "replica:t0/0:read",
                Some("primary->replica#0"),
                Some(&put),
            ),
            ev(6, "client:t0/2:exit", None, None),
        ]
    }

    fn q(text: &str) -> FindQuery {
        FindQuery {
            text: text.into(),
            after: None,
            before: None,
            limit: 100,
        }
    }

    fn ids(a: &FindAnswer) -> Vec<usize> {
        a.matches.iter().map(|m| m.id).collect()
    }

    #[test]
    fn names_calls_channels_and_payloads_match_case_insensitively() {
        let events = run();
        let a = find(&events, &q("PRIMARY:t0")).unwrap();
        assert_eq!((ids(&a), a.total), (vec![2, 3], 2));
        assert_eq!(a.matches[0].field, Field::Name);
        let a = find(&events, &q("replica#0")).unwrap();
        assert_eq!(ids(&a), vec![4, 5]);
        assert_eq!(a.matches[0].field, Field::Channel);
        // Payload text, whatever its case, and only in the payload.
        let a = find(&events, &q("get /key1")).unwrap();
        assert_eq!(ids(&a), vec![1, 3]);
        assert!(a.matches.iter().all(|m| m.field == Field::Data));
        // A newline in the payload is a byte like any other.
        assert_eq!(ids(&find(&events, &q("v\n")).unwrap()), vec![4, 5]);
        assert_eq!(find(&events, &q("nowhere")).unwrap().total, 0);
    }

    #[test]
    fn a_match_carries_where_to_show_it() {
        let events = run();
        let a = find(&events, &q("exit")).unwrap();
        assert_eq!(
            a.matches,
            vec![FindMatch {
                id: 6,
                name: "client:t0/2:exit".into(),
                thread: "client:t0".into(),
                start_ns: 60,
                end_ns: Some(65),
                lamport: 7,
                field: Field::Name,
            }]
        );
    }

    #[test]
    fn after_and_before_page_through_the_matches_with_their_rank() {
        let events = run();
        // "t0/" is in the names of events 0, 1, 2, 3, 5, 6.
        let all = find(&events, &q("t0/")).unwrap();
        assert_eq!(
            (ids(&all), all.total, all.first),
            (vec![0, 1, 2, 3, 5, 6], 6, 0)
        );
        let next = find(
            &events,
            &FindQuery {
                after: Some(2),
                limit: 2,
                ..q("t0/")
            },
        )
        .unwrap();
        assert_eq!((ids(&next), next.total, next.first), (vec![3, 5], 6, 3));
        let prev = find(
            &events,
            &FindQuery {
                before: Some(5),
                limit: 2,
                ..q("t0/")
            },
        )
        .unwrap();
        assert_eq!((ids(&prev), prev.total, prev.first), (vec![2, 3], 6, 2));
        // Before an id past the end: the last page.
        let last = find(
            &events,
            &FindQuery {
                before: Some(usize::MAX),
                limit: 1,
                ..q("t0/")
            },
        )
        .unwrap();
        assert_eq!((ids(&last), last.first), (vec![6], 5));
        // After the last match: an empty page that still counts them all.
        let none = find(
            &events,
            &FindQuery {
                after: Some(6),
                ..q("t0/")
            },
        )
        .unwrap();
        assert_eq!((ids(&none), none.total, none.first), (vec![], 6, 6));
    }

    #[test]
    fn bad_queries_are_refused_with_the_reason() {
        let events = run();
        assert_eq!(find(&events, &q("")), Err(FindError::Empty));
        let long = "x".repeat(MAX_FIND_TEXT + 1);
        assert_eq!(
            find(&events, &q(&long)),
            Err(FindError::TooLong(MAX_FIND_TEXT + 1))
        );
        assert_eq!(
            find(&events, &FindQuery { limit: 0, ..q("a") }),
            Err(FindError::Limit(0))
        );
        let both = FindQuery {
            after: Some(1),
            before: Some(3),
            ..q("a")
        };
        assert_eq!(find(&events, &both), Err(FindError::BothDirections));
    }

    #[test]
    fn findables_borrow_from_graph_json_and_ignore_other_fields() {
        let json = r#"{"events":[{"id":0,"seq":0,"name":"c:t0/0:write","thread":"c:t0","process":"c",
            "call":"write","fd":3,"channel":"c->s#0","ret":2,"errno":null,"bytes":2,"start_ns":1,
            "end_ns":null,"lamport":1,"data":"6869","injected":null}]}"#;
        #[derive(Deserialize)]
        struct G<'a> {
            #[serde(borrow)]
            events: Vec<Findable<'a>>,
        }
        let g: G<'_> = serde_json::from_str(json).unwrap();
        assert!(matches!(g.events[0].name, Cow::Borrowed(_)));
        assert_eq!(ids(&find(&g.events, &q("HI")).unwrap()), vec![0]);
        assert_eq!(g.events[0].end_ns, None);
    }
}
