//! Translating a fault plan through the parent run: logical names become
//! the run-independent locators the tracer can compute online.

use std::collections::HashMap;

use bop_model::{Event, PlanError};
use bop_tracker::CausalGraph;

use super::locator::Locator;
use super::names::Known;

/// A fault translated into locators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// Matches the send with this message locator.
    Message(String),
    /// Matches the event with this event locator.
    Event(String),
    /// Matches the connect with this connect locator.
    Connect(String),
    /// Matches the receive that takes the first bytes of the message with
    /// this locator.
    Receive(String),
    /// Matches the nth call matching a pattern.
    Pattern {
        process: Option<String>,
        call: Option<String>,
        direction: Option<String>,
        nth: usize,
    },
    /// Named something that could occur but did not in the parent run.
    Never(String),
}

/// The parent run's names and locators.
pub(super) struct Translation {
    messages: HashMap<String, String>,
    events: HashMap<String, String>,
    processes: HashMap<String, String>,
    channels: HashMap<String, Vec<String>>,
    /// The connect locator of each channel a connect opened.
    connects: HashMap<String, String>,
    /// Every process and channel name, to refuse names that cannot occur.
    known: Known,
}

impl Translation {
    /// Builds the name → locator tables of a recorded run.
    pub(super) fn of(events: &[Event]) -> Translation {
        let graph = CausalGraph::build(events);
        let mut locator = Locator::default();
        let mut event_loc = vec![None; events.len()];
        let mut connect_loc = vec![None; events.len()];
        let mut message_loc = vec![None; events.len()];
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| events[i].seq);
        for i in order {
            if let (true, Some(addr)) = (events[i].call == "connect", &events[i].detail.addr) {
                connect_loc[i] = locator.peek_connect(events[i].pid, addr);
            }
            let (e, m) = locator.observe(&events[i]);
            event_loc[i] = e;
            message_loc[i] = m;
        }
        let mut t = Translation {
            messages: HashMap::new(),
            events: HashMap::new(),
            processes: HashMap::new(),
            channels: HashMap::new(),
            connects: HashMap::new(),
            known: Known::default(),
        };
        for c in graph.channels() {
            if let Some(loc) = c.created_by.and_then(|i| connect_loc[i].clone()) {
                t.connects.insert(c.name.clone(), loc);
            }
        }
        t.known.channels = graph.channels().iter().map(|c| c.name.clone()).collect();
        for m in graph.messages() {
            if let Some(loc) = &message_loc[m.send] {
                t.messages.insert(m.name.clone(), loc.clone());
                let dir = loc
                    .rsplit_once('/')
                    .map_or(loc.clone(), |(d, _)| d.to_string());
                let channel = graph.channels()[m.channel].name.clone();
                let dirs = t.channels.entry(channel).or_default();
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        }
        for (i, loc) in event_loc.iter().enumerate() {
            if let Some(loc) = loc {
                t.events.insert(graph.event_name(i), loc.clone());
            }
        }
        for p in graph.processes() {
            if let Some(key) = locator.process(p.pid) {
                t.processes.insert(p.name.clone(), key.to_string());
            }
            t.known.processes.insert(p.name.clone());
        }
        t
    }

    /// The locators of the parent run's processes.
    pub(super) fn process_locators(&self) -> std::collections::HashSet<String> {
        self.processes.values().cloned().collect()
    }

    pub(super) fn process(&self, name: &str) -> Result<String, PlanError> {
        self.processes.get(name).cloned().ok_or_else(|| {
            let mut known: Vec<&str> = self.processes.keys().map(String::as_str).collect();
            known.sort();
            PlanError(format!(
                "no process '{name}' in the run (processes: {})",
                known.join(", ")
            ))
        })
    }

    /// The message's locator; a message that could occur but did not in
    /// the parent run never fires, a name that cannot occur is an error.
    pub(super) fn message(&self, name: &str) -> Result<Target, PlanError> {
        Ok(match self.messages.get(name) {
            Some(l) => Target::Message(l.clone()),
            None => {
                self.known.message(name)?;
                Target::Never(format!("message '{name}' did not occur in the parent run"))
            }
        })
    }

    /// The first receive of a message, as [`Self::message`] for its send.
    pub(super) fn receive(&self, name: &str) -> Result<Target, PlanError> {
        Ok(match self.message(name)? {
            Target::Message(l) => Target::Receive(l),
            other => other,
        })
    }

    /// The locator of the connect that opened a channel, as
    /// [`Self::message`] for messages.
    pub(super) fn connect(&self, channel: &str) -> Result<Target, PlanError> {
        Ok(match self.connects.get(channel) {
            Some(l) => Target::Connect(l.clone()),
            None => {
                if !self.known.channels.contains(channel) {
                    // A channel has the form of a message without `/N`.
                    self.known
                        .message(&format!("{channel}/0"))
                        .map_err(|_| PlanError(format!("'{channel}' is not a channel that can occur in a rerun (A->B#K, e.g. client->server#0)")))?;
                }
                Target::Never(format!(
                    "no connect opened channel '{channel}' in the parent run"
                ))
            }
        })
    }

    /// The event's locator, as [`Self::message`] for messages.
    pub(super) fn event(&self, name: &str) -> Result<Target, PlanError> {
        Ok(match self.events.get(name) {
            Some(l) => Target::Event(l.clone()),
            None => {
                self.known.event(name)?;
                Target::Never(format!("event '{name}' did not occur in the parent run"))
            }
        })
    }

    pub(super) fn channel(&self, name: &str) -> Result<Vec<String>, PlanError> {
        self.channels
            .get(name)
            .cloned()
            .ok_or_else(|| PlanError(format!("no channel '{name}' carried messages in the run")))
    }
}
