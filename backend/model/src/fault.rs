//! Faults and fault plans in logical names (DESIGN.md "Fault semantics"),
//! and the record of what each fault did in a run. Parsing and the checks
//! that need no run live here; translating a plan through a parent run into
//! locators is the injector's job.

use serde::{Deserialize, Serialize};

use crate::call::is_recorded_call;
use crate::errno::errno_number as errno_lookup;

/// A plan that cannot be used, as one sentence.
#[derive(Debug, thiserror::Error)]
#[error("fault plan: {0}")]
pub struct PlanError(pub String);

/// The faults of one run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// In the order they are checked.
    #[serde(default, alias = "fault")]
    pub faults: Vec<Fault>,
}

/// A duration in milliseconds, or `"inf"`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Ms {
    /// Milliseconds.
    N(u64),
    /// `"inf"` (anything else is rejected by validation).
    Word(String),
}

impl Ms {
    /// `None` for infinity.
    pub fn millis(&self) -> Result<Option<u64>, PlanError> {
        match self {
            Ms::N(n) => Ok(Some(*n)),
            Ms::Word(w) if w == "inf" => Ok(None),
            Ms::Word(w) => Err(PlanError(format!(
                "'{w}' is not a duration (use milliseconds or \"inf\")"
            ))),
        }
    }
}

/// What a partition does to new connections between its groups.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ConnectMode {
    /// connect fails with ECONNREFUSED.
    #[default]
    Refuse,
    /// connect fails with ETIMEDOUT.
    Timeout,
    /// connect hangs until the partition heals (or the run ends).
    Hang,
}

/// One fault, in logical names.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fault {
    /// Hold a message's send for `ms` (or forever).
    Delay {
        /// Message name.
        message: String,
        /// How long.
        ms: Ms,
    },
    /// The send succeeds, the bytes never arrive.
    Drop {
        /// Message name.
        message: String,
    },
    /// Skip a call and fail it with an errno. The call is named by one of:
    /// an event, the connect that opens a channel, the send of a message,
    /// the first receive of a message, or
    /// a pattern (process, call, channel, nth). A message names the call
    /// the same way in every rerun, whichever thread makes it (a Go
    /// program's goroutines move between OS threads); an event does not.
    Error {
        /// Exact event name (or use the pattern fields).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<String>,
        /// The connect that opens this channel (`client->primary#0`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connect: Option<String>,
        /// The send of this message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        send: Option<String>,
        /// The receive that would take this message's first bytes: the
        /// receiver's first receive on the message's channel once it has
        /// taken every byte sent before the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receive: Option<String>,
        /// Pattern: process name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<String>,
        /// Pattern: system call name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<String>,
        /// Pattern: channel name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<String>,
        /// Pattern: which matching occurrence (0 = first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nth: Option<usize>,
        /// Errno name, e.g. `ECONNRESET`.
        errno: String,
    },
    /// A process stops being heard (or is killed).
    Crash {
        /// Process name.
        process: String,
        /// From this event on (else from the start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// From the send of this message on (instead of `after`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_send: Option<String>,
        /// SIGKILL the process tree instead of silencing it.
        #[serde(default)]
        kill: bool,
    },
    /// Every send is held a pseudo-random 0..=max_ms, drawn from `seed` and
    /// the message's locator, so the same seed gives the same delays
    /// whatever the interleaving (used by `bop explore --jitter`).
    Jitter {
        /// Largest delay.
        max_ms: u64,
        /// Seed of the draw.
        seed: u64,
    },
    /// Messages between two groups of processes stop arriving.
    Partition {
        /// The two groups of process names.
        groups: [Vec<String>; 2],
        /// Start after this event...
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// ...or after the send of this message...
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_send: Option<String>,
        /// ...or after this many ms of the run (else from the start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_ms: Option<u64>,
        /// Heal after this many ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heal_ms: Option<u64>,
        /// What new connections across do.
        #[serde(default)]
        connect: ConnectMode,
    },
}

/// The call an error fault names by a name (the other way is the pattern
/// of process, call, channel and nth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorCall {
    /// An exact event name.
    Event(String),
    /// The connect that opens this channel.
    Connect(String),
    /// The send of this message.
    Send(String),
    /// The first receive of this message.
    Receive(String),
}

