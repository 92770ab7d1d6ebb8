//! `scf doctor`: the deployment guide's pre- and post-deployment checklists as checks
//! against this host. A check passes, warns or fails, with the evidence it saw and, unless
//! it passed, the line that fixes it. Doctor reads; it never changes the host.
//!
//! Each module judges one part of the host with pure functions over evidence (unit-tested
//! with broken states fed in) and gathers that evidence itself: files, read-only commands
//! (`systemctl show`, `systemd-analyze security`, `df`), HTTP on loopback through
//! [`crate::probe`], and the runtime's own `scf db verify` and `scf tenant verify`.
//!
//! Before a deployment ([`Phase::Pre`]): framework.toml, its secrets, the certificate, the
//! ports, memory and disk, the packages. After it ([`Phase::Post`]): the units and their
//! sandboxes, `/health` and `/ready` through nginx, the database and every tenant,
//! Prometheus and Alertmanager, the backups and the restore drill, journald.

mod backups;
mod certificate;
mod monitoring;
mod observe;
mod packages;
mod ports;
mod resources;
mod secrets;
mod service;
pub mod show;
mod textfile;
mod units;

use crate::artifact::Artifact;
use crate::compile::Compiled;
use serde::Serialize;
use std::time::SystemTime;

/// The version of the JSON report's shape.
pub const FORMAT_VERSION: u32 = 1;

/// How a check came out, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before `scf apply`: can this host take the deployment?
    Pre,
    /// After it: is the deployment healthy?
    Post,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `unit nginx.service`.
    pub name: String,
    /// How it came out.
    pub status: Status,
    /// What doctor saw.
    pub evidence: String,
    /// What fixes it; `None` when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The phase.
    pub phase: Phase,
    /// Its checks, in checklist order.
    pub checks: Vec<Check>,
}

/// How many checks came out each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Warned.
    pub warn: usize,
    /// Failed.
    pub fail: usize,
}

/// A doctor run: what `--format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The name of the check that framework.toml is valid.
pub const CONFIG_CHECK: &str = "framework.toml";

/// The report when framework.toml is invalid: that one failed check, since every other
/// check needs the deployment it describes.
pub fn invalid_config(path: &str, errors: usize) -> Report {
    let check = Check::fail(
        CONFIG_CHECK,
        format!(
            "{path} has {errors} error{} (shown above)",
            if errors == 1 { "" } else { "s" }
        ),
        format!("fix each error at the place it names, then `scf validate --config {path}`"),
    );
    Report::new(
        "",
        vec![Section {
            phase: Phase::Pre,
            checks: vec![check],
        }],
    )
}

/// Runs the checks of `phases` on this host for the deployment `compiled` describes, whose
/// artifacts for this host are `artifacts`, at `now`.
pub fn run(
    compiled: &Compiled,
    artifacts: &[Artifact],
    phases: &[Phase],
    now: SystemTime,
) -> Report {
    let sections = phases
        .iter()
        .map(|&phase| Section {
            phase,
            checks: match phase {
                Phase::Pre => pre(compiled, artifacts, now),
                Phase::Post => post(compiled, artifacts, now),
            },
        })
        .collect();
    Report::new(compiled.model.name().as_str(), sections)
}

fn pre(compiled: &Compiled, artifacts: &[Artifact], now: SystemTime) -> Vec<Check> {
    let model = &compiled.model;
    let warnings = compiled.warnings.iter().count();
    let mut checks = vec![match warnings {
        0 => Check::pass(CONFIG_CHECK, "valid, no warnings"),
        n => Check::warn(
            CONFIG_CHECK,
            format!("valid, with {n} warning{}", if n == 1 { "" } else { "s" }),
            "`scf validate` shows each warning and its help line",
        ),
    }];
    checks.extend(secrets::checks(artifacts));
    checks.extend(certificate::checks(model, now));
    checks.extend(ports::checks(model));
    checks.extend(resources::checks(model));
    checks.extend(packages::checks(model));
    checks
}

fn post(compiled: &Compiled, artifacts: &[Artifact], now: SystemTime) -> Vec<Check> {
    let model = &compiled.model;
    let mut checks = units::checks(model, artifacts);
    checks.extend(service::checks(model));
    checks.extend(monitoring::checks(model));
    checks.extend(backups::checks(model, now));
    checks.push(units::journald());
    checks
}
