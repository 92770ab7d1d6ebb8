//! Carrying out a host plan. [`apply`] is the whole sequence `scf apply` runs on a host
//! (lock, plan, check a saved plan or ask about a fresh one, execute), and [`rollback`]
//! is `scf rollback`; the CLI only parses its arguments into a [`Request`], answers the
//! [`Operator`]'s questions and prints, so a test calls them exactly as the CLI does.
//!
//! - `request`: what the caller asks and what it is told back (leaf);
//! - `sequence`: the steps around an execution: lock, plan, staleness, resuming;
//! - `execute`: install packages, stage, validate, record, swap, reload, probe, roll
//!   back on failure;
//! - `install`: the packages phase, apt-get with every daemon held (leaf);
//! - `restore`: put a recorded generation back in place (rollback and failed applies);
//! - `seed`: the files a check needs that another owner replaces later (leaf);
//! - `write`: one file's new content, and the implied commands (leaf).

mod execute;
mod install;
mod request;
mod restore;
mod seed;
mod sequence;
mod write;

pub use request::{
    ApplyError, Note, Operator, Outcome, ProbeAt, Report, Request, RollbackRequest, Step,
};
pub use sequence::{apply, rollback};
