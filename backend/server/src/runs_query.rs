//! What `GET /api/runs` answers (docs/API.md "Runs"): the store's listing
//! filtered by verdict, trace class, fault kind and text, then one page of
//! it by offset or by cursor, each run tagged with the exploration or search
//! it belongs to so the run list can fold them into one row.
//!
//! Cursor paging is keyset paging on the listing's order (newest
//! `started_ms` first, then id descending): the cursor names the last run
//! of a page, and the next page starts strictly after it. A run recorded
//! while a client pages starts later than every run already listed, so it
//! lands before the cursor and never shifts or repeats a later page; offsets
//! shift by one for every such run.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use bop_model::{Exploration, Fault, Manifest, RunStatus, Search, Verdict};
use bop_store::{Listing, Store};

/// The query string of `GET /api/runs`; every field is optional.
#[derive(Deserialize, Debug, Default)]
pub(crate) struct RunsQuery {
    offset: Option<usize>,
    limit: Option<usize>,
    cursor: Option<String>,
    verdict: Option<String>,
    class: Option<String>,
    fault: Option<String>,
    q: Option<String>,
}

/// The fault kinds `fault=` accepts: the plan's `kind`s, and `none`.
const FAULT_KINDS: &[&str] = &[
    "delay",
    "drop",
    "error",
    "crash",
    "partition",
    "jitter",
    "none",
];

/// Number of planned faults and how many fired.
#[derive(Serialize, Debug)]
struct FaultSummary {
    planned: usize,
    fired: usize,
}

/// The exploration or search a run was recorded by.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupRef {
    /// `exploration` or `search`.
    kind: &'static str,
    /// Its id (the run's id is `ID-k`, or `ID-mK` for a sweep).
    id: String,
}

/// One row of the run list.
#[derive(Serialize, Debug)]
pub(crate) struct RunSummary {
    id: String,
    command: String,
    started_ms: u64,
    duration_ms: Option<u64>,
    status: RunStatus,
    verdict: Verdict,
    trace_class: Option<String>,
    parent: Option<String>,
    faults: FaultSummary,
    events: u64,
    /// The planned faults' kinds, in plan order (absent without faults).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fault_kinds: Vec<&'static str>,
    /// Absent for a run no exploration or search recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<GroupRef>,
}

/// One page of runs.
#[derive(Serialize, Debug)]
pub(crate) struct RunsPage {
    /// Runs matching the filters (all runs without filters).
    total: usize,
    offset: usize,
    limit: usize,
    runs: Vec<RunSummary>,
    /// With `cursor=`: the cursor of the next page, `null` on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<Option<String>>,
}

/// A query that cannot be answered, as one sentence.
#[derive(Debug)]
pub(crate) struct BadRunsQuery(pub(crate) String);

/// The `kind` a fault plan writes for `fault`.
fn fault_kind(fault: &Fault) -> &'static str {
    match fault {
        Fault::Delay { .. } => "delay",
        Fault::Drop { .. } => "drop",
        Fault::Error { .. } => "error",
        Fault::Crash { .. } => "crash",
        Fault::Jitter { .. } => "jitter",
        Fault::Partition { .. } => "partition",
    }
}

/// The filters of a query, checked.
#[derive(Debug, Default)]
struct Filter {
    verdict: Option<Verdict>,
    class: Option<String>,
    fault: Option<String>,
    words: Vec<String>,
}

impl Filter {
    fn parse(q: &RunsQuery) -> Result<Filter, BadRunsQuery> {
        let verdict = match q.verdict.as_deref() {
            None | Some("") => None,
            Some("pass") => Some(Verdict::Pass),
            Some("fail") => Some(Verdict::Fail),
            Some("unknown") => Some(Verdict::Unknown),
            Some(v) => {
                return Err(BadRunsQuery(format!(
                    "verdict must be pass, fail or unknown, not '{v}'"
                )));
            }
        };
        let fault = match q.fault.as_deref() {
            None | Some("") => None,
            Some(f) if FAULT_KINDS.contains(&f) => Some(f.to_string()),
            Some(f) => {
                return Err(BadRunsQuery(format!(
                    "fault must be one of {}, not '{f}'",
                    FAULT_KINDS.join(", ")
                )));
            }
        };
        let class = q.class.as_deref().filter(|c| !c.is_empty());
        let words = q.q.as_deref().unwrap_or("").to_lowercase();
        Ok(Filter {
            verdict,
            class: class.map(str::to_lowercase),
            fault,
            words: words.split_whitespace().map(String::from).collect(),
        })
    }

