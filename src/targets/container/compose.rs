//! `container/compose.yaml`: the guide's development stack as Compose Specification
//! structs, serialised with serde-saphyr. The framework (built from the Dockerfile, or the
//! digest-pinned image Kubernetes runs), a one-shot `db-init` and `migrate`, PostgreSQL,
//! Redis and nginx; Prometheus and Grafana under the `monitoring` profile. Every service
//! has a health check that its dependants wait on, state lives in named volumes, secrets
//! come from the env files, and published ports bind 127.0.0.1 unless
//! `SCF_PUBLISH_ADDRESS` says otherwise.

mod services;

use super::stack::{Stack, Timing, UID, yaml_error};
use crate::config::Container;
use crate::model::Model;
use crate::model::layout;
use crate::targets::error::TargetError;
use serde::Serialize;
use std::collections::BTreeMap;

/// The compose profile of the monitoring services.
const MONITORING: &str = "monitoring";
/// Default host address of every published port.
const PUBLISH_ADDRESS: &str = "${SCF_PUBLISH_ADDRESS:-127.0.0.1}";

/// A Compose file.
#[derive(Serialize)]
struct ComposeFile {
    name: String,
    services: BTreeMap<&'static str, Service>,
    volumes: BTreeMap<String, NamedVolume>,
}

/// One service; empty fields are left out.
#[derive(Serialize, Default)]
struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<Build>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_drop: Vec<&'static str>,
    security_opt: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tmpfs: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env_file: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<&'static str, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    restart: &'static str,
}

/// How the framework image is built.
#[derive(Serialize, Clone)]
struct Build {
    context: &'static str,
    dockerfile: &'static str,
    args: BTreeMap<&'static str, &'static str>,
}

/// A published port (long syntax).
#[derive(Serialize)]
struct Port {
    host_ip: &'static str,
    published: String,
    target: u16,
    protocol: &'static str,
}

/// A mount (long syntax). Bind mounts never create a missing source: a missing file is an
/// error, not an empty dir mounted in its place.
#[derive(Serialize)]
struct Mount {
    #[serde(rename = "type")]
    kind: &'static str,
    source: String,
    target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<BindOptions>,
}

#[derive(Serialize)]
struct BindOptions {
    create_host_path: bool,
}

impl Mount {
    /// A named volume at `target`.
    fn volume(name: &str, target: impl Into<String>) -> Self {
        Self {
            kind: "volume",
            source: name.to_string(),
            target: target.into(),
            read_only: false,
            bind: None,
        }
    }
    /// A read-only file from the build output, `source` relative to compose.yaml.
    fn file(source: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            kind: "bind",
            source: source.into(),
            target: target.into(),
            read_only: true,
            bind: Some(BindOptions {
                create_host_path: false,
            }),
        }
    }
}

/// A start-up dependency.
#[derive(Serialize, Clone, Copy)]
struct Dependency {
    condition: &'static str,
}

/// Wait until the service's health check passes.
const HEALTHY: Dependency = Dependency {
    condition: "service_healthy",
};
/// Wait until the one-shot service has exited 0.
const COMPLETED: Dependency = Dependency {
    condition: "service_completed_successfully",
};

/// A health check; durations in Compose's `10s` form.
#[derive(Serialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: String,
}

impl Healthcheck {
    fn new(test: Vec<String>, t: Timing) -> Self {
        Self {
            test,
            interval: format!("{}s", t.interval),
            timeout: format!("{}s", t.timeout),
            retries: t.retries,
            start_period: format!("{}s", t.start_period),
        }
    }
}

/// A top-level named volume with the engine's defaults: `{}`.
#[derive(Serialize)]
struct NamedVolume {}

/// Renders compose.yaml.
pub(super) fn render(
    model: &Model,
    container: &Container,
    stack: &Stack,
) -> Result<String, TargetError> {
    let services = services::all(model, container, stack)?;
    let volumes = services
        .values()
        .flat_map(|s| &s.volumes)
        .filter(|m| m.kind == "volume")
        .map(|m| (m.source.clone(), NamedVolume {}))
        .collect();
    let file = ComposeFile {
        name: model.name().to_string(),
        services,
        volumes,
    };
    let yaml = serde_saphyr::to_string(&file).map_err(|e| yaml_error("compose.yaml", e))?;
    Ok(format!(
        "# Development stack of {name} (the guide's `docker-compose up -d`), generated by scf from\n\
         # framework.toml. Do not edit: run `scf build`.\n\
         #   docker compose up -d                          # framework, PostgreSQL, Redis, nginx\n\
         #   docker compose --profile monitoring up -d     # plus Prometheus and Grafana\n\
         # Fill the @@scf-secret:…@@ markers in the *.env files first. The framework image is built\n\
         # from the scf repository at $SCF_SOURCE_DIR (default ../.., this file being in\n\
         # build/container/) with the Dockerfile at $SCF_DOCKERFILE, relative to it.\n\
         # Ports bind $SCF_PUBLISH_ADDRESS, 127.0.0.1 unless set. The framework runs as UID {UID},\n\
         # its state in {data}.\n{yaml}",
        name = model.name(),
        data = layout::state_dir(model),
    ))
}
