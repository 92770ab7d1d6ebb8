//! The `[kubernetes]` rules: autoscaler bounds, the images, the backup CronJob and the
//! placement of the pods, and the containers' resources against what they are configured
//! to use.

use super::findings::Findings;
use crate::config::Config;
use crate::config::values::Quantity;
use crate::diag::Diagnostic;

/// An autoscaler's `min` is at most its `max` (`max_is` names the max in the fix).
fn bounds(f: &mut Findings, table: &str, what: &str, (min, max): (u32, u32), max_is: &str) {
    if min > max {
        f.error(
            "scf::autoscaling-bounds",
            &format!("{table}.min"),
            format!("{what} min ({min}) is above max ({max})"),
            format!("set {table}.min to at most {max_is}"),
        );
    }
}

/// Runs the `[kubernetes]` checks.
pub(super) fn check(c: &Config, f: &mut Findings) {
    let Some(k) = &c.kubernetes else { return };
    let a = &k.autoscaling;
    bounds(
        f,
        "kubernetes.autoscaling",
        "autoscaling",
        (a.min, a.max),
        "max",
    );
    if a.min <= a.max && (k.replicas < a.min || k.replicas > a.max) {
        let at = Some(f.doc.locate("kubernetes.replicas"));
        let message = format!(
            "replicas ({}) is outside autoscaling bounds {}..={}; the autoscaler will override it",
            k.replicas, a.min, a.max
        );
        f.diags.push(
            Diagnostic::warning("scf::replicas-outside-autoscaling", message, at)
                .help("set kubernetes.replicas within the autoscaling bounds"),
        );
    }
    let agents = k.agents.spec();
    bounds(
        f,
        "kubernetes.agents",
        "agents",
        (agents.min, agents.max),
        "kubernetes.agents.max (10 by default)",
    );
    for (at, r) in [
        ("kubernetes.resources", &k.resources),
        ("kubernetes.agents.resources", &agents.resources),
    ] {
        let pairs: [(&str, &Quantity, &Quantity); 2] = [
            ("cpu", &r.requests.cpu, &r.limits.cpu),
            ("memory", &r.requests.memory, &r.limits.memory),
        ];
        for (what, request, limit) in pairs {
            if request.value() > limit.value() {
                f.error(
                    "scf::requests-above-limits",
                    &format!("{at}.requests.{what}"),
                    format!("the {what} request ({request}) is above its limit ({limit})"),
                    format!("lower {at}.requests.{what} or raise the limit"),
                );
            }
        }
    }
    images(c, k, f);
    placement(c, k, f);
    backup(c, k, f);
    if c.database.managed && c.database.admin_password.is_none() {
        f.error(
            "scf::k8s-admin-password",
            "database",
            "the managed PostgreSQL on Kubernetes needs a superuser password apart from the runtime's",
            "set database.admin_password, e.g. \"env:SCF_DB_ADMIN_PASSWORD\" (the `kubernetes` profile does)",
        );
    }
}

