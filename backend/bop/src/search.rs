//! `bop search`: lineage-driven fault injection over the causal graph
//! (DESIGN.md "Search", issue 14). Baselines first (the trace classes and
//! the failure rate of a healthy target), then the LDFI loop: every rerun
//! that still passes adds its lineage as a support, and the next fault
//! sets tried are the smallest that cut every support known so far. A
//! failing set is confirmed by reruns (most fail, in a trace class no
//! baseline has), minimised, and grouped with others by the check's output.
//!
//! Every run is a child `bop rerun` ([`crate::jobs`]), so runs are
//! isolated and go in parallel; a batch holds up to `--parallel` fault sets.
//! The search is stored as `STORE/searches/ID.json`, plans beside it.

mod candidates;
mod flips;
mod hitting;
mod minimise;
mod origins;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use bop_model::{
    Bug, Confirmed, Fault, FaultKind, FaultPlan, Manifest, Ms, Search, SearchParams, Verdict,
};
use bop_store::{Store, now_ms};

use crate::jobs::{Job, run_jobs};
use bop_tracker::CausalGraph;
use bop_tracker::lineage::Lineage;

use candidates::Candidate;
use hitting::{Known, Set};
use origins::Origins;

/// Errors of a search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] bop_store::StoreError),
    /// Something else, as a sentence.
    #[error("{0}")]
    Failed(String),
}

/// The bisection steps a delay gets when shrinking it.
const SHRINK_STEPS: usize = 4;

/// Reruns per minimisation step (see [`minimise`]).
const MINIMISE_REPS: usize = 2;

/// What the loop knows: the candidates, the supports, what was tried.
struct Plan {
    /// The base run's candidates first, then those that reruns showed
    /// (see [`Plan::grow`]); a candidate's index never changes.
    candidates: Vec<Candidate>,
    keys: Vec<String>,
    /// Fault kinds the search may use (`--faults`).
    kinds: Vec<FaultKind>,
    supports: Vec<Set>,
    /// The lineage behind each support, in order: a candidate found later
    /// joins every earlier support whose lineage it cuts.
    lineages: Vec<Lineage>,
    /// Where the faults learned from reruns come from.
    origins: Origins,
    tried: HashSet<Set>,
    failing: Vec<Set>,
    /// Trace classes in which a baseline failed the check.
    flaky: HashSet<String>,
    /// How many messages the base run's client received.
    answers: Option<usize>,
}

impl Plan {
    fn known(&self) -> Known<'_> {
        Known {
            tried: &self.tried,
            failing: &self.failing,
            keys: &self.keys,
        }
    }

    fn plan_of(&self, set: &Set) -> FaultPlan {
        FaultPlan {
            faults: set
                .iter()
                .map(|&c| self.candidates[c].fault.clone())
                .collect(),
        }
    }

    /// Learns from a run that passed: the candidates that would cut its
    /// lineage become a support. A pass whose client got fewer answers
    /// than the base's is vacuous (the client gave up on something; DESIGN
    /// "Verdicts"): it shows no way to the base's outcome, so it is no
    /// support.
    fn learn(&mut self, store: &Store, run: &str) {
        let Ok(events) = store.events(run) else {
            return;
        };
        let g = CausalGraph::build(&events);
        if let (Some(want), Some(got)) = (self.answers, bop_tracker::lineage::client_deliveries(&g))
        {
            if got < want {
                return;
            }
        }
        let found = candidates::candidates(&g, &self.kinds);
        self.origins.seen(run, &g, found.iter().map(|c| &c.fault));
        self.grow(run, found);
        let l = bop_tracker::lineage::lineage(&g);
        self.supports.push(
            (0..self.candidates.len())
                .filter(|&c| self.candidates[c].cuts(&l))
                .collect(),
        );
        self.lineages.push(l);
    }

    /// Adds the candidates a run's graph has and no earlier run had:
    /// what only exists because of a fault (a retry of a lost message, a
    /// fail-over to another replica, a reconnect) can be cut too, so the
    /// next sets can drop the original *and* its retry (Molly's LDFI
    /// learns the same way from each run's lineage). Appended, so the base
    /// run's candidates keep their priority.
    fn grow(&mut self, run: &str, found: Vec<Candidate>) {
        for c in found {
            if self.candidates.iter().any(|k| k.same_fault(&c)) {
                continue;
            }
            self.origins.learned(&c.fault, run);
            let i = self.candidates.len();
            for (support, l) in self.supports.iter_mut().zip(&self.lineages) {
                if c.cuts(l) {
                    support.insert(i);
                }
            }
            self.keys.push(c.key.clone());
            self.candidates.push(c);
        }
    }

    /// A failure counts when a fault fired and the check failed in a trace
    /// class where no baseline failed: a flip a baseline could show too is
    /// not the fault's doing. (A trace class leaves out the order of
    /// concurrent deliveries, so a race-directed delay's failing run may
    /// share a passing baseline's class: that alone proves nothing.)
    fn counts(&self, m: &Manifest) -> bool {
        m.verdict == Verdict::Fail
            && m.faults.iter().any(|f| f.fired)
            && !m
                .trace_class
                .as_ref()
                .is_some_and(|c| self.flaky.contains(c))
    }
}

