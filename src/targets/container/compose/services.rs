//! The services of compose.yaml, one function each. The framework's settings mirror the
//! Kubernetes pod: UID 10001, a read-only root filesystem, every capability dropped, no
//! new privileges, `/tmp` as tmpfs, and the state dir on a volume.

use super::spec::{
    Build, COMPLETED, Dependency, HEALTHY, Healthcheck, MONITORING, Mount, PUBLISH_ADDRESS, Port,
    Service,
};
use crate::config::Container;
use crate::model::layout;
use crate::model::{COMPOSE_POSTGRES_SERVICE, COMPOSE_REDIS_SERVICE, Model};
use crate::render::escape::shell;
use crate::targets::container::files;
use crate::targets::container::stack::{
    FRAMEWORK_ENV, FRAMEWORK_HEALTH, HEALTH_PATH, POSTGRES_ENV, REDIS_ENV, Stack, Timing, UID,
    health_command, port,
};
use crate::targets::error::TargetError;
use std::collections::BTreeMap;

/// The framework service.
const FRAMEWORK: &str = "framework";
/// nginx's port inside the stack, and the host port it is published on.
const NGINX_PORT: u16 = 80;
const NGINX_PUBLISHED: u16 = 8080;
/// Prometheus's and Grafana's ports (the same on the host).
const PROMETHEUS_PORT: u16 = 9090;
const GRAFANA_PORT: u16 = 3000;

/// Health check timing of the third-party servers: early and often, so the framework
/// starts as soon as they accept connections.
const SERVER_HEALTH: Timing = Timing {
    interval: 5,
    timeout: 5,
    start_period: 10,
    retries: 10,
};

/// Every service of the stack, by name.
pub(super) fn all(
    model: &Model,
    container: &Container,
    stack: &Stack,
) -> Result<BTreeMap<&'static str, Service>, TargetError> {
    let image = framework_image(model);
    let mut services = BTreeMap::from([
        (FRAMEWORK, framework(model, stack, &image)),
        ("db-init", one_shot(model, stack, &image, "init", None)),
        (
            "migrate",
            one_shot(model, stack, &image, "migrate", Some("db-init")),
        ),
        ("nginx", nginx(model, container)),
    ]);
    if stack.postgres {
        services.insert(COMPOSE_POSTGRES_SERVICE, postgres(model, container));
    }
    if stack.redis {
        services.insert(COMPOSE_REDIS_SERVICE, redis(model, container)?);
    }
    if stack.prometheus {
        services.insert("prometheus", prometheus(model, container, stack));
    }
    if stack.grafana {
        services.insert("grafana", grafana(model, container, stack));
    }
    Ok(services)
}

/// The framework image and, unless it is pinned by digest, how to build it. Tagged as the
/// Kubernetes image when there is one, so `docker compose build` makes what the
/// Deployment runs; a digest names content a local build cannot reproduce, so that image
/// is pulled as is.
fn framework_image(model: &Model) -> (String, Option<Build>) {
    let build = Build {
        context: "${SCF_SOURCE_DIR:-../..}",
        dockerfile: "${SCF_DOCKERFILE:-build/container/Dockerfile}",
        args: BTreeMap::from([("REVISION", "${SCF_REVISION:-unknown}")]),
    };
    match model.kubernetes.as_ref().map(|k| &k.image) {
        Some(image) if image.is_pinned() => (image.to_string(), None),
        Some(image) => (image.to_string(), Some(build)),
        None => (format!("{}-framework:dev", model.name()), Some(build)),
    }
}

/// The hardening every framework container shares.
fn framework_base(model: &Model, (image, build): &(String, Option<Build>)) -> Service {
    Service {
        image: Some(image.clone()),
        build: build.clone(),
        user: Some(format!("{UID}:{UID}")),
        read_only: true,
        cap_drop: vec!["ALL"],
        security_opt: vec!["no-new-privileges:true"],
        tmpfs: vec!["/tmp"],
        env_file: vec![FRAMEWORK_ENV.to_string()],
        volumes: vec![Mount::volume("framework-data", layout::state_dir(model))],
        ..Service::default()
    }
}

