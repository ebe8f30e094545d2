//! Scenarios: a distributed system described as named nodes, a client
//! workload and an optional check (DESIGN.md "Vocabulary").
//!
//! ```toml
//! timeout = 30                       # seconds for the whole run
//! ports = ["primary", "replica"]     # allocated free at run time: {port.primary}
//!
//! [[node]]
//! name = "primary"
//! command = ["{bin_dir}/bop-kv", "primary", "--port", "{port.primary}"]
//! env = { RUST_LOG = "info" }        # optional
//! cwd = "."                          # optional, relative to the scenario file
//! ready = { port = "{port.primary}", timeout = 5 }   # or { line = "ready" } or { delay_ms = 200 }
//!
//! [client]
//! command = ["{bin_dir}/bop-kv", "client", "--primary", "{port.primary}"]
//!
//! [check]                            # optional; without it the client's status is the verdict
//! command = ["{bin_dir}/bop-kv", "check", "{run_dir}/history.txt"]
//! timeout = 10                       # optional; default: what is left of the run's timeout
//! ```
//!
//! Substitutions in commands, env values and ready conditions: `{port.NAME}`,
//! `{run_dir}` (the run's directory), `{bin_dir}` (where the bop binary is),
//! `{scenario_dir}`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The bundled demo scenario (`bop demo`): see `backend/bop/demo/kv.toml`.
pub const DEMO_KV: &str = include_str!("../demo/kv.toml");

/// A scenario file that cannot be used, as one sentence naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ScenarioError {
    /// The scenario file.
    pub file: String,
    /// What is wrong (with line and key where the parser knows them).
    pub message: String,
}

/// The file as written.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seconds for the whole run (default 60).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Names of ports to allocate.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Long-running processes, started in order.
    #[serde(default, rename = "node")]
    pub nodes: Vec<Node>,
    /// The workload; the run ends when it exits.
    pub client: Command,
    /// Optional verdict command, run after the nodes are stopped.
    #[serde(default)]
    pub check: Option<Command>,
}

/// A node of the system.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Its logical name.
    pub name: String,
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the scenario file.
    #[serde(default)]
    pub cwd: Option<String>,
    /// When the node counts as started.
    #[serde(default)]
    pub ready: Option<Ready>,
}

/// The client or the check.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the scenario file.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The check only: seconds it may take (default: what is left of the
    /// run's timeout).
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// A readiness condition: exactly one of `port`, `line`, `delay_ms`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// A TCP port on 127.0.0.1 that must be listening.
    #[serde(default)]
    pub port: Option<String>,
    /// A line (substring) that must appear on the node's stdout or stderr.
    #[serde(default)]
    pub line: Option<String>,
    /// A fixed wait.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Seconds to wait at most (default 10).
    #[serde(default)]
    pub timeout: Option<f64>,
}

/// What to wait for, after substitution.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadyWhen {
    /// A process of the node's own tree listens on this TCP port (checked
    /// in /proc, without connecting, so readiness leaves no trace in the run).
    Port(u16),
    /// This text appears in the node's output.
    Line(String),
    /// After this many milliseconds.
    Delay(u64),
}

impl std::fmt::Display for ReadyWhen {
    /// What is waited for, as the end of "waited N s for …".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadyWhen::Port(p) => write!(f, "its process tree to listen on port {p}"),
            ReadyWhen::Line(l) => write!(f, "the text {l:?} in its output"),
            ReadyWhen::Delay(ms) => write!(f, "a delay of {ms} ms"),
        }
    }
}

/// A process to start, with substitutions applied.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Logical name (`client` for the client, `check` for the check).
    pub name: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Readiness condition and its timeout in seconds.
    pub ready: Option<(ReadyWhen, f64)>,
    /// The check's own timeout in seconds.
    pub timeout: Option<f64>,
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Nodes in start order.
    pub nodes: Vec<Prepared>,
    /// The client.
    pub client: Prepared,
    /// The check, if any.
    pub check: Option<Prepared>,
    /// Whole-run timeout in seconds.
    pub timeout: f64,
    /// Allocated ports by name.
    pub ports: BTreeMap<String, u16>,
}

