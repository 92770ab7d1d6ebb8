//! A host of the fleet as the orchestration sees it: something that answers agent
//! [`Action`]s. [`Remote`] is what `plan` and `rollout` are generic over, so their order
//! and error handling are tested against a recording fake; [`Agent`] is the real one, `scf
//! agent` over an ssh [`Connection`].

use super::FleetError;
use super::protocol::{Action, EnvValues, Reply, Request};
use super::ssh::{Connection, Held, Progress};
use super::upload::as_root;
use crate::config::HostEntry;
use std::sync::Arc;

/// One host, reachable for agent calls.
pub trait Remote: Sync {
    /// What keeps a long-running call (the fleet lock) alive until dropped.
    type Held;
    /// The host's name.
    fn name(&self) -> &str;
    /// Runs `action` and returns the agent's answer; a [`Reply::Failed`] is an error.
    fn call(&self, action: Action) -> Result<Reply, FleetError>;
    /// Starts `action` and returns once it answered, keeping it running until the
    /// returned value is dropped.
    fn hold(&self, action: Action) -> Result<Self::Held, FleetError>;
}

/// A host of the fleet and the way to reach it.
pub struct Member<R> {
    /// Its `[[hosts]]` entry.
    pub entry: HostEntry,
    /// Its agent.
    pub remote: R,
}

/// What every agent call of one run carries: the merged config and the `env:` values.
#[derive(Debug)]
pub struct Payload {
    /// The merged framework.toml as TOML.
    pub config: String,
    /// The values of its `env:` references.
    pub env: EnvValues,
    /// `--allow-data-loss`.
    pub allow_data_loss: bool,
}

/// `scf agent` on a host, reached over ssh.
pub struct Agent {
    connection: Connection,
    program: Vec<String>,
    payload: Arc<Payload>,
    progress: Progress,
}

impl Agent {
    /// The agent at `path` (the uploaded scf) on the host of `connection`.
    pub fn new(
        connection: Connection,
        path: String,
        payload: Arc<Payload>,
        progress: Progress,
    ) -> Self {
        let program = as_root(&connection.destination.user)
            .iter()
            .map(|s| s.to_string())
            .chain([path, "agent".to_string()])
            .collect();
        Self {
            connection,
            program,
            payload,
            progress,
        }
    }

    fn request(&self, action: Action) -> Result<Vec<u8>, FleetError> {
        let mut line = Request {
            config: self.payload.config.clone(),
            host: self.name().to_string(),
            action,
            env: self.payload.env.clone(),
            allow_data_loss: self.payload.allow_data_loss,
        }
        .to_json()
        .map_err(|e| FleetError::Local(format!("cannot write the agent request: {e}")))?;
        line.push('\n');
        Ok(line.into_bytes())
    }

    fn program(&self) -> Vec<&str> {
        self.program.iter().map(String::as_str).collect()
    }
}

/// The agent's answer in its stdout, or why there is none.
pub fn answer(host: &str, ok: bool, stdout: &[u8]) -> Result<Reply, FleetError> {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    match last.map(serde_json::from_str::<Reply>) {
        Some(Ok(Reply::Failed { error })) => Err(FleetError::Agent {
            host: host.to_string(),
            error,
        }),
        Some(Ok(reply)) if ok => Ok(reply),
        _ => Err(FleetError::Remote {
            host: host.to_string(),
            why: format!(
                "scf agent {} without an answer (its output is above)",
                if ok { "ended" } else { "failed" }
            ),
        }),
    }
}

impl Remote for Agent {
    type Held = Held;

    fn name(&self) -> &str {
        self.connection.name()
    }

    fn call(&self, action: Action) -> Result<Reply, FleetError> {
        let input = self.request(action)?;
        let (ok, stdout) = self
            .connection
            .run(&self.program(), &input, &self.progress)?;
        answer(self.name(), ok, &stdout)
    }

    fn hold(&self, action: Action) -> Result<Held, FleetError> {
        let input = self.request(action)?;
        let (line, held) = self
            .connection
            .start(&self.program(), &input, &self.progress)?;
        answer(self.name(), true, line.as_bytes()).map(|_| held)
    }
}

