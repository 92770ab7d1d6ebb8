//! `scf validate [FILE]`: every error in framework.toml, located, with its fix.

use super::report::load_or_report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `scf validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The file to check (overrides --config).
    pub file: Option<PathBuf>,
}

/// Validates `path` and summarises the deployment it describes.
pub fn run(path: &Path) -> ExitCode {
    let Some(compiled) = load_or_report(path) else {
        return ExitCode::FAILURE;
    };
    let m = &compiled.model;
    let mut targets = Vec::new();
    match m.fleet() {
        Some(hosts) => targets.push(format!("a fleet of {} hosts", hosts.len())),
        None if m.host.is_some() => targets.push("host".into()),
        None => {}
    }
    if m.kubernetes.is_some() {
        targets.push("kubernetes".into());
    }
    println!(
        "{} is valid: project `{}`, {} tenant{}, builds for {}",
        path.display(),
        m.name(),
        m.tenants.len(),
        if m.tenants.len() == 1 { "" } else { "s" },
        targets.join(" and ")
    );
    ExitCode::SUCCESS
}
