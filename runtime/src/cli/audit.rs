//! `scf audit verify`: checks the audit log's hash chain and exits non-zero, naming the
//! entries, when it was tampered with.

use std::io::Write;

use clap::Subcommand;

use super::common::{CliError, line, services};
use crate::settings::parse::Lookup;

/// `scf audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; exit non-zero if any entry was changed or removed.
    Verify,
}

/// Runs an `audit` subcommand.
pub async fn execute(
    cmd: AuditCommand,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify => {
            let (_, services) = services(env).await?;
            let report = services.audit.verify().await?;
            for problem in &report.problems {
                line(out, format!("TAMPERED {problem}"))?;
            }
            if report.ok() {
                line(
                    out,
                    format!("audit log intact: {} entries verified", report.entries),
                )
            } else {
                Err(CliError::Failed(format!(
                    "audit log tampered: {} problem(s) in {} entries",
                    report.problems.len(),
                    report.entries
                )))
            }
        }
    }
}