/// Parses scenario text; errors name the file, and the line and key when
/// the TOML parser knows them.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let err = |message: String| ScenarioError {
        file: file.to_string(),
        message,
    };
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().to_string();
        err(match line {
            Some(l) => format!("line {l}: {msg}"),
            None => msg,
        })
    })?;
    check_strings(&scenario).map_err(err)?;
    let mut names = HashSet::new();
    for (i, n) in scenario.nodes.iter().enumerate() {
        if n.name.is_empty()
            || n.name.len() > MAX_NAME
            || !n
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err(format!(
                "node {}: name {:?} must be 1-{MAX_NAME} letters, digits, '_' or '-'",
                i + 1,
                shorten(&n.name)
            )));
        }
        if matches!(n.name.as_str(), "client" | "check") || !names.insert(n.name.clone()) {
            return Err(err(format!(
                "node name '{}' is used twice (client and check are reserved)",
                n.name
            )));
        }
        if n.command.is_empty() {
            return Err(err(format!("node '{}': command is empty", n.name)));
        }
        if let Some(r) = &n.ready {
            let set = [r.port.is_some(), r.line.is_some(), r.delay_ms.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            if set != 1 {
                return Err(err(format!(
                    "node '{}': ready needs exactly one of port, line, delay_ms",
                    n.name
                )));
            }
        }
    }
    if scenario.client.command.is_empty() {
        return Err(err("client: command is empty".into()));
    }
    if scenario
        .check
        .as_ref()
        .is_some_and(|c| c.command.is_empty())
    {
        return Err(err("check: command is empty".into()));
    }
    let mut ports = HashSet::new();
    for p in &scenario.ports {
        if !ports.insert(p) {
            return Err(err(format!("port '{p}' is declared twice")));
        }
    }
    if let Some(t) = scenario.timeout {
        seconds("timeout", t).map_err(err)?;
    }
    if scenario.client.timeout.is_some() {
        return Err(err(
            "client: timeout is the check's; the run's is the top-level timeout".into(),
        ));
    }
    if let Some(t) = scenario.check.as_ref().and_then(|c| c.timeout) {
        seconds("check: timeout", t).map_err(err)?;
    }
    for n in &scenario.nodes {
        if let Some(t) = n.ready.as_ref().and_then(|r| r.timeout) {
            seconds(&format!("node '{}': ready timeout", n.name), t).map_err(err)?;
        }
        if let Some(ms) = n.ready.as_ref().and_then(|r| r.delay_ms) {
            seconds(
                &format!("node '{}': ready delay_ms / 1000", n.name),
                ms as f64 / 1000.0,
            )
            .map_err(err)?;
        }
    }
    Ok(scenario)
}

/// The longest node name: names become file names (`NAME.stdout`) and
/// parts of every logical name in the run.
pub const MAX_NAME: usize = 64;

/// A long value cut for an error message, so the message stays one line.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}… ({} characters)", &s[..i], s.chars().count()),
        None => s.to_string(),
    }
}

/// Rejects what no process can be started with: a NUL in a program,
/// argument, working directory or environment value, and an environment
/// name that is empty or holds '=' (execve(2) would cut or misread them).
fn check_strings(scenario: &Scenario) -> Result<(), String> {
    let commands = scenario
        .nodes
        .iter()
        .map(|n| {
            (
                format!("node '{}'", shorten(&n.name)),
                &n.command,
                &n.env,
                &n.cwd,
            )
        })
        .chain(std::iter::once((
            "client".to_string(),
            &scenario.client.command,
            &scenario.client.env,
            &scenario.client.cwd,
        )))
        .chain(
            scenario
                .check
                .iter()
                .map(|c| ("check".to_string(), &c.command, &c.env, &c.cwd)),
        );
    for (who, argv, env, cwd) in commands {
        if argv.iter().chain(cwd).any(|a| a.contains('\0')) {
            return Err(format!(
                "{who}: command and cwd cannot contain a NUL character"
            ));
        }
        for (k, v) in env {
            if k.is_empty() || k.contains(['=', '\0']) {
                return Err(format!(
                    "{who}: env name {:?} must be non-empty, without '=' or NUL",
                    shorten(k)
                ));
            }
            if v.contains('\0') {
                return Err(format!("{who}: env {k} cannot contain a NUL character"));
            }
        }
    }
    Ok(())
}

