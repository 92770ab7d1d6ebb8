//! Whole-configuration checks: the rules no single field's type can express. Each finding
//! points at the value at fault, in framework.toml or in the profile that set it.

use crate::config::values::Quantity;
use crate::config::{Config, Environment, PgSetting, TargetKind};
use crate::diag::{Diagnostic, Diagnostics};
use crate::source::doc::Node;
use std::collections::BTreeMap;

/// Runs every whole-configuration check.
pub fn check(c: &Config, doc: &Node) -> Diagnostics {
    let mut out = Findings {
        doc,
        diags: Diagnostics::default(),
    };
    targets(c, &mut out);
    tls(c, &mut out);
    tenants(c, &mut out);
    kubernetes(c, &mut out);
    database(c, &mut out);
    sizing(c, &mut out);
    out.diags
}

/// Collects findings located by document path.
struct Findings<'a> {
    doc: &'a Node,
    diags: Diagnostics,
}

impl Findings<'_> {
    fn error(
        &mut self,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(code, message, Some(self.doc.locate(path))).help(help));
    }
    fn warning(
        &mut self,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::warning(code, message, Some(self.doc.locate(path))).help(help));
    }
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

fn tls(c: &Config, f: &mut Findings) {
    if c.project.environment != Environment::Production {
        return;
    }
    let tls = c.tls.as_ref();
    let files = tls.is_some_and(|t| t.certificate.is_some() && t.key.is_some());
    if c.host.is_some() && !files {
        f.error(
            "scf::tls-required",
            "tls",
            "production needs TLS: [tls] certificate and key are not both set",
            "add [tls] with certificate = \"/etc/ssl/NAME/fullchain.pem\" and key = \"/etc/ssl/NAME/privkey.pem\", or set project.environment = \"development\"",
        );
    }
    if c.kubernetes.is_some() && tls.and_then(|t| t.cluster_issuer.as_ref()).is_none() {
        f.error(
            "scf::tls-required",
            "tls",
            "production on Kubernetes needs TLS: tls.cluster_issuer is not set",
            "set tls.cluster_issuer to your cert-manager ClusterIssuer, such as \"letsencrypt-prod\"",
        );
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
        let store_len = super::store_name_len(c.database.name.as_str(), c.tenancy.isolation, t.id.as_str());
        if store_len > super::PG_IDENTIFIER_MAX {
            f.error(
                "scf::tenant-id-too-long",
                &format!("tenants.{i}.id"),
                format!("tenant `{}` would need a {store_len}-byte database or schema name; PostgreSQL allows {}", t.id, super::PG_IDENTIFIER_MAX),
                "shorten the tenant id or database.name",
            );
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

fn kubernetes(c: &Config, f: &mut Findings) {
    let Some(k) = &c.kubernetes else { return };
    let a = &k.autoscaling;
    if a.min > a.max {
        f.error(
            "scf::autoscaling-bounds",
            "kubernetes.autoscaling.min",
            format!("autoscaling min ({}) is above max ({})", a.min, a.max),
            "set kubernetes.autoscaling.min to at most max",
        );
    }
    if a.min <= a.max && (k.replicas < a.min || k.replicas > a.max) {
        f.warning(
            "scf::replicas-outside-autoscaling",
            "kubernetes.replicas",
            format!("replicas ({}) is outside autoscaling bounds {}..={}; the autoscaler will override it", k.replicas, a.min, a.max),
            "set kubernetes.replicas within the autoscaling bounds",
        );
    }
    let pairs: [(&str, &Quantity, &Quantity); 2] = [
        ("cpu", &k.resources.requests.cpu, &k.resources.limits.cpu),
        (
            "memory",
            &k.resources.requests.memory,
            &k.resources.limits.memory,
        ),
    ];
    for (what, request, limit) in pairs {
        if request.value() > limit.value() {
            f.error(
                "scf::requests-above-limits",
                &format!("kubernetes.resources.requests.{what}"),
                format!("the {what} request ({request}) is above its limit ({limit})"),
                format!("lower kubernetes.resources.requests.{what} or raise the limit"),
            );
        }
    }
    if !k.image.is_pinned() {
        f.warning(
            "scf::image-not-pinned",
            "kubernetes.image",
            format!(
                "image `{}` is not pinned by digest; the tag can move under you",
                k.image
            ),
            "append the digest, such as `@sha256:…` (see `docker buildx imagetools inspect IMAGE`)",
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
