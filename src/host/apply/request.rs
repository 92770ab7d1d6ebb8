//! What a caller asks of a host apply or rollback, what the sequence asks back (approval,
//! notes, progress) and what it reports: the whole surface between the CLI and the host.

use crate::host::{HostError, ServiceManager, database};
use crate::plan::Plan;
use crate::plan::saved::Refused;
use std::path::PathBuf;
use std::time::Duration;

/// What `scf apply` asks of a host.
#[derive(Debug, Clone)]
pub struct Request {
    /// A saved plan to check the fresh plan against (refused unless it matches exactly);
    /// `None` plans afresh and asks.
    pub saved: Option<Plan>,
    /// The root the host's paths are under.
    pub root: PathBuf,
    /// Install the running scf as `/usr/local/bin/scf`.
    pub install_binary: bool,
    /// Bring the database in line too, through this admin connection.
    pub database: Option<database::Target>,
    /// How service commands run.
    pub services: ServiceManager,
    /// How long to wait for another apply's lock.
    pub lock_timeout: Duration,
    /// Whether and where to probe `/ready` once the commands ran.
    pub probe: ProbeAt,
    /// How long the runtime may take to become ready.
    pub probe_timeout: Duration,
}

/// What `scf rollback` asks of a host.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    /// The root the host's paths are under.
    pub root: PathBuf,
    /// The generation to return to (`None`: the one before the current).
    pub to: Option<u64>,
    /// How service commands run.
    pub services: ServiceManager,
    /// How long to wait for another apply's lock.
    pub lock_timeout: Duration,
}

/// Whether and where to probe `/ready` after an apply that changed something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAt {
    /// Never (`--no-probe`).
    Never,
    /// The runtime's `server.listen`, when the commands reach the real service manager.
    Listen,
    /// This `host:port`.
    Address(String),
}

/// What the sequence asks of whoever runs it: the CLI prints and asks, a test records.
pub trait Operator {
    /// Shows a freshly computed plan before it is applied.
    fn show(&mut self, plan: &Plan);
    /// Whether to apply the plan just shown (asked only when it changes something);
    /// `Err` says why no answer can be had.
    fn approve(&mut self) -> Result<bool, String>;
    /// Tells something worth knowing that is not an error.
    fn note(&mut self, note: &Note);
    /// Execution starts with this many file and command steps.
    fn begin(&mut self, steps: usize);
    /// One step of the execution.
    fn step(&mut self, step: Step);
}

/// Something the operator should know that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The lock was left by a process that is gone, and was taken over.
    Reclaimed(String),
    /// An earlier apply wrote these addresses without recording them; this one records a
    /// generation and runs their commands.
    Resumed(Vec<String>),
    /// Files the checks need were absent, and were written for their owner to replace.
    Seeded(Vec<String>),
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Reclaimed(dead) => write!(
                f,
                "note: reclaimed the lock left by {dead}, which is no longer running"
            ),
            Note::Resumed(lagging) => write!(
                f,
                "note: an earlier apply was interrupted after writing {}; recording a generation and running their commands",
                lagging.join(", ")
            ),
            Note::Seeded(seeds) => write!(f, "note: wrote {}", seeds.join("; ")),
        }
    }
}

/// A step of an apply, for progress output.
#[derive(Debug, Clone)]
pub enum Step {
    /// A phase began.
    Phase(&'static str),
    /// A file was written or removed.
    File(String),
    /// A command ran (`true`) or was skipped (`false`).
    Command(String, bool),
}

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The generation now in place.
    pub generation: u64,
    /// Addresses written or removed.
    pub changed: Vec<String>,
    /// Commands that ran.
    pub ran: Vec<String>,
    /// Commands skipped (no service manager for this root).
    pub skipped: Vec<String>,
}

/// How an apply ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The host already matched: no generation was recorded.
    Unchanged,
    /// A new generation is in place.
    Applied(Report),
}

/// Why an apply or a rollback did not happen or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The host step failed (see the variant for what is in place now).
    #[error(transparent)]
    Host(#[from] HostError),
    /// The saved plan is stale or is not what apply would do.
    #[error(transparent)]
    SavedPlan(#[from] Refused),
    /// The operator answered no.
    #[error("apply cancelled")]
    Cancelled,
    /// The operator could not be asked.
    #[error("{0}")]
    Unapproved(String),
    /// `scf rollback` on a root scf never applied to.
    #[error("nothing to roll back: scf has not applied anything under this root")]
    NothingApplied,
    /// `scf rollback --to N` with N not before the current generation.
    #[error("generation {to} is not before the current generation {current}")]
    NotBefore {
        /// The generation asked for.
        to: u64,
        /// The generation in place.
        current: u64,
    },
}
