//! The steps of a plan beyond writing resources, as typed data: a host [`Command`] is a
//! program and its arguments (a JSON array in a saved plan, shell-quoted for people),
//! never a string split on spaces; a cluster step names the object it acts on. Apply
//! carries out the steps of the plan it recomputes, never those read from a file.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A program run with its arguments, without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<String>", try_from = "Vec<String>")]
pub struct Command {
    /// The program, e.g. `systemctl` or `/usr/local/sbin/ai-supply-chain-firewall`.
    pub program: String,
    /// Its arguments, each passed as one word.
    pub args: Vec<String>,
}

impl Command {
    /// `program args…`.
    pub fn new(program: &str, args: &[&str]) -> Self {
        Self {
            program: program.into(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
        }
    }

    /// The program followed by its arguments.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(&self.program)
            .chain(&self.args)
            .cloned()
            .collect()
    }
}

impl From<Command> for Vec<String> {
    fn from(c: Command) -> Self {
        c.argv()
    }
}

impl TryFrom<Vec<String>> for Command {
    type Error = &'static str;
    fn try_from(mut argv: Vec<String>) -> Result<Self, Self::Error> {
        if argv.is_empty() {
            return Err("a command is a non-empty array: [program, arguments…]");
        }
        let program = argv.remove(0);
        Ok(Self {
            program,
            args: argv,
        })
    }
}

/// Shell-quoted, so what is shown is one command line that runs exactly this.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let argv = self.argv();
        match shlex::try_join(argv.iter().map(String::as_str)) {
            Ok(line) => f.write_str(&line),
            // Only a NUL byte cannot be quoted for a shell; show such a word escaped.
            Err(_) => write!(f, "{argv:?}"),
        }
    }
}

/// One step an apply takes besides writing its resources, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Host: install these Debian packages with apt-get, before any file is written, with
    /// every daemon held until its config is in place.
    Install(Vec<String>),
    /// Host: run this command.
    Run(Command),
    /// Cluster: run the Job `namespace/name` and wait for it to complete.
    RunJob(String),
    /// Cluster: wait for the rollout of a workload.
    Rollout {
        /// `Deployment` or `StatefulSet`.
        kind: String,
        /// `namespace/name`.
        name: String,
    },
    /// Cluster: delete this many objects scf applied before and no longer wants.
    Prune(usize),
    /// Host: bring the database in line (bootstrap, migrations, tenants), once the data
    /// services run with their new config.
    Database,
    /// Host: wait until the runtime answers `/ready`, through the proxy when there is one,
    /// before the monitoring stack is touched; a failure rolls the apply back.
    Probe,
}

impl Step {
    /// The command of a host step.
    pub fn command(&self) -> Option<&Command> {
        match self {
            Step::Run(c) => Some(c),
            _ => None,
        }
    }

    /// The packages of a host install step.
    pub fn packages(&self) -> Option<&[String]> {
        match self {
            Step::Install(names) => Some(names),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Run(c) => c.fmt(f),
            Step::Install(names) => write!(
                f,
                "install packages: {} (apt-get, daemons held until their config is in place)",
                names.join(" ")
            ),
            Step::RunJob(name) => write!(f, "run the Job {name} and wait for it to complete"),
            Step::Rollout { kind, name } => write!(f, "wait for the rollout of {kind} {name}"),
            Step::Database => f.write_str(
                "bring the database in line: roles, database, extensions, migrations, tenants",
            ),
            Step::Probe => f.write_str("wait until the runtime answers /ready"),
            Step::Prune(n) => write!(
                f,
                "prune {n} object{} scf applied before and framework.toml no longer has",
                if *n == 1 { "" } else { "s" }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_a_json_array_and_shown_shell_quoted() {
        let c = Command::new("systemctl", &["restart", "a b.service", "x;y"]);
        let json = serde_json::to_string(&Step::Run(c.clone())).expect("json");
        assert_eq!(
            json,
            r#"{"run":["systemctl","restart","a b.service","x;y"]}"#
        );
        assert_eq!(
            serde_json::from_str::<Step>(&json).expect("back"),
            Step::Run(c.clone())
        );
        assert_eq!(c.to_string(), "systemctl restart 'a b.service' 'x;y'");
    }

    #[test]
    fn an_install_step_round_trips_and_names_its_packages() {
        let step = Step::Install(vec!["nginx".into(), "ufw".into()]);
        let json = serde_json::to_string(&step).expect("json");
        assert_eq!(json, r#"{"install":["nginx","ufw"]}"#);
        assert_eq!(serde_json::from_str::<Step>(&json).expect("back"), step);
        assert_eq!(
            step.to_string(),
            "install packages: nginx ufw (apt-get, daemons held until their config is in place)"
        );
        assert_eq!(step.command(), None);
    }

    #[test]
    fn a_command_string_or_an_empty_array_is_refused() {
        assert!(serde_json::from_str::<Step>(r#"{"run":"curl x -o y"}"#).is_err());
        assert!(serde_json::from_str::<Step>(r#"{"run":[]}"#).is_err());
        assert!(serde_json::from_str::<Step>(r#""systemctl daemon-reload""#).is_err());
    }
}
