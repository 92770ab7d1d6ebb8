//! What a doctor run reports: each [`Check`] with its [`Status`], evidence and fix, the
//! checks of each [`Phase`], and the [`Report`] that `--format json` prints.

use serde::{Deserialize, Serialize};

/// The version of the JSON report's shape.
pub const FORMAT_VERSION: u32 = 1;

/// How a check came out, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Pass,
    /// Works, but needs attention (or has not happened yet, like a first restore drill).
    Warn,
    /// Broken: the fix line says what to do.
    Fail,
}

/// When in a deployment's life a check belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before `scf apply`: can this host take the deployment?
    Pre,
    /// After it: is the deployment healthy?
    Post,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, e.g. `unit nginx.service`.
    pub name: String,
    /// How it came out.
    pub status: Status,
    /// What doctor saw.
    pub evidence: String,
    /// What fixes it; `None` when it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A check that passed.
    pub fn pass(name: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self::new(name, Status::Pass, evidence, None)
    }

    /// A check that warns, with what to do about it.
    pub fn warn(
        name: impl Into<String>,
        evidence: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Warn, evidence, Some(fix.into()))
    }

    /// A check that failed, with what fixes it.
    pub fn fail(
        name: impl Into<String>,
        evidence: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Fail, evidence, Some(fix.into()))
    }

    fn new(
        name: impl Into<String>,
        status: Status,
        evidence: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status,
            evidence: evidence.into(),
            fix,
        }
    }
}

/// The checks of one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The phase.
    pub phase: Phase,
    /// Its checks, in checklist order.
    pub checks: Vec<Check>,
}

/// How many checks came out each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Warned.
    pub warn: usize,
    /// Failed.
    pub fail: usize,
}

/// A doctor run: what `--format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The project checked.
    pub project: String,
    /// The phases run, in order.
    pub sections: Vec<Section>,
    /// The count of each status.
    pub summary: Summary,
}

impl Report {
    /// A report of `sections`, counted.
    pub fn new(project: impl Into<String>, sections: Vec<Section>) -> Self {
        let mut summary = Summary::default();
        for check in sections.iter().flat_map(|s| &s.checks) {
            match check.status {
                Status::Pass => summary.pass += 1,
                Status::Warn => summary.warn += 1,
                Status::Fail => summary.fail += 1,
            }
        }
        Self {
            format_version: FORMAT_VERSION,
            project: project.into(),
            sections,
            summary,
        }
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.summary.fail > 0
    }
}