/// The data services the framework and its one-shots wait on.
fn data_dependencies(stack: &Stack) -> BTreeMap<&'static str, Dependency> {
    let mut deps = BTreeMap::new();
    if stack.postgres {
        deps.insert(COMPOSE_POSTGRES_SERVICE, HEALTHY);
    }
    if stack.redis {
        deps.insert(COMPOSE_REDIS_SERVICE, HEALTHY);
    }
    deps
}

fn framework(model: &Model, stack: &Stack, image: &(String, Option<Build>)) -> Service {
    let mut depends_on = data_dependencies(stack);
    depends_on.insert("migrate", COMPLETED);
    Service {
        command: vec!["run".into(), "--production".into()],
        ports: vec![published(port(model), port(model))],
        depends_on,
        healthcheck: Some(Healthcheck::new(
            std::iter::once("CMD".to_string())
                .chain(health_command(model))
                .collect(),
            FRAMEWORK_HEALTH,
        )),
        restart: "unless-stopped",
        ..framework_base(model, image)
    }
}

/// `scf db <command>`, run once after `after` has completed.
fn one_shot(
    model: &Model,
    stack: &Stack,
    image: &(String, Option<Build>),
    command: &str,
    after: Option<&'static str>,
) -> Service {
    let mut depends_on = data_dependencies(stack);
    if let Some(after) = after {
        depends_on.insert(after, COMPLETED);
    }
    Service {
        command: vec!["db".into(), command.into()],
        depends_on,
        restart: "no",
        ..framework_base(model, image)
    }
}

fn published(host: u16, target: u16) -> Port {
    Port {
        host_ip: PUBLISH_ADDRESS,
        published: host.to_string(),
        target,
        protocol: "tcp",
    }
}

/// A third-party service with no new privileges, restarted unless stopped.
fn server(image: &impl ToString) -> Service {
    Service {
        image: Some(image.to_string()),
        security_opt: vec!["no-new-privileges:true"],
        restart: "unless-stopped",
        ..Service::default()
    }
}

fn cmd(args: &[&str]) -> Vec<String> {
    std::iter::once("CMD")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect()
}

fn postgres(model: &Model, container: &Container) -> Service {
    let db = &model.database;
    let ready = [
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-U",
        db.user.as_str(),
        "-d",
        db.name.as_str(),
    ];
    // The image's entrypoint starts `postgres` with these arguments.
    let command = crate::targets::postgres::preload_libraries(model)
        .map(|libs| {
            vec![
                "postgres".to_owned(),
                "-c".to_owned(),
                format!("shared_preload_libraries={libs}"),
            ]
        })
        .unwrap_or_default();
    Service {
        command,
        env_file: vec![POSTGRES_ENV.to_string()],
        environment: BTreeMap::from([
            ("POSTGRES_USER", db.user.to_string()),
            ("POSTGRES_DB", db.name.to_string()),
        ]),
        volumes: vec![Mount::volume("postgres-data", "/var/lib/postgresql/data")],
        healthcheck: Some(Healthcheck::new(cmd(&ready), SERVER_HEALTH)),
        ..server(&container.stack.postgres)
    }
}

