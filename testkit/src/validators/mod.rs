//! Harnesses around the real validators (nginx, gixy, promtool, amtool, systemd-analyze,
//! kubernetes-validate, the pinned CRDs' schemas, checkov, kubectl kustomize, PostgreSQL, redis-server, yamllint,
//! hadolint). Each runs the tool on generated files and treats any warning as a failure:
//! several of them exit 0 while warning, so the harness judges their output, not just the
//! exit code. A failure carries the tool's full output.

pub mod alertmanager;
pub mod checkov;
pub mod crd;
pub mod hadolint;
pub mod kubernetes;
pub mod nginx;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod systemd;
pub mod yaml;

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use crate::services::ServiceError;
use crate::tools::ToolMissing;

/// What a validator printed on a pass (often nothing).
#[derive(Debug, Clone)]
pub struct Report {
    /// The tool that passed the input.
    pub tool: String,
    /// Its combined stdout and stderr.
    pub output: String,
}

/// Why a validator did not pass its input.
#[derive(Debug, thiserror::Error)]
pub enum Findings {
    /// The tool rejected the input, or warned about it.
    #[error("{tool} rejected the input ({status}): `{command}`\n{output}")]
    Rejected {
        /// The tool that found problems.
        tool: String,
        /// The command line (no secrets).
        command: String,
        /// The exit status, or why a zero exit still failed.
        status: String,
        /// The tool's full output.
        output: String,
    },
    /// The tool is not installed.
    #[error(transparent)]
    ToolMissing(#[from] ToolMissing),
    /// The harness could not prepare or run the check.
    #[error("harness error: {0}")]
    Harness(String),
}

impl Findings {
    /// The tool's own output when it rejected the input; empty for harness errors.
    pub fn output(&self) -> &str {
        match self {
            Findings::Rejected { output, .. } => output,
            Findings::ToolMissing(_) | Findings::Harness(_) => "",
        }
    }

    fn harness(context: &str, err: impl std::fmt::Display) -> Findings {
        Findings::Harness(format!("{context}: {err}"))
    }
}

impl From<ServiceError> for Findings {
    fn from(err: ServiceError) -> Findings {
        match err {
            ServiceError::Tool(missing) => Findings::ToolMissing(missing),
            ServiceError::Startup { server, log } => Findings::Rejected {
                tool: server.to_owned(),
                command: format!("start {server}"),
                status: "did not start".to_owned(),
                output: log,
            },
            ServiceError::Command { command, output } => Findings::Rejected {
                tool: command.split_whitespace().next().unwrap_or("").to_owned(),
                command,
                status: "failed".to_owned(),
                output,
            },
            other => Findings::Harness(other.to_string()),
        }
    }
}

/// One finished tool run.
#[derive(Debug)]
pub(crate) struct Ran {
    tool: String,
    command: String,
    status: ExitStatus,
    stdout: String,
    /// stdout followed by stderr.
    output: String,
}

impl Ran {
    /// Passes when the tool exited 0 and printed nothing at all.
    fn silent(self) -> Result<Report, Findings> {
        let quiet = self.output.trim().is_empty();
        self.judge(quiet, "printed output")
    }

    /// Passes when the tool exited 0 and `clean` holds; `why` names what `clean` rules out.
    fn judge(self, clean: bool, why: &str) -> Result<Report, Findings> {
        if self.status.success() && clean {
            return Ok(Report {
                tool: self.tool,
                output: self.output,
            });
        }
        let status = if self.status.success() {
            format!("exit 0 but {why}")
        } else {
            self.status.to_string()
        };
        Err(self.rejected(status))
    }

    /// What the tool wrote to stderr.
    fn stderr(&self) -> &str {
        &self.output[self.stdout.len()..]
    }

    fn rejected(self, status: String) -> Findings {
        Findings::Rejected {
            tool: self.tool,
            command: self.command,
            status,
            output: self.output,
        }
    }
}

/// A command for `tool`, found in the tools dir or on `PATH`.
pub(crate) fn tool(name: &str) -> Result<Command, Findings> {
    Ok(crate::tools::command(name)?)
}

/// Runs `cmd` to completion with no stdin, capturing both streams.
pub(crate) fn run(cmd: &mut Command) -> Result<Ran, Findings> {
    let command = shown(cmd);
    let tool = command.split_whitespace().next().unwrap_or("").to_owned();
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|err| Findings::harness(&format!("could not run `{command}`"), err))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let combined = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    Ok(Ran {
        tool,
        command,
        status: output.status,
        stdout,
        output: combined,
    })
}

/// `program arg…` with the program's file name only, for messages.
fn shown(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let name = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy();
    std::iter::once(name.into_owned())
        .chain(cmd.get_args().map(|arg| arg.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scratch dir for one check, removed when dropped.
pub(crate) fn scratch(prefix: &str) -> Result<tempfile::TempDir, Findings> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|err| Findings::harness("could not create a temp dir", err))
}

/// Reads a file the caller handed in, naming it on failure.
pub(crate) fn read(path: &Path) -> Result<String, Findings> {
    std::fs::read_to_string(path).map_err(|err| Findings::harness(&path.display().to_string(), err))
}

/// Writes a harness file, naming it on failure.
pub(crate) fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), Findings> {
    std::fs::write(path, text).map_err(|err| Findings::harness(&path.display().to_string(), err))
}
