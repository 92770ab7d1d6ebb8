//! The files compose.yaml reads or mounts, beside it under `container/`: one env file per
//! service that needs secrets (markers only, mode 0600), and the stack's own variants of
//! the nginx site, prometheus.yml and Grafana's data source, which must name the stack's
//! services (`framework`, `prometheus`) where the host's files name 127.0.0.1.

use super::stack::{Stack, port, yaml_error};
use crate::config::values::SecretRef;
use crate::model::{EnvValue, EnvVar, Model, Placement, runtime_env};
use crate::render::Renderer;
use crate::targets::env::Var;
use crate::targets::error::TargetError;
use scf_runtime::settings::METRICS_PORT;
use serde::Serialize;
use std::collections::BTreeMap;

/// The env files' template.
pub(super) const ENV_TEMPLATE: &str = "container/service.env.j2";
/// The nginx site's template.
pub(super) const NGINX_TEMPLATE: &str = "container/nginx.conf.j2";
/// Prometheus's config, relative to compose.yaml.
pub(super) const PROMETHEUS_CONFIG: &str = "./prometheus/prometheus.yml";

/// The nginx site, relative to compose.yaml.
pub(super) fn nginx_site(model: &Model) -> String {
    format!("./nginx/{}.conf", model.name())
}

/// Grafana's data source, relative to compose.yaml.
pub(super) fn grafana_datasource(model: &Model) -> String {
    format!("./grafana/datasources/{}.yaml", model.name())
}

/// A file for the target to emit: (path under `container/`, text, mode).
pub(super) type File = (String, String, u32);

/// Every file the stack reads, for the services it runs.
pub(super) fn render(
    model: &Model,
    stack: &Stack,
    renderer: &Renderer,
) -> Result<Vec<File>, TargetError> {
    let env = |service: &str, vars: Vec<EnvVar>| -> Result<File, TargetError> {
        let text = env_file(model, service, vars, renderer)?;
        Ok((format!("{service}.env"), text, 0o600))
    };
    let mut files = vec![
        env("framework", runtime_env(model, Placement::Compose))?,
        (
            strip(&nginx_site(model)),
            renderer.render(NGINX_TEMPLATE, &NginxSite::new(model))?,
            0o644,
        ),
    ];
    if stack.postgres {
        files.push(env(
            "postgres",
            secret("POSTGRES_PASSWORD", &model.database.password),
        )?);
    }
    if stack.redis {
        files.push(env(
            "redis",
            secret("REDIS_PASSWORD", &model.redis.password),
        )?);
    }
    if stack.prometheus {
        let yaml = serde_saphyr::to_string(&prometheus(model, stack))
            .map_err(|e| yaml_error(PROMETHEUS_CONFIG, e))?;
        files.push((strip(PROMETHEUS_CONFIG), yaml, 0o644));
    }
    if stack.grafana {
        let yaml = serde_saphyr::to_string(&datasources())
            .map_err(|e| yaml_error("grafana datasource", e))?;
        files.push((strip(&grafana_datasource(model)), yaml, 0o644));
    }
    Ok(files)
}

/// A path relative to compose.yaml as a path under `container/`.
fn strip(relative: &str) -> String {
    relative.trim_start_matches("./").to_string()
}

fn secret(name: &'static str, r: &SecretRef) -> Vec<EnvVar> {
    vec![EnvVar {
        name,
        value: EnvValue::Secret(r.clone()),
    }]
}

/// What the env file template sees.
#[derive(Serialize)]
struct EnvContext<'a> {
    name: &'a str,
    service: &'a str,
    vars: Vec<Var>,
}

fn env_file(
    model: &Model,
    service: &str,
    vars: Vec<EnvVar>,
    renderer: &Renderer,
) -> Result<String, TargetError> {
    let vars = Var::lines(vars);
    let context = EnvContext {
        name: model.name().as_str(),
        service,
        vars,
    };
    Ok(renderer.render(ENV_TEMPLATE, &context)?)
}

/// What the nginx template sees.
#[derive(Serialize)]
struct NginxSite {
    name: String,
    domain: String,
    listen_port: u16,
    upstream: String,
    max_upload_mb: u32,
    timeout_seconds: u64,
}

impl NginxSite {
    fn new(model: &Model) -> Self {
        Self {
            name: model.name().to_string(),
            domain: model.server.domain.to_string(),
            listen_port: 80,
            upstream: format!("framework:{}", port(model)),
            max_upload_mb: model.server.max_upload_mb,
            timeout_seconds: model.server.request_timeout.as_secs(),
        }
    }
}

/// prometheus.yml for the stack: scrapes the framework service.
#[derive(Serialize)]
struct PrometheusConfig {
    global: Global,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rule_files: Vec<String>,
    scrape_configs: Vec<ScrapeConfig>,
}

#[derive(Serialize)]
struct Global {
    scrape_interval: String,
    evaluation_interval: String,
}

#[derive(Serialize)]
struct ScrapeConfig {
    job_name: String,
    metrics_path: &'static str,
    static_configs: Vec<StaticConfig>,
}

#[derive(Serialize)]
struct StaticConfig {
    targets: Vec<String>,
    labels: BTreeMap<&'static str, String>,
}

fn prometheus(model: &Model, stack: &Stack) -> PrometheusConfig {
    let interval = format!("{}s", model.monitoring.scrape_interval.as_secs());
    PrometheusConfig {
        global: Global {
            scrape_interval: interval.clone(),
            evaluation_interval: interval,
        },
        // The host build's alert rules, mounted by compose.yaml on a `[host]` model.
        rule_files: if stack.host_files {
            vec!["/etc/prometheus/rules/*.rules.yml".into()]
        } else {
            Vec::new()
        },
        scrape_configs: vec![ScrapeConfig {
            job_name: model.name().to_string(),
            metrics_path: "/metrics",
            static_configs: vec![StaticConfig {
                targets: vec![format!("framework:{METRICS_PORT}")],
                labels: BTreeMap::from([("deployment", model.name().to_string())]),
            }],
        }],
    }
}

/// Grafana's data source provisioning file.
#[derive(Serialize)]
struct Datasources {
    #[serde(rename = "apiVersion")]
    api_version: u32,
    datasources: Vec<Datasource>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Datasource {
    name: &'static str,
    uid: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    access: &'static str,
    url: &'static str,
    is_default: bool,
    editable: bool,
}

/// The stack's Prometheus as Grafana's default data source, uid `prometheus`.
fn datasources() -> Datasources {
    Datasources {
        api_version: 1,
        datasources: vec![Datasource {
            name: "Prometheus",
            uid: "prometheus",
            kind: "prometheus",
            access: "proxy",
            url: "http://prometheus:9090",
            is_default: true,
            editable: false,
        }],
    }
}