/// A running search: where runs go and how progress is told.
struct Searcher<'a> {
    store: &'a Store,
    bop: &'a Path,
    stop: &'a AtomicBool,
    progress: &'a (dyn Fn(&str) + Sync),
    search: Search,
    plans_dir: PathBuf,
    next_run: usize,
    started: Instant,
    /// Candidate sets left at the current size, and bugs so far (progress).
    left: usize,
}

impl Searcher<'_> {
    /// Reruns the base once per plan (an empty plan is a baseline), up to
    /// `--parallel` at once, with one progress line per finished rerun.
    fn rerun(
        &mut self,
        plans: &[FaultPlan],
        origins: &Origins,
    ) -> Result<Vec<Option<Manifest>>, SearchError> {
        let mut jobs = Vec::new();
        let mut what = HashMap::new();
        for plan in plans {
            let run = format!("{}-{}", self.search.id, self.next_run);
            let parent = origins.parent(plan).unwrap_or(&self.search.base);
            let job = if plan.faults.is_empty() {
                Job::rerun(parent, &run, vec![])
            } else {
                let file = self.plans_dir.join(format!("{}.json", self.next_run));
                Job::rerun_with_plan(parent, &run, plan, &file)
                    .map_err(|e| SearchError::Failed(e.to_string()))?
            };
            self.next_run += 1;
            what.insert(run.clone(), describe(plan));
            jobs.push(job);
        }
        let ids: Vec<String> = jobs.iter().map(|j| j.run.clone()).collect();
        let done: Mutex<HashMap<String, Option<Manifest>>> = Mutex::default();
        let count = AtomicUsize::new(self.search.runs);
        let (budget, bugs, left) = (self.search.params.budget, self.search.bugs.len(), self.left);
        let started = self.started;
        run_jobs(
            self.bop,
            self.store,
            jobs,
            self.search.params.parallel,
            self.stop,
            &|_, finished| {
                let (run, m) = (finished.run.as_str(), finished.manifest.clone());
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let outcome = m.as_ref().map_or("not recorded".to_string(), |m| {
                    format!(
                        "{}, class {}",
                        m.verdict,
                        m.trace_class.as_deref().unwrap_or("-")
                    )
                });
                // Runs go `parallel` at once, so the time per finished run
                // already accounts for them.
                let per_run = started.elapsed().as_secs_f64() / n as f64;
                let eta = per_run * budget.saturating_sub(n) as f64;
                (self.progress)(&format!(
                    "[{n}/{budget}] {run} {}: {outcome}; {left} candidates left, {bugs} bugs, ETA {eta:.0} s",
                    what.get(run).map_or("", String::as_str)
                ));
                done.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(run.to_string(), m);
            },
        );
        self.search.runs = count.into_inner();
        let mut done = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(ids.iter().map(|id| done.remove(id).flatten()).collect())
    }

    fn save(&self) -> Result<(), SearchError> {
        Ok(self.store.searches().save(&self.search)?)
    }
}

fn describe(plan: &FaultPlan) -> String {
    if plan.faults.is_empty() {
        return "(baseline)".into();
    }
    let faults: Vec<String> = plan.faults.iter().map(Fault::to_string).collect();
    faults.join(" + ")
}

