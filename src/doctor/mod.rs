//! `scf doctor`: the deployment guide's pre- and post-deployment checklists as checks
//! against this host. A check passes, warns or fails, with the evidence it saw and, unless
//! it passed, the line that fixes it. Doctor reads; it never changes the host. On a fleet,
//! each host's agent runs it on itself ([`crate::fleet::checkup`]).
//!
//! Each module judges one part of the host with pure functions over evidence (unit-tested
//! with broken states fed in) and gathers that evidence itself: files, read-only commands
//! (`systemctl show`, `systemd-analyze security`, `df`), HTTP on loopback through
//! [`crate::probe`], and the runtime's own `scf db verify` and `scf tenant verify`.
//!
//! Before a deployment ([`Phase::Pre`]): framework.toml, its secrets, the certificate, the
//! ports, memory and disk, the packages. After it ([`Phase::Post`]): the units and their
//! sandboxes, `/health` and `/ready` through nginx, the database and every tenant,
//! Prometheus and Alertmanager, the backups and the restore drill, journald. On
//! Kubernetes ([`run_on_cluster`]), framework.toml and its secrets before, and after, what
//! [`cluster`] reads through the API server.

mod backups;
mod certificate;
pub mod cluster;
mod monitoring;
mod observe;
mod packages;
mod ports;
mod report;
mod resources;
mod secrets;
mod service;
pub mod show;
mod units;

use crate::artifact::Artifact;
use crate::compile::Compiled;
use std::time::SystemTime;

pub use report::{Check, FORMAT_VERSION, Phase, Report, Section, Status, Summary};

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
    let mut checks = vec![config(compiled)];
    checks.extend(secrets::checks(artifacts));
    checks.extend(certificate::checks(model, now));
    checks.extend(ports::checks(model));
    checks.extend(resources::checks(model));
    checks.extend(packages::checks(model));
    checks
}

/// framework.toml is valid; its warnings make a warning.
fn config(compiled: &Compiled) -> Check {
    match compiled.warnings.iter().count() {
        0 => Check::pass(CONFIG_CHECK, "valid, no warnings"),
        n => Check::warn(
            CONFIG_CHECK,
            format!("valid, with {n} warning{}", if n == 1 { "" } else { "s" }),
            "`scf validate` shows each warning and its help line",
        ),
    }
}

/// Runs the checks of `phases` for the Kubernetes deployment `compiled` describes: before,
/// framework.toml and its secrets; after, what `evidence` (read by [`cluster::gather`])
/// shows at `now`.
pub fn run_on_cluster(
    compiled: &Compiled,
    phases: &[Phase],
    evidence: &cluster::Evidence,
    now: SystemTime,
) -> Report {
    let namespace = compiled
        .model
        .kubernetes
        .as_ref()
        .map_or("", |k| k.namespace.as_str());
    let sections = phases
        .iter()
        .map(|&phase| Section {
            phase,
            checks: match phase {
                Phase::Pre => {
                    let mut checks = vec![config(compiled)];
                    checks.extend(secrets::cluster_checks(&compiled.model));
                    checks
                }
                Phase::Post => cluster::checks(evidence, namespace, now),
            },
        })
        .collect();
    Report::new(compiled.model.name().as_str(), sections)
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