impl Fault {
    /// An error fault with `errno` on the call `on` names.
    pub fn error_on(on: ErrorCall, errno: &str) -> Fault {
        let (mut event, mut connect, mut send, mut receive) = (None, None, None, None);
        match on {
            ErrorCall::Event(e) => event = Some(e),
            ErrorCall::Connect(c) => connect = Some(c),
            ErrorCall::Send(m) => send = Some(m),
            ErrorCall::Receive(m) => receive = Some(m),
        }
        Fault::Error {
            event,
            connect,
            send,
            receive,
            process: None,
            call: None,
            channel: None,
            nth: None,
            errno: errno.to_string(),
        }
    }
}

/// One line per fault, in the CLI's vocabulary (`drop client->primary#0/r1`).
impl std::fmt::Display for Fault {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Fault::Delay { message, ms } => match ms {
                Ms::N(n) => format!("delay {message} by {n} ms"),
                Ms::Word(w) => format!("delay {message} by {w}"),
            },
            Fault::Drop { message } => format!("drop {message}"),
            Fault::Error {
                event,
                connect,
                send,
                receive,
                process,
                call,
                channel,
                nth,
                errno,
            } => {
                let target = match (event, connect, send, receive) {
                    (Some(e), ..) => e.clone(),
                    (_, Some(c), ..) => format!("the connect of {c}"),
                    (_, _, Some(m), _) => format!("the send of {m}"),
                    (.., Some(m)) => format!("the first receive of {m}"),
                    _ => {
                        let mut parts = Vec::new();
                        parts.extend(process.as_ref().map(|p| format!("process {p}")));
                        parts.extend(call.as_ref().map(|c| format!("call {c}")));
                        parts.extend(channel.as_ref().map(|c| format!("channel {c}")));
                        parts.extend(nth.map(|n| format!("occurrence {n}")));
                        parts.join(", ")
                    }
                };
                format!("error {errno} on {target}")
            }
            Fault::Crash {
                process,
                after,
                after_send,
                kill,
            } => {
                let how = if *kill { "kill" } else { "crash" };
                match (after, after_send) {
                    (Some(a), _) => format!("{how} {process} after {a}"),
                    (_, Some(m)) => format!("{how} {process} after the send of {m}"),
                    _ => format!("{how} {process}"),
                }
            }
            Fault::Jitter { max_ms, seed } => {
                format!("jitter every send by 0..={max_ms} ms (seed {seed})")
            }
            Fault::Partition {
                groups,
                after,
                after_send,
                after_ms,
                heal_ms,
                ..
            } => {
                let mut s = format!(
                    "partition {} | {}",
                    groups[0].join(","),
                    groups[1].join(",")
                );
                if let Some(a) = after {
                    s.push_str(&format!(" after {a}"));
                }
                if let Some(m) = after_send {
                    s.push_str(&format!(" after the send of {m}"));
                }
                if let Some(ms) = after_ms {
                    s.push_str(&format!(" after {ms} ms"));
                }
                if let Some(ms) = heal_ms {
                    s.push_str(&format!(", heals after {ms} ms"));
                }
                s
            }
        };
        out.write_str(&text)
    }
}

/// Where a fault fired.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Fired {
    /// Logical name of the event in this run (filled after the run).
    #[serde(default)]
    pub event: Option<String>,
    /// Recording order of the event.
    pub seq: Option<u64>,
    /// Process and thread ids.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// The system call.
    pub call: String,
    /// Milliseconds into the run.
    pub at_ms: u64,
}

/// A fault and what became of it (stored in the manifest).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultRecord {
    /// The fault as planned.
    pub fault: Fault,
    /// Whether it fired.
    pub fired: bool,
    /// Where (first time).
    #[serde(default)]
    pub at: Option<Fired>,
    /// What it did, or why it did not fire.
    pub effect: String,
    /// How many calls it affected.
    #[serde(default)]
    pub count: u64,
}

