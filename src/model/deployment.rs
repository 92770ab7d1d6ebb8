//! The [`Model`]: a configuration that passed every whole-file check, with what validation
//! resolved for the targets (each tenant's plan limits and industry).

use super::validate;
use crate::config::values::{Email, Identifier, Industry, Name, PlanName};
use crate::config::{Config, Plan};
use crate::diag::{Diagnostic, Diagnostics};
use crate::source::Loaded;
use std::ops::Deref;
use std::sync::Arc;

/// A deployment, validated as a whole: the [`Config`] that passed every check (its
/// sections are read through `Deref`, so a new section is declared once, in `config`),
/// plus what validation resolved for the targets.
#[derive(Debug, Clone)]
pub struct Model {
    /// The merged framework.toml, validated.
    pub config: Config,
    /// `[[tenants]]`, with plans resolved, sorted by id. (The raw entries stay in
    /// `config.tenants`.)
    pub tenants: Vec<TenantSpec>,
    /// The host of the fleet this model is projected on ([`Model::on_host`]); `None` for
    /// the deployment as a whole.
    pub projection: Option<Projection>,
}

impl Deref for Model {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.config
    }
}

/// Which host of which fleet a model is projected on.
#[derive(Debug, Clone)]
pub struct Projection {
    /// The host's name in `[[hosts]]`.
    pub host: Name,
    /// The fleet as a whole, which every projection starts from.
    pub fleet: Arc<Model>,
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
    /// Each `external_url` is first applied onto the keys it spells (see
    /// [`crate::config::Database::resolve_external_url`]).
    pub fn build(loaded: &Loaded) -> Built {
        let mut config = loaded.config.clone();
        config.database.resolve_external_url();
        config.redis.resolve_external_url();
        let mut diags = validate::check(&config, &loaded.doc);
        if diags.has_errors() {
            return (None, diags);
        }
        let model = Self::from_config(config, &mut diags);
        (model, diags)
    }

    /// Assembles a model from a configuration that passed [`validate::check`], which
    /// already refused a tenant on an undefined plan: should one slip through, it is
    /// reported as a bug rather than dropped.
    fn from_config(config: Config, diags: &mut Diagnostics) -> Option<Self> {
        let mut tenants = Vec::with_capacity(config.tenants.len());
        for t in &config.tenants {
            let Some(limits) = config.tenancy.plans.get(&t.plan) else {
                diags.push(Diagnostic::error(
                    "scf::internal",
                    format!(
                        "tenant `{}` is on plan `{}`, which validation should have refused; this is a bug in scf, please report it",
                        t.id, t.plan
                    ),
                    None,
                ));
                return None;
            };
            tenants.push(TenantSpec {
                id: t.id.clone(),
                plan: t.plan.clone(),
                limits: limits.clone(),
                industry: t
                    .industry
                    .clone()
                    .unwrap_or_else(|| config.framework.default_industry.clone()),
                admin_email: t.admin_email.clone(),
            });
        }
        tenants.sort_by(|a, b| a.id.cmp(&b.id));
        Some(Self {
            config,
            tenants,
            projection: None,
        })
    }

    /// The deployment's name.
    pub fn name(&self) -> &Name {
        &self.project.name
    }
}
