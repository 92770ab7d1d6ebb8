//! The Compose Specification's structs that compose.yaml is made of, and the values the
//! services share (profile, published address, start-up conditions): a leaf, so the
//! services module and the file's renderer both import it and neither imports the other.

use crate::targets::container::stack::Timing;
use serde::Serialize;
use std::collections::BTreeMap;

/// The compose profile of the monitoring services.
pub(super) const MONITORING: &str = "monitoring";
/// Default host address of every published port.
pub(super) const PUBLISH_ADDRESS: &str = "${SCF_PUBLISH_ADDRESS:-127.0.0.1}";

/// A Compose file.
#[derive(Serialize)]
pub(super) struct ComposeFile {
    pub(super) name: String,
    pub(super) services: BTreeMap<&'static str, Service>,
    pub(super) volumes: BTreeMap<String, NamedVolume>,
}

/// One service; empty fields are left out.
#[derive(Serialize, Default)]
pub(super) struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) build: Option<Build>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) profiles: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) cap_drop: Vec<&'static str>,
    pub(super) security_opt: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tmpfs: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) env_file: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) environment: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) ports: Vec<Port>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) depends_on: BTreeMap<&'static str, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) healthcheck: Option<Healthcheck>,
    pub(super) restart: &'static str,
}

/// How the framework image is built.
#[derive(Serialize, Clone)]
pub(super) struct Build {
    pub(super) context: &'static str,
    pub(super) dockerfile: &'static str,
    pub(super) args: BTreeMap<&'static str, &'static str>,
}

/// A published port (long syntax).
#[derive(Serialize)]
pub(super) struct Port {
    pub(super) host_ip: &'static str,
    pub(super) published: String,
    pub(super) target: u16,
    pub(super) protocol: &'static str,
}

/// A mount (long syntax). Bind mounts never create a missing source: a missing file is an
/// error, not an empty dir mounted in its place.
#[derive(Serialize)]
pub(super) struct Mount {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) source: String,
    pub(super) target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) bind: Option<BindOptions>,
}

#[derive(Serialize)]
pub(super) struct BindOptions {
    pub(super) create_host_path: bool,
}

impl Mount {
    /// A named volume at `target`.
    pub(super) fn volume(name: &str, target: impl Into<String>) -> Self {
        Self {
            kind: "volume",
            source: name.to_string(),
            target: target.into(),
            read_only: false,
            bind: None,
        }
    }
    /// A read-only file from the build output, `source` relative to compose.yaml.
    pub(super) fn file(source: impl Into<String>, target: impl Into<String>) -> Self {
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
pub(super) struct Dependency {
    pub(super) condition: &'static str,
}

/// Wait until the service's health check passes.
pub(super) const HEALTHY: Dependency = Dependency {
    condition: "service_healthy",
};
/// Wait until the one-shot service has exited 0.
pub(super) const COMPLETED: Dependency = Dependency {
    condition: "service_completed_successfully",
};

/// A health check; durations in Compose's `10s` form.
#[derive(Serialize)]
pub(super) struct Healthcheck {
    pub(super) test: Vec<String>,
    pub(super) interval: String,
    pub(super) timeout: String,
    pub(super) retries: u32,
    pub(super) start_period: String,
}

impl Healthcheck {
    pub(super) fn new(test: Vec<String>, t: Timing) -> Self {
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
pub(super) struct NamedVolume {}