/// The longest wait bop accepts anywhere (a week), so durations never
/// overflow.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// Checks a duration in seconds: positive, finite, at most [`MAX_SECONDS`].
pub fn seconds(what: &str, t: f64) -> Result<f64, String> {
    if t > 0.0 && t <= MAX_SECONDS {
        Ok(t)
    } else {
        Err(format!(
            "{what} must be a number of seconds between 0 and {MAX_SECONDS}, not {t}"
        ))
    }
}

/// Allocates a free TCP port on 127.0.0.1 (the kernel picks it).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Scenario {
    /// Allocates ports and substitutes every `{...}`; unknown placeholders
    /// and missing programs are errors, before anything runs.
    pub fn prepare(
        &self,
        file: &str,
        scenario_dir: &Path,
        run_dir: &Path,
        bin_dir: &Path,
    ) -> Result<Plan, ScenarioError> {
        let err = |message: String| ScenarioError {
            file: file.to_string(),
            message,
        };
        let mut ports = BTreeMap::new();
        for p in &self.ports {
            ports.insert(
                p.clone(),
                free_port().map_err(|e| err(format!("cannot allocate port '{p}': {e}")))?,
            );
        }
        let mut vars: HashMap<String, String> = ports
            .iter()
            .map(|(k, v)| (format!("port.{k}"), v.to_string()))
            .collect();
        vars.insert("run_dir".into(), run_dir.display().to_string());
        vars.insert("bin_dir".into(), bin_dir.display().to_string());
        vars.insert("scenario_dir".into(), scenario_dir.display().to_string());
        let sub =
            |what: &str, s: &str| substitute(s, &vars).map_err(|m| err(format!("{what}: {m}")));
        let prepare = |name: &str,
                       argv: &[String],
                       env: &BTreeMap<String, String>,
                       cwd: &Option<String>|
         -> Result<Prepared, ScenarioError> {
            let argv = argv
                .iter()
                .map(|a| sub(name, a))
                .collect::<Result<Vec<_>, _>>()?;
            let env = env
                .iter()
                .map(|(k, v)| Ok((k.clone(), sub(name, v)?)))
                .collect::<Result<Vec<_>, ScenarioError>>()?;
            let cwd = match cwd {
                Some(c) => scenario_dir.join(sub(name, c)?),
                None => scenario_dir.to_path_buf(),
            };
            if !cwd.is_dir() {
                return Err(err(format!(
                    "{name}: cwd {} is not a directory",
                    cwd.display()
                )));
            }
            bop_tracer::resolve_program(&argv[0], &cwd).map_err(|e| err(format!("{name}: {e}")))?;
            Ok(Prepared {
                name: name.to_string(),
                argv,
                env,
                cwd,
                ready: None,
                timeout: None,
            })
        };
        let mut nodes = Vec::new();
        for n in &self.nodes {
            let mut p = prepare(&n.name, &n.command, &n.env, &n.cwd)?;
            if let Some(r) = &n.ready {
                let when = if let Some(port) = &r.port {
                    let v = sub(&n.name, port)?;
                    ReadyWhen::Port(v.parse().map_err(|_| {
                        err(format!(
                            "node '{}': ready port {v:?} is not a port number",
                            n.name
                        ))
                    })?)
                } else if let Some(line) = &r.line {
                    ReadyWhen::Line(sub(&n.name, line)?)
                } else {
                    ReadyWhen::Delay(r.delay_ms.unwrap_or(0))
                };
                p.ready = Some((
                    when,
                    seconds(
                        &format!("node '{}': ready timeout", n.name),
                        r.timeout.unwrap_or(10.0),
                    )
                    .map_err(err)?,
                ));
            }
            nodes.push(p);
        }
        let client = prepare(
            "client",
            &self.client.command,
            &self.client.env,
            &self.client.cwd,
        )?;
        let check = match &self.check {
            Some(c) => Some(Prepared {
                timeout: c.timeout,
                ..prepare("check", &c.command, &c.env, &c.cwd)?
            }),
            None => None,
        };
        Ok(Plan {
            nodes,
            client,
            check,
            timeout: self.timeout.unwrap_or(60.0),
            ports,
        })
    }
}

