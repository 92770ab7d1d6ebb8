//! What `scf doctor` asks of a deployed runtime's database, as data: the checks of
//! `scf db verify` and of `scf tenant verify` for every tenant, by the same code those
//! commands print. The settings come from the deployment's env file, as theirs do with
//! `--env-file`.

use std::path::Path;

use super::common::{CliError, services};
use super::db;
use super::environment::SettingsArgs;
use crate::domain::tenant::TenantId;
use crate::settings::parse::Lookup;
use crate::tenancy::{Check, Verification};

/// The database's state as `scf db verify` and `scf tenant verify` see it.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The checks of `scf db verify`; the control plane's migrations are the one named
    /// [`db::MIGRATIONS`].
    pub database: Vec<Check>,
    /// Each tenant's `scf tenant verify`; `None` when the control plane's migrations are
    /// not current, so its tenant registry cannot be trusted.
    pub tenants: Option<Vec<Verification>>,
}

/// Verifies the database of the deployment whose env file is `env_file` (variables of
/// `process` win, as for the commands).
pub fn verify(env_file: &Path, process: Lookup<'_>) -> Result<Verified, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let args = SettingsArgs {
        dev: false,
        env_file: Some(env_file.to_path_buf()),
    };
    let environment = args.environment(process)?;
    let env = environment.lookup();
    runtime.block_on(async {
        let (settings, services) = services(&env).await?;
        let database = db::checks(&settings, &services).await?;
        let current = database.iter().any(|c| c.name == db::MIGRATIONS && c.ok);
        let tenants = match current {
            false => None,
            true => {
                let mut verified = Vec::new();
                for tenant in services.tenancy.list(false).await? {
                    let id = TenantId::parse(&tenant.tenant_id)
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    verified.push(services.tenancy.verify(&id).await?);
                }
                Some(verified)
            }
        };
        Ok(Verified { database, tenants })
    })
}