/// A fleet whose hosts record every call in one journal, for the orchestration's tests.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use crate::plan::{Inputs, Plan};
    use std::sync::Mutex;

    /// A `[[hosts]]` entry.
    pub(crate) fn entry(name: &str, ip: &str, roles: &str) -> HostEntry {
        toml::from_str(&format!(
            "name = \"{name}\"\naddress = \"{ip}\"\nroles = [{roles}]\n"
        ))
        .unwrap()
    }

    /// app-1 and app-2, and one host with the database, the cache and the proxy.
    pub(crate) fn inventory() -> Vec<HostEntry> {
        vec![
            entry("app-1", "10.0.0.2", "\"app\""),
            entry("app-2", "10.0.0.3", "\"app\""),
            entry("edge", "10.0.0.4", "\"database\", \"cache\", \"proxy\""),
        ]
    }

    /// Every call made, as `HOST WHAT`, in order.
    #[derive(Clone, Default)]
    pub(crate) struct Journal(Arc<Mutex<Vec<String>>>);

    impl Journal {
        fn push(&self, line: String) {
            self.0.lock().unwrap().push(line);
        }
        pub(crate) fn calls(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    /// A host that answers every call, failing its apply and plan when told to.
    pub(crate) struct Fake {
        name: String,
        journal: Journal,
        fails: bool,
    }

    /// The inventory as fakes; the host named `failing` fails.
    pub(crate) fn members(hosts: Vec<HostEntry>, failing: &str) -> (Vec<Member<Fake>>, Journal) {
        let journal = Journal::default();
        let members = hosts
            .into_iter()
            .map(|entry| Member {
                remote: Fake {
                    name: entry.name.to_string(),
                    journal: journal.clone(),
                    fails: entry.name.as_str() == failing,
                },
                entry,
            })
            .collect();
        (members, journal)
    }

    /// Records the release of the fleet lock.
    pub(crate) struct Released(Journal);

    impl Drop for Released {
        fn drop(&mut self) {
            self.0.push("unlock".into());
        }
    }

    impl Remote for Fake {
        type Held = Released;
        fn name(&self) -> &str {
            &self.name
        }
        fn call(&self, action: Action) -> Result<Reply, FleetError> {
            let what = match &action {
                Action::Plan { .. } => "plan".to_string(),
                Action::Apply { .. } => "apply".to_string(),
                Action::Drain { app } => format!("drain {app}"),
                Action::Undrain => "undrain".into(),
                Action::Lock { .. } => "lock".into(),
                Action::Doctor { .. } => "doctor".into(),
            };
            self.journal.push(format!("{} {what}", self.name));
            let failed = || FleetError::Agent {
                host: self.name.clone(),
                error: "the runtime did not become ready; rolled back".into(),
            };
            match action {
                Action::Plan { .. } | Action::Apply { .. } | Action::Doctor { .. }
                    if self.fails =>
                {
                    Err(failed())
                }
                Action::Plan { .. } => Ok(Reply::Planned {
                    plan: Box::new(Plan::demo(
                        Inputs {
                            config: String::new(),
                            artifacts: String::new(),
                        },
                        Vec::new(),
                        Vec::new(),
                    )),
                }),
                Action::Apply { .. } => Ok(Reply::Applied {
                    generation: Some(2),
                    changed: 1,
                }),
                Action::Doctor { .. } => Ok(Reply::Doctored {
                    report: Box::new(crate::doctor::Report::new("demo", Vec::new())),
                }),
                _ => Ok(Reply::Done),
            }
        }
        fn hold(&self, _: Action) -> Result<Released, FleetError> {
            self.journal.push(format!("{} lock", self.name));
            Ok(Released(self.journal.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_the_last_line_and_a_failure_names_the_host() {
        let done = format!("{}\n", Reply::Done.to_json().unwrap());
        assert_eq!(answer("db", true, done.as_bytes()).unwrap(), Reply::Done);
        let failed = Reply::Failed {
            error: "the runtime did not become ready".into(),
        }
        .to_json()
        .unwrap();
        let err = answer("app-2", false, failed.as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "host app-2: the runtime did not become ready");
        let err = answer("app-2", false, b"").unwrap_err().to_string();
        assert!(
            err.contains("app-2") && err.contains("without an answer"),
            "{err}"
        );
    }
}