/// Searches `base`'s target for bugs (see the module docs); `progress`
/// gets one line per rerun.
pub fn search(
    store: &Store,
    bop: &Path,
    id: &str,
    base: &str,
    params: SearchParams,
    stop: &AtomicBool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Search, SearchError> {
    bop_store::validate_id(id)?;
    let base_manifest = store.manifest(base)?;
    let base_events = store.events(base)?;
    let graph = CausalGraph::build(&base_events);
    let candidates = candidates::candidates(&graph, &params.faults);
    let plans_dir = store.searches().dir().join(format!("{id}.plans"));
    std::fs::create_dir_all(&plans_dir)
        .map_err(|e| SearchError::Failed(format!("cannot create {}: {e}", plans_dir.display())))?;
    let mut s = Searcher {
        store,
        bop,
        stop,
        progress,
        search: Search {
            id: id.to_string(),
            base: base.to_string(),
            runs: 0,
            bugs: vec![],
            params: params.clone(),
            started_ms: now_ms(),
            ended_ms: None,
            baselines: vec![],
            baseline_failures: 0,
            candidates: candidates.len(),
            supports: 0,
            ended: None,
        },
        plans_dir,
        next_run: 0,
        started: Instant::now(),
        left: candidates.len(),
    };
    s.save()?;
    let mut plan = Plan {
        keys: candidates.iter().map(|c| c.key.clone()).collect(),
        candidates,
        kinds: params.faults.clone(),
        supports: vec![],
        lineages: vec![],
        origins: Origins::default(),
        tried: HashSet::new(),
        failing: vec![],
        flaky: HashSet::new(),
        answers: bop_tracker::lineage::client_deliveries(&graph),
    };
    if base_manifest.verdict == Verdict::Pass {
        plan.learn(store, base);
    }
    baselines(&mut s, &mut plan)?;
    let ended = ldfi(&mut s, &mut plan)?;
    s.search.supports = plan.supports.len();
    s.search.candidates = plan.candidates.len();
    s.search.ended = Some(ended);
    s.search.ended_ms = Some(now_ms());
    s.save()?;
    Ok(s.search)
}

/// Plain reruns: the trace classes of a healthy run, supports, and the
/// natural failure rate of the check.
fn baselines(s: &mut Searcher<'_>, plan: &mut Plan) -> Result<(), SearchError> {
    let n = s.search.params.baselines;
    let results = s.rerun(&vec![FaultPlan::default(); n], &plan.origins)?;
    for m in results.into_iter().flatten() {
        match m.verdict {
            Verdict::Pass => plan.learn(s.store, &m.id),
            Verdict::Fail => {
                s.search.baseline_failures += 1;
                plan.flaky.extend(m.trace_class.clone());
            }
            Verdict::Unknown => {}
        }
        s.search.baselines.push(m.id);
    }
    if s.search.baseline_failures > 0 {
        (s.progress)(&format!(
            "{} of {} baselines failed the check: a flaky check; flips are judged against that rate",
            s.search.baseline_failures,
            s.search.baselines.len()
        ));
    }
    s.save()
}

/// The LDFI loop; returns why it ended.
fn ldfi(s: &mut Searcher<'_>, plan: &mut Plan) -> Result<String, SearchError> {
    let p = s.search.params.clone();
    loop {
        if s.stop.load(Ordering::SeqCst) {
            return Ok("interrupted".into());
        }
        if s.search.runs >= p.budget {
            return Ok(format!("the budget of {} reruns is spent", p.budget));
        }
        let want = p.parallel.max(1).min(p.budget - s.search.runs);
        let n = plan.candidates.len();
        let sets = hitting::next_sets(&plan.supports, n, p.max_faults, &plan.known(), want);
        if sets.is_empty() {
            return Ok(format!(
                "no set of at most {} faults hits every support: within these faults and this budget, none of the {} supports can be cut",
                p.max_faults,
                plan.supports.len()
            ));
        }
        s.left = hitting::remaining(&plan.supports, n, p.max_faults, &plan.known(), 10_000);
        let plans: Vec<FaultPlan> = sets.iter().map(|set| plan.plan_of(set)).collect();
        let results = s.rerun(&plans, &plan.origins)?;
        let found_at = s.search.runs;
        let mut failures = Vec::new();
        for (set, m) in sets.into_iter().zip(results) {
            plan.tried.insert(set.clone());
            let Some(m) = m else { continue };
            match m.verdict {
                Verdict::Pass => plan.learn(s.store, &m.id),
                Verdict::Fail => failures.push((set, m)),
                Verdict::Unknown => {}
            }
        }
        for (set, m) in failures {
            judge(s, plan, set, &m, found_at)?;
        }
        s.search.supports = plan.supports.len();
        s.search.candidates = plan.candidates.len();
        s.save()?;
    }
}

/// Confirms a failing set, minimises it and records the bug (or adds the
/// plan to the bug with the same check output).
fn judge(
    s: &mut Searcher<'_>,
    plan: &mut Plan,
    set: Set,
    first: &Manifest,
    found_at: usize,
) -> Result<(), SearchError> {
    if plan.failing.iter().any(|f| f.is_subset(&set)) {
        return Ok(());
    }
    let p = s.search.params.clone();
    let baseline_rate = s.search.baseline_failures as f64 / s.search.baselines.len().max(1) as f64;
    let reruns = flips::reruns(p.confirm, baseline_rate);
    let results = s.rerun(&vec![plan.plan_of(&set); reruns], &plan.origins)?;
    let failed = results.iter().flatten().filter(|m| plan.counts(m)).count();
    let of = results.iter().flatten().count();
    if !flips::is_flip(failed, of, baseline_rate) {
        (s.progress)(&format!(
            "not confirmed: {} failed {failed} of {of} reruns",
            describe(&plan.plan_of(&set))
        ));
        return Ok(());
    }
    let check = check_line(s.store, first);
    plan.failing.push(set.clone());
    if let Some(bug) = s.search.bugs.iter_mut().find(|b| b.check == check) {
        bug.also.push(plan.plan_of(&set));
        return Ok(());
    }
    let ((kept, shrunk), run, unshrunk_run) = minimise(s, plan, set, &first.id);
    let whole = plan.plan_of(&kept);
    plan.failing.push(kept);
    let (plan_found, confirmed, run) = if shrunk == whole {
        (whole, Confirmed { failed, of }, run)
    } else {
        settle(
            s,
            plan,
            (whole, unshrunk_run),
            shrunk,
            Confirmed { failed, of },
        )
    };
    let parent = plan.origins.parent(&plan_found).map(str::to_string);
    s.search.bugs.push(Bug {
        parent,
        plan: plan_found,
        runs_to_find: found_at,
        confirmed,
        check,
        run,
        also: vec![],
    });
    s.save()
}

/// A delay shrunk to the edge of its window fails only sometimes, and a bug
/// must fail in most reruns (DESIGN "bug"): the shrunk plan must fail in
/// every one of its confirmation reruns, else back off halfway towards the
/// unshrunk delays (twice) until it does; the flip rate reported is the
/// plan's own.
fn settle(
    s: &mut Searcher<'_>,
    plan: &Plan,
    (whole, run): (FaultPlan, String),
    mut shrunk: FaultPlan,
    confirmed: Confirmed,
) -> (FaultPlan, Confirmed, String) {
    let confirm = s.search.params.confirm;
    // Bisection stops at the last delay that failed twice, the very edge:
    // keep a tenth (at least 10 ms) of headroom over it, never past the
    // unshrunk delay.
    for (f, w) in shrunk.faults.iter_mut().zip(&whole.faults) {
        if let (Fault::Delay { ms: Ms::N(a), .. }, Fault::Delay { ms: Ms::N(b), .. }) = (&mut *f, w)
        {
            *a = (*a + (*a / 10).max(10)).min(*b);
        }
    }
    for _ in 0..2 {
        let Ok(results) = s.rerun(&vec![shrunk.clone(); confirm], &plan.origins) else {
            break;
        };
        let failing: Vec<&Manifest> = results
            .iter()
            .flatten()
            .filter(|m| plan.counts(m))
            .collect();
        let of = results.iter().flatten().count();
        // Every rerun, not most: a delay shrunk to the edge of its window
        // that fails 2 of 3 here fails 1 of 3 for the user next time.
        if of > 0 && failing.len() == of {
            let run = failing[0].id.clone();
            return (
                shrunk,
                Confirmed {
                    failed: failing.len(),
                    of,
                },
                run,
            );
        }
        for (f, w) in shrunk.faults.iter_mut().zip(&whole.faults) {
            if let (Fault::Delay { ms: Ms::N(a), .. }, Fault::Delay { ms: Ms::N(b), .. }) =
                (&mut *f, w)
            {
                *a = a.midpoint(*b);
            }
        }
    }
    (whole, confirmed, run)
}

/// Delta-debugs the set, then shrinks each fixed delay; returns the
/// minimal set (for superset skipping) and its shrunk plan, a run that
/// failed with exactly that plan, and one that failed with the set's
/// unshrunk plan.
fn minimise(
    s: &mut Searcher<'_>,
    plan: &Plan,
    set: Set,
    first: &str,
) -> ((Set, FaultPlan), String, String) {
    let mut last = first.to_string();
    // A smaller plan is kept only when it fails in every one of
    // `MINIMISE_REPS` reruns (made at once): a delay shrunk to the very edge
    // of its window, or a set that failed once by luck, would not
    // reproduce when the user reruns the reported plan.
    let fails = |faults: &[Fault], s: &mut Searcher<'_>, last: &mut String| {
        if s.stop.load(Ordering::SeqCst) {
            return None;
        }
        let one = FaultPlan {
            faults: faults.to_vec(),
        };
        let results = s.rerun(&vec![one; MINIMISE_REPS], &plan.origins).ok()?;
        let mut failing = None;
        for m in &results {
            match m {
                Some(m) if plan.counts(m) => failing = Some(m.id.clone()),
                Some(_) => return Some(false),
                None => return None,
            }
        }
        *last = failing?;
        Some(true)
    };
    let members: Vec<usize> = set.iter().copied().collect();
    let kept = minimise::ddmin(members, &mut |sub: &[usize]| {
        let faults: Vec<Fault> = sub
            .iter()
            .map(|&c| plan.candidates[c].fault.clone())
            .collect();
        fails(&faults, s, &mut last)
    });
    let unshrunk_run = last.clone();
    let mut faults: Vec<Fault> = kept
        .iter()
        .map(|&c| plan.candidates[c].fault.clone())
        .collect();
    for i in 0..faults.len() {
        let Fault::Delay {
            message,
            ms: Ms::N(ms),
        } = faults[i].clone()
        else {
            continue;
        };
        let shrunk = minimise::shrink_delay(ms, SHRINK_STEPS, &mut |d| {
            let mut trial = faults.clone();
            trial[i] = Fault::Delay {
                message: message.clone(),
                ms: Ms::N(d.max(1)),
            };
            fails(&trial, s, &mut last)
        });
        faults[i] = Fault::Delay {
            message,
            ms: Ms::N(shrunk.max(1)),
        };
    }
    (
        (kept.into_iter().collect(), FaultPlan { faults }),
        last,
        unshrunk_run,
    )
}