impl FaultPlan {
    /// Parses TOML or JSON (by the first non-space character).
    pub fn parse(text: &str) -> Result<FaultPlan, PlanError> {
        let plan: FaultPlan = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PlanError(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| PlanError(e.message().to_string()))?
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Checks what can be checked without a run: errnos, durations,
    /// partition shape.
    pub fn validate(&self) -> Result<(), PlanError> {
        for f in &self.faults {
            match f {
                Fault::Delay { ms, .. } if ms.millis()? == Some(0) => {
                    return Err(PlanError(
                        "a delay of 0 ms does nothing (use at least 1, or \"inf\")".into(),
                    ));
                }
                Fault::Error {
                    event,
                    connect,
                    send,
                    receive,
                    process,
                    call,
                    channel,
                    nth,
                    errno,
                } => {
                    planned_errno(errno)?;
                    if let Some(c) = call {
                        if !is_recorded_call(c) {
                            return Err(PlanError(format!(
                                "'{c}' is not a system call bop records (see docs/EVENTS.md)"
                            )));
                        }
                    }
                    let pattern = process.is_some() || call.is_some() || channel.is_some();
                    let named = [
                        event.is_some(),
                        connect.is_some(),
                        send.is_some(),
                        receive.is_some(),
                        pattern,
                    ];
                    match named.iter().filter(|&&n| n).count() {
                        0 => return Err(PlanError(
                            "an error fault needs an event or a pattern (process, call, channel), or a channel's connect, or a message's send or receive"
                                .into(),
                        )),
                        1 => {}
                        _ => return Err(PlanError("an error fault names one of an event, a connect, a send, a receive or a pattern (process, call, channel), not several".into())),
                    }
                    if nth.is_some() && (connect.is_some() || send.is_some() || receive.is_some()) {
                        return Err(PlanError(
                            "nth counts the calls of a pattern (process, call, channel)".into(),
                        ));
                    }
                }
                Fault::Crash {
                    after: Some(_),
                    after_send: Some(_),
                    ..
                } => {
                    return Err(PlanError(
                        "a crash starts after an event or after a send, not both".into(),
                    ));
                }
                Fault::Partition {
                    groups,
                    after,
                    after_send,
                    after_ms,
                    ..
                } => {
                    if groups.iter().any(Vec::is_empty) {
                        return Err(PlanError("a partition needs two non-empty groups".into()));
                    }
                    if let Some(p) = groups[0].iter().find(|p| groups[1].contains(p)) {
                        return Err(PlanError(format!("'{p}' is in both groups of a partition")));
                    }
                    let starts = [after.is_some(), after_send.is_some(), after_ms.is_some()];
                    if starts.iter().filter(|&&s| s).count() > 1 {
                        return Err(PlanError(
                            "a partition starts after an event, after a send or after a time, not several".into(),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// True when no fault needs names from a parent run.
    pub fn needs_no_parent(&self) -> bool {
        self.faults
            .iter()
            .all(|f| matches!(f, Fault::Jitter { .. }))
    }
}

/// The errno number of a name like `ECONNREFUSED` in a plan, or why not.
pub fn planned_errno(name: &str) -> Result<i32, PlanError> {
    errno_lookup(name).ok_or_else(|| {
        PlanError(format!(
            "unknown errno '{name}' (use a name like ECONNRESET, ETIMEDOUT, EPIPE)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_plans_are_the_same_schema() {
        let toml = "[[fault]]\nkind = \"delay\"\nmessage = \"a->b#0/1\"\nms = \"inf\"\n\n[[fault]]\nkind = \"drop\"\nmessage = \"a->b#0/r0\"\n";
        let json = r#"{"faults": [{"kind": "delay", "message": "a->b#0/1", "ms": "inf"}, {"kind": "drop", "message": "a->b#0/r0"}]}"#;
        assert_eq!(
            FaultPlan::parse(toml).unwrap(),
            FaultPlan::parse(json).unwrap()
        );
    }

    #[test]
    fn bad_plans_say_what_is_wrong() {
        for (text, want) in [
            (
                r#"{"faults":[{"kind":"delay","message":"m","ms":"soon"}]}"#,
                "'soon' is not a duration",
            ),
            (
                r#"{"faults":[{"kind":"error","event":"e","errno":"ENOPE"}]}"#,
                "unknown errno 'ENOPE'",
            ),
            (
                r#"{"faults":[{"kind":"error","errno":"EPIPE"}]}"#,
                "needs an event or a pattern",
            ),
            (
                r#"{"faults":[{"kind":"explode"}]}"#,
                "unknown variant `explode`",
            ),
            (
                r#"{"faults":[{"kind":"drop","message":"m","extra":1}]}"#,
                "unknown field `extra`",
            ),
            (
                r#"{"faults":[{"kind":"partition","groups":[[],["a"]]}]}"#,
                "two non-empty groups",
            ),
            ("[[fault]]\nkind = \"drop\"\n", "missing field `message`"),
            (
                r#"{"faults":[{"kind":"partition","groups":[["a"],["b","a"]]}]}"#,
                "'a' is in both groups",
            ),
            (
                r#"{"faults":[{"kind":"error","call":"conect","errno":"EPIPE"}]}"#,
                "'conect' is not a system call",
            ),
            (
                r#"{"faults":[{"kind":"error","event":"e","call":"read","errno":"EPIPE"}]}"#,
                "not several",
            ),
            (
                r#"{"faults":[{"kind":"error","send":"a->b#0/1","receive":"a->b#0/1","errno":"EPIPE"}]}"#,
                "not several",
            ),
            (
                r#"{"faults":[{"kind":"error","send":"a->b#0/1","nth":2,"errno":"EPIPE"}]}"#,
                "nth counts the calls of a pattern",
            ),
            (
                r#"{"faults":[{"kind":"crash","process":"a","after":"a:t0/1:write","after_send":"a->b#0/1"}]}"#,
                "a crash starts after an event or after a send",
            ),
            (
                r#"{"faults":[{"kind":"partition","groups":[["a"],["b"]],"after_ms":5,"after_send":"a->b#0/1"}]}"#,
                "not several",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"m","ms":0}]}"#,
                "a delay of 0 ms",
            ),
        ] {
            let e = FaultPlan::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn an_error_on_a_named_call_is_the_plan_that_names_it() {
        let plan = FaultPlan::parse(
            "[[faults]]\nkind = \"error\"\nreceive = \"a->b#0/1\"\nerrno = \"ECONNRESET\"\n\
             [[faults]]\nkind = \"error\"\nconnect = \"a->b#0\"\nerrno = \"ECONNREFUSED\"\n",
        )
        .unwrap();
        assert_eq!(
            plan.faults,
            [
                Fault::error_on(ErrorCall::Receive("a->b#0/1".into()), "ECONNRESET"),
                Fault::error_on(ErrorCall::Connect("a->b#0".into()), "ECONNREFUSED"),
            ]
        );
    }

    #[test]
    fn plans_without_message_anchors_read_and_write_as_before() {
        let old = r#"{"faults":[{"kind":"error","event":"a:t0/1:connect","errno":"ECONNREFUSED"},{"kind":"crash","process":"a","after":"a:t1/3:write","kill":false},{"kind":"partition","groups":[["a"],["b"]],"after":"a:t0/2:write","connect":"refuse"}]}"#;
        let plan = FaultPlan::parse(old).unwrap();
        assert_eq!(serde_json::to_string(&plan).unwrap(), old);
        let anchored = r#"{"faults":[{"kind":"error","connect":"a->b#0","errno":"ECONNREFUSED"},{"kind":"error","send":"a->b#0/1","errno":"EPIPE"},{"kind":"error","receive":"a->b#0/r2","errno":"ECONNRESET"},{"kind":"crash","process":"a","after_send":"a->b#0/1"}]}"#;
        let plan = FaultPlan::parse(anchored).unwrap();
        let lines: Vec<String> = plan.faults.iter().map(Fault::to_string).collect();
        assert_eq!(
            lines,
            [
                "error ECONNREFUSED on the connect of a->b#0",
                "error EPIPE on the send of a->b#0/1",
                "error ECONNRESET on the first receive of a->b#0/r2",
                "crash a after the send of a->b#0/1",
            ]
        );
    }

    #[test]
    fn errno_names_round_trip() {
        assert_eq!(planned_errno("ECONNREFUSED").unwrap(), 111);
        assert_eq!(planned_errno("ETIMEDOUT").unwrap(), 110);
        assert_eq!(planned_errno("EPIPE").unwrap(), 32);
    }
}
