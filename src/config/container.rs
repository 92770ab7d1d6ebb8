//! The `[container]` section: the base images of the runtime image's Dockerfile and the
//! images of the development stack (compose.yaml). Every image is pinned by tag, and by
//! digest when one is given (`@sha256:…`).

use super::values::ImageRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[container]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// Build stage of the runtime image: the Rust toolchain, e.g. `rust:1.95-bookworm`.
    pub builder: ImageRef,
    /// Final stage of the runtime image, e.g. `gcr.io/distroless/cc-debian12:nonroot`.
    pub runtime: ImageRef,
    /// Images of the development stack in compose.yaml.
    pub stack: StackImages,
}

/// `[container.stack]`: the third-party images compose.yaml runs beside the framework.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackImages {
    /// PostgreSQL 15, e.g. `postgres:15-alpine`.
    pub postgres: ImageRef,
    /// Redis 7, e.g. `redis:7-alpine`.
    pub redis: ImageRef,
    /// nginx in front of the framework, e.g. `nginx:1.27-alpine`.
    pub nginx: ImageRef,
    /// Prometheus (the `monitoring` profile), e.g. `prom/prometheus:v2.53.4`.
    pub prometheus: ImageRef,
    /// Grafana (the `monitoring` profile), e.g. `grafana/grafana:11.6.0`.
    pub grafana: ImageRef,
}

impl Container {
    /// Every image with its dotted key, for checks that apply to all of them.
    pub fn images(&self) -> [(&'static str, &ImageRef); 7] {
        let s = &self.stack;
        [
            ("container.builder", &self.builder),
            ("container.runtime", &self.runtime),
            ("container.stack.postgres", &s.postgres),
            ("container.stack.redis", &s.redis),
            ("container.stack.nginx", &s.nginx),
            ("container.stack.prometheus", &s.prometheus),
            ("container.stack.grafana", &s.grafana),
        ]
    }
}