/// The check's first line of output in a failing run, which says which
/// guarantee broke (else the exit status).
fn check_line(store: &Store, m: &Manifest) -> String {
    std::fs::read_to_string(store.root().join(&m.id).join("check.stdout"))
        .ok()
        .and_then(|t| {
            t.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(String::from)
        })
        .unwrap_or_else(|| {
            format!(
                "verdict fail (exit status {})",
                m.exit_status.map_or("?".into(), |s| s.to_string())
            )
        })
}

/// The report `bop search` prints.
pub fn render(s: &Search) -> String {
    let mut out = format!(
        "search {} of run {}: {} reruns ({} baselines, {} failed), {} candidate faults, {} supports\n",
        s.id,
        s.base,
        s.runs,
        s.baselines.len(),
        s.baseline_failures,
        s.candidates,
        s.supports
    );
    if let Some(e) = &s.ended {
        out.push_str(&format!("ended: {e}\n"));
    }
    out.push_str(&format!("{} bugs\n", s.bugs.len()));
    for (k, b) in s.bugs.iter().enumerate() {
        out.push_str(&format!(
            "\nbug {}: {}\n  flip rate {}/{}, found after {} reruns\n  check: {}\n  run: {}   bop diff {} {}\n",
            k + 1,
            describe(&b.plan),
            b.confirmed.failed,
            b.confirmed.of,
            b.runs_to_find,
            b.check,
            b.run,
            s.base,
            b.run
        ));
        if let Some(parent) = &b.parent {
            out.push_str(&format!(
                "  rerun from: {parent} (a fault of the plan names a message only that rerun had)\n"
            ));
        }
        for p in &b.also {
            out.push_str(&format!("  also: {}\n", describe(p)));
        }
    }
    out
}

/// One line per stored search, newest first (`bop searches`).
pub fn table(searches: &[Search]) -> String {
    let mut out = format!(
        "{:<28} {:<24} {:>6} {:>5}  {}\n",
        "ID", "BASE", "RUNS", "BUGS", "ENDED"
    );
    for s in searches {
        out.push_str(&format!(
            "{:<28} {:<24} {:>6} {:>5}  {}\n",
            s.id,
            s.base,
            s.runs,
            s.bugs.len(),
            s.ended.as_deref().unwrap_or("running (or stopped)")
        ));
    }
    out
}
