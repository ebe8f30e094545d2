//! Vector clocks and Lamport times of the causal graph, computed in
//! topological order so happens-before queries are O(log threads). The
//! clocks are computed on the first query (`CausalGraph::clocks`), the
//! Lamport times by the build.
//!
//! Clocks are sparse and shared: an event's own component is implied by
//! its position in its thread, and events of a thread share their
//! predecessor's clock (an `Arc`) until a cross edge comes in. Memory is
//! then one pointer per event plus, per cross-edge target, one clock as
//! wide as the number of threads it has heard of.

use std::sync::Arc;

use petgraph::Direction;
use petgraph::visit::EdgeRef;

use super::{Dag, EdgeKind, node};
use crate::names::Names;

/// Every event's vector clock.
#[derive(Clone, Debug)]
pub(super) struct Clocks {
    /// Per event: its vector clock without its own component.
    sparse: Vec<Sparse>,
}

impl Clocks {
    /// Computes the clocks of an acyclic graph, given in topological order.
    pub(super) fn compute(graph: &Dag, names: &Names, topo: &[usize]) -> Clocks {
        Clocks {
            sparse: clocks(graph, names, topo),
        }
    }

    /// The non-zero components of event `i`'s vector clock as
    /// (thread index, count), by thread index.
    pub(super) fn entries(&self, names: &Names, i: usize) -> Vec<(usize, u32)> {
        let own = names.thread_of(i) as u32;
        let mut out: Vec<(usize, u32)> = self.sparse[i]
            .iter()
            .filter(|(t, _)| *t != own)
            .map(|&(t, k)| (t as usize, k))
            .collect();
        let at = out.partition_point(|&(t, _)| t < own as usize);
        out.insert(at, (own as usize, names.position(i) as u32 + 1));
        out
    }

    /// Component `t` of event `i`'s vector clock.
    pub(super) fn component(&self, names: &Names, i: usize, t: usize) -> u32 {
        if t == names.thread_of(i) {
            return names.position(i) as u32 + 1;
        }
        let c = &self.sparse[i];
        match c.binary_search_by_key(&(t as u32), |&(x, _)| x) {
            Ok(k) => c[k].1,
            Err(_) => 0,
        }
    }
}

/// A sparse vector clock: (thread index, count) sorted by thread. Events
/// of a thread share their predecessor's clock (an `Arc`) until a cross edge
/// comes in, and the event's own component is implied by its position, so
/// a run with thousands of short-lived children does not cost
/// events × threads memory.
type Sparse = Arc<[(u32, u32)]>;

/// Lamport times of an acyclic graph, given in topological order: 1 + the
/// longest chain of events before each.
pub(super) fn lamport(graph: &Dag, topo: &[usize]) -> Vec<u32> {
    let mut lamport = vec![0u32; graph.node_count()];
    for &v in topo {
        let l = graph
            .neighbors_directed(node(v), Direction::Incoming)
            .map(|u| lamport[u.index()])
            .max()
            .unwrap_or(0);
        lamport[v] = l + 1;
    }
    lamport
}

/// Vector clocks, in topological order.
fn clocks(graph: &Dag, names: &Names, topo: &[usize]) -> Vec<Sparse> {
    let empty: Sparse = Arc::from(Vec::new());
    let mut clocks: Vec<Sparse> = vec![empty.clone(); names.order.len()];
    for &v in topo {
        let mut pred: Option<usize> = None;
        let mut cross: Vec<usize> = Vec::new();
        for e in graph.edges_directed(node(v), Direction::Incoming) {
            let u = e.source().index();
            if e.weight().kind() == EdgeKind::Program {
                pred = Some(u);
            } else {
                cross.push(u);
            }
        }
        let base = pred.map_or_else(|| empty.clone(), |p| clocks[p].clone());
        if cross.is_empty() {
            clocks[v] = base;
            continue;
        }
        let mut acc: Vec<(u32, u32)> = base.to_vec();
        for u in cross {
            let own = (names.thread_of(u) as u32, names.position(u) as u32 + 1);
            acc = merge(&acc, &clocks[u], own);
        }
        clocks[v] = Arc::from(acc);
    }
    clocks
}

/// Component-wise max of two sparse clocks, plus one extra component.
fn merge(a: &[(u32, u32)], b: &[(u32, u32)], extra: (u32, u32)) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j) = (0, 0);
    loop {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x.0 == y.0 => {
                i += 1;
                j += 1;
                (x.0, x.1.max(y.1))
            }
            (Some(&x), Some(&y)) if x.0 < y.0 => {
                i += 1;
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => break,
        };
        out.push(next);
    }
    let (t, k) = extra;
    match out.binary_search_by_key(&t, |&(x, _)| x) {
        Ok(p) => out[p].1 = out[p].1.max(k),
        Err(p) => out.insert(p, (t, k)),
    }
    out
}
