//! The one narrow interface through which scf touches services on a host: apt-get,
//! systemctl, nginx and systemd-analyze. Real hosts run the commands; `--service-manager
//! PATH` sends every command to a shim (for tests, and machines without systemd as PID 1);
//! an apply under `--root` without a shim records the commands and runs none. No command
//! may stop to ask: each runs with `DEBIAN_FRONTEND=noninteractive`.

use crate::plan::Command;
use std::path::PathBuf;

/// How commands are carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceManager {
    /// Run each command as is.
    Real,
    /// Run `SHIM COMMAND ARGS…` instead.
    Shim(PathBuf),
    /// Run nothing (an apply into a directory that is not a live system).
    Skip,
}

/// A command that failed.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed{}{}", .status.map(|s| format!(" (exit {s})")).unwrap_or_default(), if .output.is_empty() { String::new() } else { format!(":\n{}", .output.trim_end()) })]
pub struct CommandFailed {
    /// The command line.
    pub command: String,
    /// Its exit status, if it ran.
    pub status: Option<i32>,
    /// What it printed.
    pub output: String,
}

impl ServiceManager {
    /// Runs a command; `Ok(false)` when it was skipped.
    pub fn run(&self, command: &Command) -> Result<bool, CommandFailed> {
        self.execute(&command.argv(), false)
    }

    /// Runs a check (`nginx -t`, `systemd-analyze verify`): like [`Self::run`], but a
    /// check that prints a warning and exits 0 has failed too.
    pub fn check(&self, args: &[String]) -> Result<bool, CommandFailed> {
        self.execute(args, true)
    }

    fn execute(&self, args: &[String], strict: bool) -> Result<bool, CommandFailed> {
        let shown = args.join(" ");
        let mut cmd = match self {
            ServiceManager::Skip => return Ok(false),
            ServiceManager::Real => {
                let mut c = std::process::Command::new(&args[0]);
                c.args(&args[1..]);
                c
            }
            ServiceManager::Shim(shim) => {
                let mut c = std::process::Command::new(shim);
                c.args(args);
                c
            }
        };
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        match cmd.output() {
            Ok(out) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                // nginx -t and systemd-analyze verify warn with exit 0: any output from a check is a failure.
                let warned = strict
                    && !text.trim().is_empty()
                    && !text.contains("syntax is ok")
                    && text.contains("warn");
                if out.status.success() && !warned {
                    Ok(true)
                } else {
                    Err(CommandFailed {
                        command: shown,
                        status: out.status.code(),
                        output: text,
                    })
                }
            }
            Err(e) => Err(CommandFailed {
                command: shown,
                status: None,
                output: e.to_string(),
            }),
        }
    }
}

/// `systemctl ARGS…`.
pub fn systemctl(args: &[&str]) -> Command {
    Command::new("systemctl", args)
}
