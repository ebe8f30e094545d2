//! Matching at a traced call's entry: the call's locators are computed
//! ([`Site`]), a stream cut by an earlier drop drops it outright, and
//! otherwise the first armed fault that matches decides what happens.

use std::time::Duration;

use bop_model::{ChannelKind, ConnectMode, Endpoint, is_recv, is_send, is_transfer};

use super::armed::{Armed, jitter, under};
use super::plan::Target;
use super::runtime::Injector;

/// What the tracer does to the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Hold the thread at the entry for this long (`None`: until the end).
    Hold(Option<Duration>),
    /// Skip the call; it "succeeds" with the full length of a send.
    Drop,
    /// Skip the call; it fails with this errno.
    Fail(i32),
}

/// A traced call at its entry, as the tracer knows it then.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// Process id.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// The call's name (`sendto`, `connect`).
    pub call: &'a str,
    /// The channel end its fd refers to, if any.
    pub endpoint: Option<&'a Endpoint>,
    /// The address argument (connect's, sendto's destination), if any.
    pub addr: Option<&'a str>,
    /// Milliseconds into the run.
    pub now_ms: u64,
}

/// What a fault does to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// What the tracer does.
    pub action: Action,
    /// For the event's `injected` field (starting with `drop` for dropped
    /// sends, which the tracker reads).
    pub label: String,
    /// Which fault of the plan (its index).
    pub fault: usize,
}

/// The locators of a call at its entry.
struct Site {
    /// A send on a channel.
    send: bool,
    message: Option<String>,
    direction: Option<String>,
    event: Option<String>,
    process: Option<String>,
    /// A send's receiving process locator, as far as known (a pipe's is
    /// its creator's), or `ext`.
    receiver: Option<String>,
    /// A receive on a channel: the channel end it takes from.
    receive: Option<Endpoint>,
    /// A receive's channel directions that carried messages (for a
    /// channel pattern on a receive call).
    receive_directions: Vec<String>,
}

/// An action and its label, before it is counted on a fault.
type Verdict = Option<(Action, String)>;

impl Injector {
    /// Asked at a traced call's entry: what the plan does to it, if
    /// anything (the first fault that matches decides).
    pub fn on_entry(&mut self, e: &Entry) -> Option<Decision> {
        if self.armed.is_empty() {
            return None;
        }
        let site = self.site(e);
        if let Some(d) = self.stream_cut(&site) {
            return Some(d);
        }
        (0..self.armed.len()).find_map(|i| {
            let (action, label) = self.decide(i, e, &site)?;
            self.count(i, e, &label);
            Some(Decision {
                action,
                label,
                fault: i,
            })
        })
    }

    fn site(&mut self, e: &Entry) -> Site {
        // A transfer's entry carries an endpoint only where a drop can act
        // (its output, when its input is no channel).
        let send = (is_send(e.call) || is_transfer(e.call)) && e.endpoint.is_some();
        let receive = e.endpoint.filter(|_| is_recv(e.call));
        let (message, direction) = match e.endpoint.filter(|_| send) {
            Some(ep) => (
                self.locator.peek_message(e.pid, ep, e.addr),
                self.locator.peek_direction(e.pid, ep, e.addr),
            ),
            None => (None, None),
        };
        Site {
            send,
            message,
            direction,
            event: self.locator.peek_event(e.tid, e.call),
            process: self.locator.process(e.pid).map(str::to_string),
            receiver: e
                .endpoint
                .filter(|_| send)
                .map(|ep| self.locator.peer(ep.kind, ep.peer.as_deref().or(e.addr))),
            receive: receive.cloned(),
            receive_directions: receive
                .map(|ep| self.locator.receive_directions(e.pid, ep))
                .unwrap_or_default(),
        }
    }

    /// A send in a stream direction an earlier drop cut: dropped too, and
    /// counted on that drop.
    fn stream_cut(&mut self, site: &Site) -> Option<Decision> {
        let fault = *self.cut.get(site.direction.as_ref()?)?;
        self.records[fault].count += 1;
        Some(Decision {
            action: Action::Drop,
            label: "drop (stream cut by an earlier drop)".into(),
            fault,
        })
    }

