//! What every command shares: its error ([`CliError`]), settings and connected services
//! from the environment, the audit entry of a CLI action, and report lines.

use std::io::Write;

use crate::settings::parse::Lookup;
use crate::settings::{Mode, Settings, SettingsError};
use crate::state::{Services, StartError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A service could not be reached or prepared.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A check failed; the output says which.
    #[error("{0}")]
    Failed(String),
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::db::DbError> for CliError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Start(e.into())
    }
}

impl From<crate::audit::seal::SealError> for CliError {
    fn from(e: crate::audit::seal::SealError) -> Self {
        Self::Start(e.into())
    }
}

impl From<sqlx::Error> for CliError {
    fn from(e: sqlx::Error) -> Self {
        Self::Start(crate::db::DbError::Query(e).into())
    }
}

impl From<crate::audit::AppendError> for CliError {
    fn from(e: crate::audit::AppendError) -> Self {
        Self::Failed(e.to_string())
    }
}

impl From<crate::tenancy::TenantError> for CliError {
    fn from(e: crate::tenancy::TenantError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// Settings for the non-server commands: the mode follows `ENVIRONMENT`.
pub(super) fn settings(env: Lookup<'_>) -> Result<Settings, CliError> {
    Ok(Settings::from_lookup(
        Mode::resolve(false, false, env),
        env,
    )?)
}

/// Connected services for a command.
pub(super) async fn services(env: Lookup<'_>) -> Result<(Settings, Services), CliError> {
    let settings = settings(env)?;
    let services = Services::connect(&settings).await?;
    Ok((settings, services))
}

/// An audit entry for a CLI action.
pub(super) fn cli_entry(
    action: &str,
    target: String,
    tenant: Option<String>,
) -> crate::audit::AuditEntry {
    crate::audit::AuditEntry {
        request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        actor: "cli".to_owned(),
        tenant_id: tenant,
        action: action.to_owned(),
        target,
        status: 0,
    }
}

/// `ok` / `FAILED` marker for check lists.
pub(super) fn mark(ok: bool) -> &'static str {
    if ok { "ok    " } else { "FAILED" }
}

/// Writes one line, mapping the error.
pub(super) fn line(
    out: &mut (dyn Write + Send),
    text: impl std::fmt::Display,
) -> Result<(), CliError> {
    writeln!(out, "{text}")?;
    Ok(())
}
