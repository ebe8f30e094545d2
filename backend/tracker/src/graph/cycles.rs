//! The cycle guard: happens-before is a partial order, so a cycle in the
//! graph can only come from an inferred edge that a damaged log made wrong.
//! The most doubtful cross edge of each cycle is removed (and reported)
//! until a topological order exists.

use std::collections::{HashMap, VecDeque};

use petgraph::Direction;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use super::{Dag, Edge};

/// Returns a topological order, removing the most doubtful cross edge of
/// each cycle first: happens-before is a partial order, so a cycle can only
/// come from an inferred edge that a damaged log made wrong.
pub(super) fn break_cycles(graph: &mut Dag) -> (Vec<usize>, Vec<(usize, usize, Edge)>) {
    let mut broken = Vec::new();
    loop {
        if let Ok(order) = toposort(&*graph, None) {
            return (order.into_iter().map(NodeIndex::index).collect(), broken);
        }
        let scc = tarjan_scc(&*graph).into_iter().find(|c| c.len() > 1);
        let Some(start) = scc.and_then(|c| c.first().copied()) else {
            return (Vec::new(), broken);
        };
        // BFS from `start` back to itself gives the edges of one cycle.
        let mut via: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut closing = None;
        'bfs: while let Some(v) = queue.pop_front() {
            for e in graph.edges_directed(v, Direction::Outgoing) {
                let w = e.target();
                if w == start {
                    closing = Some(e.id());
                    break 'bfs;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = via.entry(w) {
                    slot.insert(e.id());
                    queue.push_back(w);
                }
            }
        }
        let mut cycle = Vec::new();
        let mut e = closing.expect("a strongly connected node lies on a cycle");
        loop {
            cycle.push(e);
            let (src, _) = graph.edge_endpoints(e).expect("edge exists");
            if src == start {
                break;
            }
            e = via[&src];
        }
        let worst = cycle
            .into_iter()
            .max_by_key(|&e| graph[e].kind().doubt())
            .expect("a cycle has edges");
        let (a, b) = graph.edge_endpoints(worst).expect("edge exists");
        let w = graph.remove_edge(worst).expect("edge exists");
        broken.push((a.index(), b.index(), w.edge()));
    }
}
