//! Whole-configuration checks: the rules no single field's type can express. Each finding
//! points at the value at fault, in framework.toml or in the profile that set it.

use crate::config::{Config, MaxmemoryPolicy, PgSetting, TargetKind};
use crate::diag::Diagnostics;
use crate::source::doc::Node;
use scf_runtime::settings::METRICS_PORT;
use std::collections::BTreeMap;

mod alerting;
mod findings;
mod fleet;
mod kubernetes;
mod operator;
mod tls;

use findings::Findings;

/// Runs every whole-configuration check.
pub fn check(c: &Config, doc: &Node) -> Diagnostics {
    let mut out = Findings {
        doc,
        diags: Diagnostics::default(),
    };
    targets(c, &mut out);
    tls::check(c, &mut out);
    tenants(c, &mut out);
    kubernetes::check(c, &mut out);
    database(c, &mut out);
    operator::check(c, &mut out);
    monitor_password(c, &mut out);
    sizing(c, &mut out);
    redis_eviction(c, &mut out);
    host_sandbox(c, &mut out);
    listeners(c, &mut out);
    container(c, &mut out);
    alerting::check(c, &mut out);
    fleet::check(c, &mut out);
    out.diags
}

fn targets(c: &Config, f: &mut Findings) {
    match c.target.kind {
        TargetKind::Host if c.host.is_none() => f.error(
            "scf::missing-section",
            "target.kind",
            "the host target needs a [host] section",
            "add [host] with user, install_dir, cpus and memory, or extend the `single-tenant` profile",
        ),
        TargetKind::Kubernetes if c.kubernetes.is_none() => f.error(
            "scf::missing-section",
            "target.kind",
            "the kubernetes target needs a [kubernetes] section",
            "add [kubernetes] with namespace, image, replicas, ingress_class, autoscaling and resources, or extend the `kubernetes` profile",
        ),
        _ => {}
    }
}

fn tenants(c: &Config, f: &mut Findings) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, t) in c.tenants.iter().enumerate() {
        if let Some(first) = seen.insert(t.id.as_str(), i) {
            f.error(
                "scf::duplicate-tenant",
                &format!("tenants.{i}.id"),
                format!(
                    "tenant `{}` is declared twice (also tenants[{first}])",
                    t.id
                ),
                "give each [[tenants]] entry a unique id, or remove the duplicate",
            );
        }
        let limit = scf_runtime::domain::tenant::MAX_TENANT_ID_LEN;
        match super::tenancy::store_name_len(c.database.name.as_str(), c.tenancy.isolation, t.id.as_str()) {
            None => f.error(
                "scf::tenant-id-too-long",
                &format!("tenants.{i}.id"),
                format!("tenant id `{}` is longer than the runtime's {limit} characters", t.id),
                format!("shorten it to {limit} characters or fewer"),
            ),
            Some(len) if len > super::tenancy::PG_IDENTIFIER_MAX => f.error(
                "scf::tenant-id-too-long",
                &format!("tenants.{i}.id"),
                format!("tenant `{}` would need a {len}-byte database or schema name; PostgreSQL allows {}", t.id, super::tenancy::PG_IDENTIFIER_MAX),
                "shorten the tenant id or database.name",
            ),
            Some(_) => {}
        }
        if !c.tenancy.plans.contains_key(&t.plan) {
            let plans = c
                .tenancy
                .plans
                .keys()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let near = crate::diag::did_you_mean(
                t.plan.as_str(),
                c.tenancy.plans.keys().map(|p| p.as_str()),
            );
            let help = match near {
                Some(near) => format!("did you mean `{near}`? The plans are {plans}"),
                None => format!("use one of {plans}, or define it under [tenancy.plans]"),
            };
            f.error(
                "scf::unknown-plan",
                &format!("tenants.{i}.plan"),
                format!(
                    "tenant `{}` is on plan `{}`, which is not defined",
                    t.id, t.plan
                ),
                help,
            );
        }
    }
    let max = c.tenancy.max_tenants as usize;
    if c.tenants.len() > max {
        f.error(
            "scf::too-many-tenants",
            &format!("tenants.{max}"),
            format!(
                "{} tenants are declared, but tenancy.max_tenants is {max}",
                c.tenants.len()
            ),
            format!(
                "raise tenancy.max_tenants to at least {}, or remove tenants",
                c.tenants.len()
            ),
        );
    }
}

