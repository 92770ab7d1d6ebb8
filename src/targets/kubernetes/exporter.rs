//! The datastores' exporter sidecars, when Prometheus is on: postgres-exporter beside
//! PostgreSQL, logging in as the monitoring role (`<user>_monitor`, which the migration
//! Job's bootstrap creates), and redis-exporter beside Redis. Each has the host exporter's
//! environment ([`crate::targets::prometheus::exporters`]) on the pod's loopback, its
//! password from the Secret key that holds the same reference, the image of
//! `kubernetes.postgres.exporter_image` / `kubernetes.redis.exporter_image`, and the
//! hardening of every container.

use super::config::secret_refs;
use super::meta::{App, Ctx, SECRET};
use super::pod::{
    LIVENESS, POSTGRES_UID, READINESS, REDIS_UID, hardened_container, plain_env, resources,
    secret_env, tcp_probe,
};
use crate::config::exporter_resources;
use crate::model::{EnvValue, EnvVar};
use crate::targets::prometheus::exporters::{postgres_vars, redis_vars};
use crate::targets::prometheus::metrics::{POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT};
use k8s_openapi::api::core::v1::{Container, ContainerPort};

/// One exporter sidecar: what it watches and where Prometheus scrapes it.
pub(super) struct Exporter {
    /// The datastore whose pod it runs in.
    pub app: App,
    /// Its scrape job, as on a host.
    pub job: &'static str,
    /// The container port's name.
    pub port_name: &'static str,
    /// The port it listens on, its default.
    pub port: u16,
}

/// The exporters of this deployment: one per managed datastore, when Prometheus is on.
pub(super) fn exporters(c: Ctx) -> Vec<Exporter> {
    let mut out = Vec::new();
    if c.m.monitors_postgres() {
        out.push(Exporter {
            app: App::Postgres,
            job: "postgres",
            port_name: "pg-exporter",
            port: POSTGRES_EXPORTER_PORT,
        });
    }
    if c.m.monitors_redis() {
        out.push(Exporter {
            app: App::Redis,
            job: "redis",
            port_name: "redis-exporter",
            port: REDIS_EXPORTER_PORT,
        });
    }
    out
}

/// The sidecar of `app`'s pod, if it has one.
pub(super) fn sidecar(c: Ctx, app: App) -> Option<Container> {
    let e = exporters(c).into_iter().find(|e| e.app == app)?;
    let (name, spec, uid, vars) = match app {
        App::Postgres => (
            "postgres-exporter",
            c.k.postgres_spec(),
            POSTGRES_UID,
            postgres_vars(c.m, c.m.database.monitor_password.as_ref()?),
        ),
        App::Redis => (
            "redis-exporter",
            c.k.redis_spec(c.m.redis.maxmemory),
            REDIS_UID,
            redis_vars(c.m),
        ),
        _ => return None,
    };
    let refs = secret_refs(c.m);
    let env = vars
        .into_iter()
        .map(|EnvVar { name, value }| match value {
            EnvValue::Plain(v) => Some(plain_env(name, v)),
            // The Secret key that `scf apply` fills from the same reference.
            EnvValue::Secret(r) => refs
                .iter()
                .find(|(_, known)| **known == r)
                .map(|(key, _)| secret_env(name, SECRET, key)),
        })
        .collect::<Option<Vec<_>>>()?;
    let mut container = hardened_container(name, spec.exporter_image.to_string(), uid);
    container.env = Some(env);
    container.ports = Some(vec![ContainerPort {
        name: Some(e.port_name.into()),
        container_port: i32::from(e.port),
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }]);
    container.liveness_probe = Some(tcp_probe(e.port_name, LIVENESS));
    container.readiness_probe = Some(tcp_probe(e.port_name, READINESS));
    container.resources = Some(resources(&exporter_resources()));
    Some(container)
}