    /// Whether fault `i` acts on the call, and how.
    fn decide(&mut self, i: usize, e: &Entry, site: &Site) -> Verdict {
        let unfired = !self.records[i].fired;
        let at = |t: &Target| matches!(t, Target::Message(m) if site.message.as_ref() == Some(m));
        match &self.armed[i] {
            Armed::Delay { target, hold } if unfired && at(target) => {
                let label = hold.map_or("delay inf".to_string(), |h| {
                    format!("delay {} ms", h.as_millis())
                });
                Some((Action::Hold(*hold), label))
            }
            Armed::Drop { target } if unfired && at(target) => {
                self.cut_stream(i, e, site);
                Some((Action::Drop, "drop".to_string()))
            }
            Armed::Error { .. } if unfired => self.match_error(i, e, site),
            Armed::Crash {
                process,
                name,
                active: true,
                kill: false,
                ..
            } if site.send
                && site.process.as_deref().is_some_and(|x| under(x, process))
                && !site.receiver.as_deref().is_some_and(|x| under(x, process)) =>
            {
                // Fail-silent: only what leaves the crashed tree is lost;
                // its own processes (a shell and its `$(...)`) still talk.
                Some((Action::Drop, format!("drop (crash of {name})")))
            }
            Armed::Jitter { max_ms, seed } => {
                let d = jitter(*seed, site.message.as_deref()?) % (*max_ms + 1);
                (d > 0).then(|| {
                    let hold = Action::Hold(Some(Duration::from_millis(d)));
                    (hold, format!("jitter {d} ms"))
                })
            }
            Armed::Partition { .. } => self.match_partition(i, e, site),
            _ => None,
        }
    }

    /// A dropped message on a stream cuts its direction for good (a stream
    /// cannot have holes).
    fn cut_stream(&mut self, i: usize, e: &Entry, site: &Site) {
        if let (Some(d), Some(ep)) = (&site.direction, e.endpoint) {
            if ep.stream {
                self.cut.insert(d.clone(), i);
            }
        }
    }

    /// Whether error fault `i` fails the call: its event, its channel's
    /// connect, its message's send, the receive that takes its message's
    /// first bytes, or the nth call of its pattern.
    fn match_error(&mut self, i: usize, e: &Entry, site: &Site) -> Verdict {
        let Armed::Error { target, errno, .. } = &self.armed[i] else {
            return None;
        };
        let errno = *errno;
        let hit = match target {
            Target::Event(ev) => site.event.as_ref() == Some(ev),
            Target::Message(m) => site.send && site.message.as_ref() == Some(m),
            Target::Connect(c) => {
                e.call == "connect"
                    && e.addr
                        .and_then(|a| self.locator.peek_connect(e.pid, a))
                        .as_ref()
                        == Some(c)
            }
            Target::Receive(m) => site
                .receive
                .as_ref()
                .is_some_and(|ep| self.locator.takes_first(e.pid, ep, m)),
            Target::Pattern { .. } => self.pattern_hit(i, e, site),
            Target::Never(_) => false,
        };
        let label = format!("error {}", bop_model::errno_name(errno));
        hit.then_some((Action::Fail(errno), label))
    }

    /// Whether the call matches error fault `i`'s pattern, counting it if
    /// so: true at the nth match. A channel matches a send in either
    /// direction; with a receive call, a receive on the channel.
    fn pattern_hit(&mut self, i: usize, e: &Entry, site: &Site) -> bool {
        let Armed::Error {
            target:
                Target::Pattern {
                    process,
                    call,
                    direction,
                    nth,
                },
            seen,
            ..
        } = &mut self.armed[i]
        else {
            return false;
        };
        let on_receive = call.as_deref().is_some_and(is_recv);
        let matches = process
            .as_ref()
            .is_none_or(|p| site.process.as_deref().is_some_and(|x| under(x, p)))
            && call.as_ref().is_none_or(|c| c == e.call)
            && direction.as_ref().is_none_or(|d| {
                let mut wanted = d.split('|');
                if on_receive {
                    wanted.any(|y| site.receive_directions.iter().any(|x| x == y))
                } else {
                    site.direction
                        .as_ref()
                        .is_some_and(|x| wanted.any(|y| y == x))
                }
            });
        if matches {
            *seen += 1;
        }
        matches && *seen == *nth + 1
    }