fn database(c: &Config, f: &mut Findings) {
    for (key, value) in &c.database.settings {
        let path = format!("database.settings.{key}");
        let key_ok = key.starts_with(|ch: char| ch.is_ascii_lowercase())
            && key
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '.');
        if !key_ok {
            f.error(
                "scf::pg-setting",
                &path,
                format!(
                    "`{}` is not a postgresql.conf parameter name",
                    key.escape_debug()
                ),
                "use the parameter's name as in postgresql.conf, such as work_mem",
            );
        }
        if let PgSetting::Text(text) = value
            && text.chars().any(char::is_control)
        {
            f.error(
                "scf::pg-setting",
                &path,
                format!("the value of `{key}` contains a control character"),
                "write the value on one line, without tabs or newlines",
            );
        }
        if let PgSetting::Text(text) = value
            && text.contains("@@")
        {
            f.error(
                "scf::pg-setting",
                &path,
                format!("the value of `{key}` contains `@@`, which starts a secret marker"),
                "postgresql.conf is not a secret store: remove the `@@`",
            );
        }
        if let PgSetting::Float(x) = value
            && !x.is_finite()
        {
            f.error(
                "scf::pg-setting",
                &path,
                format!("the value of `{key}` is not a finite number"),
                "write a number such as 1.1",
            );
        }
        if PG_FILE_ONLY.contains(&key.as_str()) {
            f.error(
                "scf::pg-setting",
                &path,
                format!("`{key}` cannot be set from scf's conf.d file"),
                "remove it: scf writes one conf.d file and leaves file locations and includes to the main postgresql.conf",
            );
        }
    }
    pg_names(c, f);
}

/// postgresql.conf keys that name other files: includes and file locations.
const PG_FILE_ONLY: &[&str] = &[
    "include",
    "include_dir",
    "include_if_exists",
    "config_file",
    "data_directory",
    "hba_file",
    "ident_file",
    "external_pid_file",
];

/// PostgreSQL's longest identifier, in bytes.
const PG_NAME_MAX: usize = 63;

/// The role and database must not be PostgreSQL's own: the bootstrap SQL would strip the
/// superuser of its rights, or take over a template. The roles derived from the role's
/// name must fit PostgreSQL's names too, or the bootstrap would truncate them.
fn pg_names(c: &Config, f: &mut Findings) {
    let user = c.database.user.as_str();
    if user == "postgres" || user.starts_with("pg_") {
        f.error(
            "scf::pg-reserved-name",
            "database.user",
            format!("`{user}` is a role PostgreSQL reserves for itself"),
            "use a role of the framework's own, such as `framework`",
        );
    }
    let derived = c.database.derived_roles(c.monitors_postgres());
    if let Some((what, role)) = derived.iter().max_by_key(|(_, role)| role.len())
        && role.len() > PG_NAME_MAX
    {
        f.error(
            "scf::pg-owner-name",
            "database.user",
            format!("the {what} `{role}` derived from `{user}` is longer than PostgreSQL's {PG_NAME_MAX} characters"),
            format!(
                "use a role name of at most {} characters",
                PG_NAME_MAX - (role.len() - user.len())
            ),
        );
    }
    let name = c.database.name.as_str();
    if ["postgres", "template0", "template1"].contains(&name) {
        f.error(
            "scf::pg-reserved-name",
            "database.name",
            format!("`{name}` is one of PostgreSQL's own databases"),
            "use a database of the framework's own, such as `ai_supply_chain`",
        );
    }
}

/// postgres-exporter logs in as the monitoring role, which needs a password to do so.
fn monitor_password(c: &Config, f: &mut Findings) {
    if c.monitors_postgres() && c.database.monitor_password.is_none() {
        f.error(
            "scf::pg-monitor-password",
            "database",
            format!(
                "Prometheus scrapes postgres-exporter (on the host, or beside the PostgreSQL StatefulSet), whose role `{}` needs a password",
                c.database.monitor_role()
            ),
            "set database.monitor_password, e.g. \"env:SCF_DB_MONITOR_PASSWORD\" (the `single-tenant` and `kubernetes` profiles do), or set monitoring.prometheus = false",
        );
    }
}

fn sizing(c: &Config, f: &mut Findings) {
    if let Some(host) = &c.host
        && c.redis.managed
        && c.redis.maxmemory >= host.memory
    {
        f.error(
            "scf::redis-maxmemory",
            "redis.maxmemory",
            format!(
                "redis.maxmemory ({}) is not below the host's memory ({})",
                c.redis.maxmemory, host.memory
            ),
            "leave room for PostgreSQL and the framework: a quarter of host.memory is a good start",
        );
    }
    let zero_checks = [
        (
            "server.request_timeout",
            c.server.request_timeout.as_millis(),
        ),
        ("security.jwt_expiry", c.security.jwt_expiry.as_millis()),
        (
            "monitoring.scrape_interval",
            c.monitoring.scrape_interval.as_millis(),
        ),
    ];
    for (path, millis) in zero_checks {
        if millis < 1000 {
            f.error(
                "scf::too-short",
                path,
                format!("`{path}` must be at least 1s"),
                "use a duration of a second or more, such as `15s`",
            );
        }
    }
}

