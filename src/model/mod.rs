//! Stage 3 of the pipeline: the validated [`Model`] every output target renders from.
//!
//! A [`Config`](crate::config::Config) that passed the structural checks still has to make sense as a whole:
//! tenants on defined plans, autoscaling bounds in order, TLS in production, and so on.
//! [`Model::build`] runs those checks, reporting every finding with its location, and
//! resolves what the targets should not have to (a tenant's plan limits and industry).
//! [`Model::on_host`] projects a fleet's model onto one of its hosts (`fleet`).

mod deployment;
mod env;
mod fleet;
pub mod layout;
mod tenancy;
mod tls;
mod validate;

pub use crate::config::Role;
pub use deployment::{Built, Model, Projection, TenantSpec};
pub use env::{
    COMPOSE_POSTGRES_SERVICE, COMPOSE_REDIS_SERVICE, EnvValue, EnvVar, K8S_POSTGRES_SERVICE,
    K8S_REDIS_SERVICE, Placement, STOP_TIMEOUT_SECONDS, k8s_postgres_host, metrics_listen,
    runtime_env,
};
pub use fleet::Peers;
pub use tenancy::{PG_IDENTIFIER_MAX, TenantStore, store_name_len, tenant_store};
pub use tls::TlsFiles;