/// Every image scf deploys has a fixed tag or a digest, and a digest is recommended.
fn images(c: &Config, k: &crate::config::Kubernetes, f: &mut Findings) {
    let mut images = vec![("kubernetes.image", k.image.clone())];
    if c.database.managed {
        images.push(("kubernetes.postgres.image", k.postgres_spec().image));
    }
    if c.redis.managed {
        images.push((
            "kubernetes.redis.image",
            k.redis_spec(c.redis.maxmemory).image,
        ));
    }
    if c.monitors_postgres() {
        images.push((
            "kubernetes.postgres.exporter_image",
            k.postgres_spec().exporter_image,
        ));
    }
    if c.monitors_redis() {
        images.push((
            "kubernetes.redis.exporter_image",
            k.redis_spec(c.redis.maxmemory).exporter_image,
        ));
    }
    let b = &k.backup;
    for (path, image) in [
        ("kubernetes.backup.image", &b.image),
        ("kubernetes.backup.drill_image", &b.drill_image),
    ] {
        images.extend(
            image
                .clone()
                .filter(|_| c.backup.is_some())
                .map(|i| (path, i)),
        );
    }
    for (path, image) in images {
        if image.digest.is_none() && image.tag.as_deref().is_none_or(|t| t == "latest") {
            f.error(
                "scf::image-not-fixed",
                path,
                format!(
                    "image `{image}` has no fixed tag, so every pull may run a different `latest`"
                ),
                "name a version tag, such as `:1.0.0`, and pin it with `@sha256:…`",
            );
        } else if !image.is_pinned() {
            let message =
                format!("image `{image}` is not pinned by digest; the tag can move under you");
            f.diags.push(
                Diagnostic::warning("scf::image-not-pinned", message, Some(f.doc.locate(path)))
                    .help(format!("set {path} with its digest, such as `{image}@sha256:…` (see `docker buildx imagetools inspect {image}`)")),
            );
        }
    }
}

/// The backups' S3 copy on Kubernetes: an image with the aws CLI, and both keys or neither.
fn backup(c: &Config, k: &crate::config::Kubernetes, f: &mut Findings) {
    let b = &k.backup;
    if c.backup.as_ref().is_none_or(|b| b.s3.is_none()) {
        return;
    }
    if b.image.is_none() {
        let path = "kubernetes.backup";
        let message = "[backup] s3 is set, but the backup CronJobs run kubernetes.postgres.image, which has no aws CLI: each set would be written to the volume, then the copy would fail";
        f.diags.push(
            Diagnostic::warning("scf::k8s-backup-no-aws", message, Some(f.doc.locate(path)))
                .help("set kubernetes.backup.image to an image with pg_dump and aws, such as one built FROM postgres:15 that installs awscli"),
        );
    }
    if b.s3_access_key_id.is_some() != b.s3_secret_access_key.is_some() {
        f.error(
            "scf::k8s-backup-s3-credentials",
            "kubernetes.backup",
            "kubernetes.backup names one S3 key without the other",
            "set both s3_access_key_id and s3_secret_access_key, or neither (the aws CLI then finds credentials its own way)",
        );
    }
}

/// What the cluster itself refuses: reserved namespaces, an IP as Ingress host, a port a
/// non-root container cannot bind, and a Redis bigger than its container.
fn placement(c: &Config, k: &crate::config::Kubernetes, f: &mut Findings) {
    const RESERVED: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];
    if RESERVED.contains(&k.namespace.as_str()) {
        f.error(
            "scf::reserved-namespace",
            "kubernetes.namespace",
            format!("namespace `{}` is reserved by Kubernetes", k.namespace),
            "give the deployment its own namespace, such as the project name",
        );
    }
    if c.server.domain.as_str().parse::<std::net::IpAddr>().is_ok() {
        f.error(
            "scf::ingress-host",
            "server.domain",
            format!(
                "`{}` is an IP address, which an Ingress cannot serve",
                c.server.domain
            ),
            "use the DNS name clients reach the framework at, such as `api.example.com`",
        );
    }
    if c.server.listen.0.port() < 1024 {
        f.error(
            "scf::privileged-port",
            "server.listen",
            format!("port {} needs root, and the framework's pods run without it", c.server.listen.0.port()),
            "listen on a port from 1024 up, such as `0.0.0.0:5000`; the Service still serves port 80",
        );
    }
    let limit = &k.redis_spec(c.redis.maxmemory).resources.limits.memory;
    if c.redis.managed && c.redis.maxmemory.bytes() as f64 >= limit.value() {
        f.error(
            "scf::redis-maxmemory",
            "redis.maxmemory",
            format!("redis.maxmemory ({}) does not fit the Redis container's memory limit ({limit})", c.redis.maxmemory),
            "raise kubernetes.redis.resources.limits.memory to about 1.25 × maxmemory, or lower redis.maxmemory",
        );
    }
}