    fn matches(&self, m: &Manifest) -> bool {
        if self.verdict.is_some_and(|v| v != m.verdict) {
            return false;
        }
        if let Some(class) = &self.class {
            let has = m.trace_class.as_deref().unwrap_or("").to_lowercase();
            if !has.starts_with(class.as_str()) {
                return false;
            }
        }
        match self.fault.as_deref() {
            None => {}
            Some("none") if !m.faults.is_empty() => return false,
            Some("none") => {}
            Some(kind) if !m.faults.iter().any(|f| fault_kind(&f.fault) == kind) => return false,
            Some(_) => {}
        }
        self.words.is_empty() || {
            let mut text = format!("{} {}", m.id, m.command);
            for f in &m.faults {
                text.push(' ');
                text.push_str(&f.fault.to_string());
            }
            let text = text.to_lowercase();
            self.words.iter().all(|w| text.contains(w.as_str()))
        }
    }
}

/// `STARTED.ID`: where the previous page ended.
fn parse_cursor(cursor: &str) -> Result<(u64, &str), BadRunsQuery> {
    cursor
        .split_once('.')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id)))
        .filter(|(_, id)| !id.is_empty())
        .ok_or_else(|| BadRunsQuery(format!("'{cursor}' is not a cursor of GET /api/runs")))
}

fn cursor_of(m: &Manifest) -> String {
    format!("{}.{}", m.started_ms, m.id)
}

/// Exploration and search ids, to recognise the runs they recorded.
pub(crate) struct Groups {
    explorations: HashSet<String>,
    searches: HashSet<String>,
}

impl Groups {
    pub(crate) fn load(store: &Store) -> Groups {
        Groups {
            explorations: store
                .explorations()
                .list::<Exploration>()
                .into_iter()
                .map(|e| e.id)
                .collect(),
            searches: store
                .searches()
                .list::<Search>()
                .into_iter()
                .map(|s| s.id)
                .collect(),
        }
    }

    /// `ID-k` (explorations and searches) or `ID-mK` (sweeps), see
    /// bop's explore.rs and search.rs.
    fn of(&self, run: &str) -> Option<GroupRef> {
        let (id, k) = run.rsplit_once('-')?;
        let digits = k.strip_prefix('m').unwrap_or(k);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let kind = if self.explorations.contains(id) {
            "exploration"
        } else if self.searches.contains(id) && k == digits {
            "search"
        } else {
            return None;
        };
        Some(GroupRef {
            kind,
            id: id.to_string(),
        })
    }
}

fn summary(m: Manifest, groups: &Groups) -> RunSummary {
    let fired = m.faults.iter().filter(|f| f.fired).count();
    RunSummary {
        duration_ms: m.ended_ms.map(|end| end.saturating_sub(m.started_ms)),
        faults: FaultSummary {
            planned: m.faults.len(),
            fired,
        },
        fault_kinds: m.faults.iter().map(|f| fault_kind(&f.fault)).collect(),
        group: groups.of(&m.id),
        id: m.id,
        command: m.command,
        started_ms: m.started_ms,
        status: m.status,
        verdict: m.verdict,
        trace_class: m.trace_class,
        parent: m.parent,
        events: m.counts.events,
    }
}

impl RunsQuery {
    /// The page size asked for, checked against `max`.
    pub(crate) fn limit(&self, default: usize, max: usize) -> Result<usize, BadRunsQuery> {
        match self.limit {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(BadRunsQuery(format!(
                "limit must be between 1 and {max}, not {n}"
            ))),
        }
    }

    /// One page of `listing` (newest first, as [`Store::scan`] sorts it).
    pub(crate) fn page(
        &self,
        listing: Listing,
        groups: &Groups,
        limit: usize,
    ) -> Result<RunsPage, BadRunsQuery> {
        let filter = Filter::parse(self)?;
        let cursor = match self.cursor.as_deref() {
            Some(_) if self.offset.is_some() => {
                return Err(BadRunsQuery("use cursor or offset, not both".into()));
            }
            None => None,
            Some("") => Some(None),
            Some(c) => Some(Some(parse_cursor(c)?)),
        };
        let matching: Vec<Manifest> = listing
            .runs
            .into_iter()
            .filter(|m| filter.matches(m))
            .collect();
        let total = matching.len();
        let start = match cursor {
            Some(Some((ms, id))) => {
                matching.partition_point(|m| (m.started_ms, m.id.as_str()) >= (ms, id))
            }
            _ => self.offset.unwrap_or(0),
        };
        let end = start.saturating_add(limit).min(total);
        let next_cursor =
            cursor.map(|_| (end < total && end > start).then(|| cursor_of(&matching[end - 1])));
        let runs = matching
            .into_iter()
            .skip(start)
            .take(limit)
            .map(|m| summary(m, groups))
            .collect();
        Ok(RunsPage {
            total,
            offset: if cursor.is_some() {
                start
            } else {
                self.offset.unwrap_or(0)
            },
            limit,
            runs,
            next_cursor,
        })
    }
}