    /// A partition acts on sends and connects between its groups while it
    /// is active: sends are dropped, connects refused, timed out or hung.
    fn match_partition(&mut self, i: usize, e: &Entry, site: &Site) -> Verdict {
        let connecting = e.call == "connect";
        let (kind, peer) = match e.endpoint {
            _ if connecting => (Some(ChannelKind::Tcp), e.addr),
            Some(ep) if site.send => (ep.kind, ep.peer.as_deref().or(e.addr)),
            _ => (None, None),
        };
        let other = peer.map(|p| self.locator.peer(kind, Some(p)));
        let Armed::Partition { a, b, connect, .. } = &self.armed[i] else {
            return None;
        };
        let crossing = match (&site.process, &other) {
            (Some(s), Some(o)) => crosses(s, o, a, b),
            _ => false,
        };
        let connect = *connect;
        if !crossing || !self.partition_active(i, e) {
            return None;
        }
        if !connecting {
            return Some((Action::Drop, "drop (partition)".into()));
        }
        Some(match connect {
            ConnectMode::Refuse => (
                Action::Fail(libc::ECONNREFUSED),
                "error ECONNREFUSED (partition)".into(),
            ),
            ConnectMode::Timeout => (
                Action::Fail(libc::ETIMEDOUT),
                "error ETIMEDOUT (partition)".into(),
            ),
            ConnectMode::Hang => {
                // Until the partition heals (or the run ends).
                let until_heal = self
                    .heal_at(i)
                    .map(|h| Duration::from_millis(h.saturating_sub(e.now_ms)));
                (Action::Hold(until_heal), "hang (partition)".into())
            }
        })
    }

    /// True while partition `i` is active at `e`; a timed partition starts
    /// here if its time has come, and fires at its first active call.
    fn partition_active(&mut self, i: usize, e: &Entry) -> bool {
        let Armed::Partition {
            after,
            after_ms,
            heal_ms,
            since_ms,
            ..
        } = &mut self.armed[i]
        else {
            return false;
        };
        if since_ms.is_none() && after.is_none() && e.now_ms >= after_ms.unwrap_or(0) {
            // A timed partition starts at its time, not at the first call
            // that crosses it, so heal_ms counts from there.
            *since_ms = Some(after_ms.unwrap_or(0));
        }
        let Some(since) = *since_ms else { return false };
        let healed = heal_ms.is_some_and(|h| e.now_ms >= since + h);
        if !healed && !self.records[i].fired {
            self.fire(i, "partitioned".into(), e.pid, e.tid, e.call, e.now_ms);
            self.records[i].count = 0;
        }
        !healed
    }

    /// When partition `i` heals (ms into the run), if it is active and heals.
    fn heal_at(&self, i: usize) -> Option<u64> {
        match &self.armed[i] {
            Armed::Partition {
                since_ms: Some(since),
                heal_ms: Some(h),
                ..
            } => Some(since + h),
            _ => None,
        }
    }

    /// Counts a decision on fault `i`: the first one fires it (a
    /// partition fired when it became active).
    fn count(&mut self, i: usize, e: &Entry, label: &str) {
        if matches!(self.armed[i], Armed::Partition { .. }) {
            self.records[i].count += 1;
        } else {
            self.fire(i, label.to_string(), e.pid, e.tid, e.call, e.now_ms);
        }
    }
}

/// True when `s` and `o` are on opposite sides of groups `a` and `b`.
fn crosses(s: &str, o: &str, a: &[String], b: &[String]) -> bool {
    let side = |x: &str, g: &[String]| g.iter().any(|m| under(x, m));
    (side(s, a) && side(o, b)) || (side(s, b) && side(o, a))
}
