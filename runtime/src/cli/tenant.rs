//! `scf tenant create | verify | list`, the guide's tenant provisioning, on the same
//! service as the admin API.

use std::io::Write;

use clap::Subcommand;

use super::common::{CliError, cli_entry, line, mark, services};
use crate::domain::email::Email;
use crate::domain::tenant::TenantId;
use crate::settings::parse::Lookup;
use crate::tenancy::{NewTenant, TenantError};

/// `scf tenant` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Provision a tenant: its database or schema, migrations and first admin.
    Create {
        /// Tenant id: lowercase letters, digits, '_' or '-', e.g. customer_123.
        #[arg(long)]
        tenant_id: String,
        /// Plan: small, medium or large (or a plan from TENANT_PLANS).
        #[arg(long)]
        plan: String,
        /// Industry, e.g. FURNITURE (default: DEFAULT_INDUSTRY).
        #[arg(long)]
        industry: Option<String>,
        /// The first admin's email.
        #[arg(long)]
        admin_email: String,
        /// When the tenant exists, leave it as it is and verify it instead: what a
        /// provisioning run that repeats on every deploy (the Kubernetes tenants Job) needs.
        #[arg(long)]
        if_absent: bool,
    },
    /// Check a tenant's store, migrations, admin and usage; exit non-zero on a problem.
    Verify {
        /// Tenant id.
        #[arg(long)]
        tenant_id: String,
    },
    /// List tenants.
    List {
        /// Only active tenants.
        #[arg(long)]
        active_only: bool,
    },
}

fn parse_id(raw: &str) -> Result<TenantId, CliError> {
    TenantId::parse(raw).map_err(|e| CliError::Failed(format!("--tenant-id: {e}")))
}

/// Checks a tenant, one line per check; an error when one fails.
async fn verify(
    tenancy: &crate::tenancy::Tenancy,
    id: &TenantId,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let report = tenancy.verify(id).await?;
    for c in &report.checks {
        line(out, format!("{} {}: {}", mark(c.ok), c.name, c.detail))?;
    }
    if report.ok {
        line(out, format!("tenant {id} verified"))
    } else {
        Err(CliError::Failed(format!("tenant {id} failed verification")))
    }
}

/// Runs a `tenant` subcommand.
pub async fn execute(
    cmd: TenantCommand,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (_, services) = services(env).await?;
    let tenancy = &services.tenancy;
    match cmd {
        TenantCommand::Create {
            tenant_id,
            plan,
            industry,
            admin_email,
            if_absent,
        } => {
            let id = parse_id(&tenant_id)?;
            if if_absent {
                match tenancy.get(&id).await {
                    Ok(_) => return verify(tenancy, &id, out).await,
                    Err(TenantError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let admin_email = Email::parse(&admin_email)
                .map_err(|e| CliError::Failed(format!("--admin-email: {e}")))?;
            let done = tenancy
                .create(NewTenant {
                    id: id.clone(),
                    plan,
                    industry,
                    admin_email,
                })
                .await?;
            services
                .audit
                .append(&cli_entry(
                    "tenant create",
                    format!("tenant:{id}"),
                    Some(id.to_string()),
                ))
                .await?;
            let t = &done.tenant;
            line(
                out,
                format!(
                    "created tenant {} (plan {}, industry {}, isolation {})",
                    t.tenant_id, t.plan, t.industry, t.isolation
                ),
            )?;
            line(
                out,
                format!(
                    "admin user {}; initial password (shown once): {}",
                    done.admin_user_id, done.admin_password
                ),
            )
        }
        TenantCommand::Verify { tenant_id } => verify(tenancy, &parse_id(&tenant_id)?, out).await,
        TenantCommand::List { active_only } => {
            let tenants = tenancy.list(active_only).await?;
            line(
                out,
                format!(
                    "{:<32} {:<8} {:<10} {:<9} {}",
                    "TENANT", "PLAN", "STATUS", "ISOLATION", "INDUSTRY"
                ),
            )?;
            for t in &tenants {
                line(
                    out,
                    format!(
                        "{:<32} {:<8} {:<10} {:<9} {}",
                        t.tenant_id, t.plan, t.status, t.isolation, t.industry
                    ),
                )?;
            }
            line(out, format!("{} tenant(s)", tenants.len()))
        }
    }
}