fn substitute(s: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            // `{{` and `}}` are literal braces (shell brace groups, awk, JSON).
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let Some(len) = s[i..].find('}') else {
                    return Err(format!(
                        "unclosed '{{' in {s:?} (write {{{{ for a literal brace)"
                    ));
                };
                let key = &s[i + 1..i + len];
                match vars.get(key) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(format!(
                            "unknown placeholder {{{key}}} in {s:?} (write {{{{ for a literal brace)"
                        ));
                    }
                }
                while chars.peek().is_some_and(|p| p.0 <= i + len) {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
timeout = 5
ports = ["a"]
[[node]]
name = "server"
command = ["/bin/sh", "-c", "echo {port.a}"]
ready = { port = "{port.a}" }
[client]
command = ["/bin/true"]
"#;

    #[test]
    fn good_file_prepares_with_ports() {
        let s = parse("s.toml", GOOD).unwrap();
        let plan = s
            .prepare(
                "s.toml",
                Path::new("/"),
                Path::new("/tmp/r"),
                Path::new("/usr/bin"),
            )
            .unwrap();
        let port = plan.ports["a"];
        assert_eq!(plan.nodes[0].argv[2], format!("echo {port}"));
        assert_eq!(plan.nodes[0].ready, Some((ReadyWhen::Port(port), 10.0)));
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let long_name = format!(
            "[[node]]\nname=\"{}\"\ncommand=[\"x\"]\n[client]\ncommand=[\"z\"]\n",
            "n".repeat(5000)
        );
        let table: [(&str, &str); 13] = [
            (
                "[client]\ncommand=[\"x\"]\nbogus = 1\n",
                "line 3: unknown field `bogus`",
            ),
            ("[client]\ncommand = []\n", "client: command is empty"),
            (
                "[[node]]\nname=\"a\"\ncommand=[\"x\"]\n[[node]]\nname=\"a\"\ncommand=[\"y\"]\n[client]\ncommand=[\"z\"]\n",
                "node name 'a' is used twice",
            ),
            (
                "[[node]]\nname=\"a\"\ncommand=[\"x\"]\nready={}\n[client]\ncommand=[\"z\"]\n",
                "exactly one of port, line, delay_ms",
            ),
            (
                "timeout = -1\n[client]\ncommand=[\"z\"]\n",
                "timeout must be a number of seconds",
            ),
            (
                "ports=[\"p\",\"p\"]\n[client]\ncommand=[\"z\"]\n",
                "port 'p' is declared twice",
            ),
            (
                "[[node]]\nname=\"a\"\n[client]\ncommand=[\"z\"]\n",
                "missing field `command`",
            ),
            ("", "missing field `client`"),
            (&long_name, "must be 1-64 letters, digits, '_' or '-'"),
            (
                "[[node]]\nname=\"a\"\ncommand=[\"x\"]\nenv={X=\"a\\u0000b\"}\n[client]\ncommand=[\"z\"]\n",
                "node 'a': env X cannot contain a NUL character",
            ),
            (
                "[client]\ncommand=[\"z\"]\nenv={\"A=B\"=\"1\"}\n",
                "client: env name \"A=B\" must be non-empty",
            ),
            (
                "[client]\ncommand=[\"a\\u0000\"]\n",
                "client: command and cwd cannot contain a NUL",
            ),
            (
                "[[node]]\nname=\"a\"\ncommand=[\"x\"]\nready={delay_ms=9223372036854775807}\n[client]\ncommand=[\"z\"]\n",
                "node 'a': ready delay_ms / 1000 must be a number of seconds",
            ),
        ];
        for (text, want) in table {
            let e = parse("bad.toml", text).unwrap_err().to_string();
            assert!(
                e.starts_with("bad.toml: ") && e.contains(want),
                "{text:?}: got {e:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn unknown_placeholders_and_programs_fail_before_running() {
        let s = parse(
            "s.toml",
            "[client]\ncommand=[\"/bin/echo\", \"{port.nope}\"]\n",
        )
        .unwrap();
        let e = s
            .prepare("s.toml", Path::new("/"), Path::new("/r"), Path::new("/b"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown placeholder {port.nope}"), "{e}");
        let s = parse("s.toml", "[client]\ncommand=[\"no-such-prog-bop\"]\n").unwrap();
        let e = s
            .prepare("s.toml", Path::new("/"), Path::new("/r"), Path::new("/b"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("command not found or not executable: no-such-prog-bop"),
            "{e}"
        );
    }
}