/// The runtime keeps its job queue (streams, retries, dead letters, agent leases) in the same
/// Redis as its rate-limit keys, and none of the queue's keys has a TTL: an `allkeys-*`
/// policy would evict queued jobs under memory pressure, silently.
fn redis_eviction(c: &Config, f: &mut Findings) {
    let policy = c.redis.maxmemory_policy;
    if !policy.evicts_keys_without_ttl() {
        return;
    }
    f.error(
        "scf::redis-eviction",
        "redis.maxmemory_policy",
        format!("maxmemory_policy `{policy}` lets Redis evict the job queue, which shares this Redis and has no TTL"),
        format!("use `{}`: it evicts only keys with a TTL (the rate-limit counters), never queued jobs; or `noeviction`", MaxmemoryPolicy::VolatileLru),
    );
}

/// The runtime's two listeners, the API's (`server.listen`) and the metrics one, cannot
/// share a port: the runtime would fail to start, which only a probe would tell.
fn listeners(c: &Config, f: &mut Findings) {
    let port = c.server.listen.0.port();
    if port == METRICS_PORT {
        f.error(
            "scf::listen-port",
            "server.listen",
            format!("port {port} is the runtime's metrics listener (METRICS_LISTEN), which Prometheus scrapes"),
            "listen on another port, such as `127.0.0.1:5000`",
        );
    }
}

/// What the host's systemd sandbox cannot express: `ProtectHome=` hides home directories,
/// `IPAddressAllow=` takes addresses, not names, and nginx serves all of `install_dir`.
fn host_sandbox(c: &Config, f: &mut Findings) {
    let Some(host) = &c.host else { return };
    let mut dirs = vec![("host.install_dir", host.install_dir.as_str())];
    if let Some(b) = &c.backup {
        dirs.push(("backup.dir", b.dir.as_str()));
        let install = host.install_dir.as_str();
        if under(b.dir.as_str(), install) || under(install, b.dir.as_str()) {
            f.error(
                "scf::backup-dir",
                "backup.dir",
                format!("backup.dir `{}` overlaps host.install_dir `{install}`, whose files nginx serves", b.dir),
                "keep dumps apart from the served files, such as backup.dir = \"/backup/NAME\"",
            );
        }
    }
    for (path, dir) in dirs {
        if ["/home", "/root", "/run/user"]
            .iter()
            .any(|home| under(dir, home))
        {
            f.error(
                "scf::home-dir",
                path,
                format!("`{dir}` is in a home directory, which the hardened units cannot see (ProtectHome=yes)"),
                "use a directory outside /home and /root, such as /opt/NAME or /backup/NAME",
            );
        }
    }
    if let Some(fw) = &c.firewall
        && !fw.ssh
        && !fw.ssh_from.is_empty()
    {
        f.error(
            "scf::ssh-from",
            "firewall.ssh_from",
            "firewall.ssh_from names networks SSH is allowed from, but firewall.ssh = false closes SSH",
            "set firewall.ssh = true, or remove firewall.ssh_from",
        );
    }
    let internal = c
        .firewall
        .as_ref()
        .and_then(|fw| fw.internal_cidr)
        .is_some();
    let peers = [
        ("database.host", c.database.host.as_str()),
        ("redis.host", c.redis.host.as_str()),
    ];
    for (path, name) in peers {
        if !internal && name != "localhost" && name.parse::<std::net::IpAddr>().is_err() {
            f.error(
                "scf::host-by-name",
                path,
                format!("`{name}` is a host name; the runtime's sandbox allows IP traffic by address only (IPAddressAllow=)"),
                "write its IP address, or set firewall.internal_cidr to the network it is in",
            );
        }
    }
}

/// `path` is `dir` or inside it.
fn under(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Container images must be pinned: a tag at least (the digest is optional), never `latest`.
fn container(c: &Config, f: &mut Findings) {
    let Some(container) = &c.container else {
        return;
    };
    for (path, image) in container.images() {
        let tag = image.tag.as_deref();
        if tag.is_none() || tag == Some("latest") {
            f.error(
                "scf::image-unpinned",
                path,
                format!("image `{image}` is not pinned to a version; `latest` moves under you"),
                format!(
                    "give {path} a version tag, such as `{}:1.2.3`, and optionally `@sha256:…`",
                    image.repository
                ),
            );
        }
    }
}