/// Redis with the model's memory and persistence settings. `requirepass` cannot be a
/// command-line argument (every process listing would show it), so the password goes from
/// the environment into a config file on tmpfs, hex-escaped so no character can break the
/// line; the image's entrypoint then drops to the `redis` user.
fn redis(model: &Model, container: &Container) -> Result<Service, TargetError> {
    let r = &model.redis;
    let mut args = vec![
        "--maxmemory".to_string(),
        r.maxmemory.bytes().to_string(),
        "--maxmemory-policy".to_string(),
        r.maxmemory_policy.to_string(),
        "--save".to_string(),
    ];
    if r.save.is_empty() {
        args.push(String::new());
    }
    for point in &r.save {
        args.extend([point.seconds.to_string(), point.changes.to_string()]);
    }
    let quoted = args
        .iter()
        .map(|a| shell(a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TargetError::unescapable("container/compose.yaml", e))?;
    let script = format!(
        "umask 077 && printf 'requirepass \"%s\"\\n' \"$$(printf %s \"$$REDIS_PASSWORD\" | od -An -v -tx1 | tr -d ' \\n' | sed 's/../\\\\x&/g')\" > /tmp/requirepass.conf && chown redis /tmp/requirepass.conf && exec docker-entrypoint.sh redis-server /tmp/requirepass.conf {}",
        quoted.join(" ")
    );
    let ping = "REDISCLI_AUTH=\"$$REDIS_PASSWORD\" redis-cli -h 127.0.0.1 ping | grep -q PONG";
    Ok(Service {
        command: vec!["sh".into(), "-c".into(), script],
        read_only: true,
        tmpfs: vec!["/tmp"],
        env_file: vec![REDIS_ENV.to_string()],
        volumes: vec![Mount::volume("redis-data", "/data")],
        healthcheck: Some(Healthcheck::new(
            vec!["CMD-SHELL".into(), ping.into()],
            SERVER_HEALTH,
        )),
        ..server(&container.stack.redis)
    })
}

/// nginx with the stack's own site: the production site's upstream (127.0.0.1) and
/// certificates do not exist inside the stack.
fn nginx(model: &Model, container: &Container) -> Service {
    let depends_on = BTreeMap::from([(FRAMEWORK, HEALTHY)]);
    let probe = format!("http://127.0.0.1:{NGINX_PORT}{HEALTH_PATH}");
    Service {
        read_only: true,
        tmpfs: vec!["/var/cache/nginx", "/var/run"],
        ports: vec![published(NGINX_PUBLISHED, NGINX_PORT)],
        volumes: vec![Mount::file(
            files::nginx_site(model),
            "/etc/nginx/conf.d/default.conf",
        )],
        depends_on,
        healthcheck: Some(Healthcheck::new(
            cmd(&["wget", "-q", "-O", "/dev/null", &probe]),
            SERVER_HEALTH,
        )),
        ..server(&container.stack.nginx)
    }
}

fn prometheus(model: &Model, container: &Container, stack: &Stack) -> Service {
    let mut volumes = vec![
        Mount::file(files::PROMETHEUS_CONFIG, "/etc/prometheus/prometheus.yml"),
        Mount::volume("prometheus-data", "/prometheus"),
    ];
    if stack.host_files {
        let rules = format!("/etc/prometheus/rules/{}.rules.yml", model.name());
        volumes.push(Mount::file(format!("../host{rules}"), rules));
    }
    let probe = format!("http://127.0.0.1:{PROMETHEUS_PORT}/-/healthy");
    Service {
        profiles: vec![MONITORING],
        read_only: true,
        ports: vec![published(PROMETHEUS_PORT, PROMETHEUS_PORT)],
        volumes,
        healthcheck: Some(Healthcheck::new(
            cmd(&["wget", "-q", "--spider", &probe]),
            SERVER_HEALTH,
        )),
        ..server(&container.stack.prometheus)
    }
}

/// Grafana, provisioned with the stack's Prometheus data source and, on a `[host]`
/// model, the generated dashboard and its provider from the host build.
fn grafana(model: &Model, container: &Container, stack: &Stack) -> Service {
    let mut volumes = vec![
        Mount::file(
            files::grafana_datasource(model),
            format!(
                "/etc/grafana/provisioning/datasources/{}.yaml",
                model.name()
            ),
        ),
        Mount::volume("grafana-data", "/var/lib/grafana"),
    ];
    if stack.host_files {
        let provider = format!("/etc/grafana/provisioning/dashboards/{}.yaml", model.name());
        let dashboard = format!("/var/lib/grafana/dashboards/{}.json", model.name());
        volumes.push(Mount::file(format!("../host{provider}"), provider));
        volumes.push(Mount::file(format!("../host{dashboard}"), dashboard));
    }
    let depends_on = if stack.prometheus {
        BTreeMap::from([("prometheus", HEALTHY)])
    } else {
        BTreeMap::new()
    };
    let probe = format!("http://127.0.0.1:{GRAFANA_PORT}/api/health");
    Service {
        profiles: vec![MONITORING],
        ports: vec![published(GRAFANA_PORT, GRAFANA_PORT)],
        volumes,
        depends_on,
        healthcheck: Some(Healthcheck::new(
            cmd(&["wget", "-q", "-O", "/dev/null", &probe]),
            SERVER_HEALTH,
        )),
        ..server(&container.stack.grafana)
    }
}
