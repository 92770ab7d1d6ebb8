//! Stage 3 of the pipeline: the validated [`Model`] every output target renders from.
//!
//! A [`Config`] that passed the structural checks still has to make sense as a whole:
//! tenants on defined plans, autoscaling bounds in order, TLS in production, and so on.
//! [`Model::build`] runs those checks, reporting every finding with its location, and
//! resolves what the targets should not have to (a tenant's plan limits and industry).

mod env;
mod tenancy;
mod validate;

pub use env::{
    COMPOSE_POSTGRES_SERVICE, COMPOSE_REDIS_SERVICE, EnvValue, EnvVar, K8S_POSTGRES_SERVICE,
    K8S_REDIS_SERVICE, Placement, STOP_TIMEOUT_SECONDS, runtime_env,
};
pub use tenancy::{PG_IDENTIFIER_MAX, TenantStore, store_name_len, tenant_store};

use crate::config::values::{Email, Identifier, Industry, Name, PlanName};
use crate::config::{
    Backup, Config, Container, Database, Firewall, Framework, Host, Kubernetes, Monitoring, Plan,
    Project, Redis, Security, Server, TargetKind, Tenancy, Tls,
};
use crate::diag::Diagnostics;
use crate::source::Loaded;

/// A deployment, validated as a whole.
#[derive(Debug, Clone)]
pub struct Model {
    /// `[project]`.
    pub project: Project,
    /// The default target of plan and apply.
    pub target: TargetKind,
    /// `[host]`, present whenever host artifacts are built.
    pub host: Option<Host>,
    /// `[server]`.
    pub server: Server,
    /// `[tls]`.
    pub tls: Option<Tls>,
    /// `[database]`.
    pub database: Database,
    /// `[redis]`.
    pub redis: Redis,
    /// `[security]`.
    pub security: Security,
    /// `[tenancy]`.
    pub tenancy: Tenancy,
    /// `[[tenants]]`, with plans resolved, sorted by id.
    pub tenants: Vec<TenantSpec>,
    /// `[framework]`.
    pub framework: Framework,
    /// `[monitoring]`.
    pub monitoring: Monitoring,
    /// `[backup]`.
    pub backup: Option<Backup>,
    /// `[firewall]`.
    pub firewall: Option<Firewall>,
    /// `[kubernetes]`, present whenever Kubernetes manifests are built.
    pub kubernetes: Option<Kubernetes>,
    /// `[container]`, present whenever the runtime image and compose stack are built.
    pub container: Option<Container>,
}

/// A tenant with its plan's limits and its industry resolved.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    /// Tenant id.
    pub id: Identifier,
    /// Plan name.
    pub plan: PlanName,
    /// The plan's limits.
    pub limits: Plan,
    /// Industry (the tenant's, or the framework default).
    pub industry: Industry,
    /// Administrator e-mail address.
    pub admin_email: Email,
}

/// A model, or every reason it could not be built. Warnings ride along either way.
pub type Built = (Option<Model>, Diagnostics);

impl Model {
    /// Validates a loaded configuration as a whole.
    pub fn build(loaded: &Loaded) -> Built {
        let diags = validate::check(&loaded.config, &loaded.doc);
        if diags.has_errors() {
            return (None, diags);
        }
        (Some(Self::from_config(loaded.config.clone())), diags)
    }

    /// Assembles a model from a configuration that passed [`validate::check`].
    fn from_config(c: Config) -> Self {
        let mut tenants: Vec<TenantSpec> = c
            .tenants
            .iter()
            .filter_map(|t| {
                Some(TenantSpec {
                    id: t.id.clone(),
                    plan: t.plan.clone(),
                    limits: c.tenancy.plans.get(&t.plan)?.clone(),
                    industry: t
                        .industry
                        .clone()
                        .unwrap_or_else(|| c.framework.default_industry.clone()),
                    admin_email: t.admin_email.clone(),
                })
            })
            .collect();
        tenants.sort_by(|a, b| a.id.cmp(&b.id));
        Self {
            project: c.project,
            target: c.target.kind,
            host: c.host,
            server: c.server,
            tls: c.tls,
            database: c.database,
            redis: c.redis,
            security: c.security,
            tenancy: c.tenancy,
            tenants,
            framework: c.framework,
            monitoring: c.monitoring,
            backup: c.backup,
            firewall: c.firewall,
            kubernetes: c.kubernetes,
            container: c.container,
        }
    }

    /// The deployment's name.
    pub fn name(&self) -> &Name {
        &self.project.name
    }
}
