//! The rerun tree of one run: its reruns, their reruns, and so on, each with
//! its fault plan and verdict, plus the chain of runs it descends from. A
//! branching history in the manner of Oddity: every edge is "this rerun
//! changed that run by these faults", and the workbench puts a comparison
//! link on each.
//!
//! Pure over manifests (the `parent` field is the only link), so the
//! server builds it from one [`crate::Store::scan`] and tests need no
//! files. A store edited by hand may hold a parent loop; each run is
//! placed at most once, so a loop ends the walk instead of hanging it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use bop_model::{FaultRecord, Manifest, RunStatus, Verdict};

/// One run of the tree.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TreeNode {
    /// Run id.
    pub id: String,
    /// Its parent (`None` for the root when it is not a rerun).
    pub parent: Option<String>,
    /// Wall-clock start, ms since the epoch (children are in this order).
    pub started_ms: u64,
    /// running / done / failed.
    pub status: RunStatus,
    /// pass / fail / unknown.
    pub verdict: Verdict,
    /// Trace class, when computed.
    pub trace_class: Option<String>,
    /// The fault plan and what each fault did (empty for a plain run).
    pub faults: Vec<FaultRecord>,
    /// Its reruns, oldest first.
    pub children: Vec<TreeNode>,
}

/// The tree under one run.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RerunTree {
    /// The runs above the root, its topmost ancestor first (those the
    /// store still has).
    pub ancestors: Vec<String>,
    /// The run asked for and everything rerun from it.
    pub root: TreeNode,
    /// Runs in the tree, the root included.
    pub size: usize,
    /// Levels of reruns under the root (0: it has none).
    pub depth: usize,
}

/// The rerun tree of run `id` among `runs`, or `None` when `runs` has no
/// run `id`.
pub fn rerun_tree(runs: &[Manifest], id: &str) -> Option<RerunTree> {
    let by_id: HashMap<&str, &Manifest> = runs.iter().map(|m| (m.id.as_str(), m)).collect();
    let root = *by_id.get(id)?;
    let mut children: HashMap<&str, Vec<&Manifest>> = HashMap::new();
    for m in runs {
        if let Some(p) = m.parent.as_deref() {
            children.entry(p).or_default().push(m);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| {
            a.started_ms
                .cmp(&b.started_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    let mut placed = HashSet::new();
    let mut ancestors = Vec::new();
    let mut up = root.parent.as_deref();
    placed.insert(root.id.as_str());
    while let Some(p) = up.and_then(|p| by_id.get(p)) {
        if !placed.insert(p.id.as_str()) {
            break;
        }
        ancestors.push(p.id.clone());
        up = p.parent.as_deref();
    }
    ancestors.reverse();
    let (node, size, depth) = build(root, &children, &mut placed);
    Some(RerunTree {
        ancestors,
        root: node,
        size,
        depth,
    })
}

/// The node of `m` with its subtree, how many runs it holds and its depth.
/// Recursion depth is the number of rerun levels, which reruns of reruns
/// made by hand keep small; `placed` stops loops.
fn build<'a>(
    m: &'a Manifest,
    children: &HashMap<&str, Vec<&'a Manifest>>,
    placed: &mut HashSet<&'a str>,
) -> (TreeNode, usize, usize) {
    let mut size = 1;
    let mut depth = 0;
    let mut kids = Vec::new();
    for c in children.get(m.id.as_str()).into_iter().flatten() {
        if !placed.insert(c.id.as_str()) {
            continue;
        }
        let (node, s, d) = build(c, children, placed);
        size += s;
        depth = depth.max(d + 1);
        kids.push(node);
    }
    let node = TreeNode {
        id: m.id.clone(),
        parent: m.parent.clone(),
        started_ms: m.started_ms,
        status: m.status,
        verdict: m.verdict,
        trace_class: m.trace_class.clone(),
        faults: m.faults.clone(),
        children: kids,
    };
    (node, size, depth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bop_model::Target;

    fn run(id: &str, parent: Option<&str>, started_ms: u64, verdict: Verdict) -> Manifest {
        Manifest {
            status: RunStatus::Done,
            verdict,
            parent: parent.map(str::to_string),
            ..Manifest::new(
                id,
                Target::Command {
                    argv: vec!["true".into()],
                    cwd: "/".into(),
                },
                "true",
                started_ms,
            )
        }
    }

    fn ids(n: &TreeNode) -> Vec<&str> {
        n.children.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn the_tree_holds_reruns_of_reruns_oldest_first_with_the_ancestors() {
        let runs = vec![
            run("base", None, 1, Verdict::Pass),
            run("b", Some("base"), 30, Verdict::Fail),
            run("a", Some("base"), 20, Verdict::Pass),
            run("a1", Some("a"), 40, Verdict::Fail),
            run("a1x", Some("a1"), 50, Verdict::Unknown),
            run("other", None, 2, Verdict::Pass),
        ];
        let t = rerun_tree(&runs, "base").unwrap();
        assert_eq!((t.size, t.depth, t.ancestors.len()), (5, 3, 0));
        assert_eq!(ids(&t.root), vec!["a", "b"]);
        assert_eq!(ids(&t.root.children[0]), vec!["a1"]);
        assert_eq!(
            t.root.children[0].children[0].children[0].verdict,
            Verdict::Unknown
        );
        // From the middle: the chain above, the subtree below.
        let t = rerun_tree(&runs, "a1").unwrap();
        assert_eq!(t.ancestors, vec!["base", "a"]);
        assert_eq!((t.size, t.depth), (2, 1));
        assert_eq!(t.root.parent.as_deref(), Some("a"));
        // A run without reruns is a tree of one; a missing run has none.
        let t = rerun_tree(&runs, "other").unwrap();
        assert_eq!((t.size, t.depth, t.root.children.len()), (1, 0, 0));
        assert!(rerun_tree(&runs, "nope").is_none());
    }

    #[test]
    fn a_parent_loop_or_a_missing_parent_ends_the_walk() {
        let runs = vec![
            run("x", Some("y"), 1, Verdict::Pass),
            run("y", Some("x"), 2, Verdict::Pass),
            run("orphan", Some("deleted"), 3, Verdict::Pass),
        ];
        let t = rerun_tree(&runs, "x").unwrap();
        assert_eq!(t.ancestors, vec!["y"]);
        assert_eq!(
            (t.size, t.depth),
            (1, 0),
            "y is placed once: above x, not again below it"
        );
        let t = rerun_tree(&runs, "orphan").unwrap();
        assert!(t.ancestors.is_empty());
    }
}
