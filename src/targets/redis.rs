//! Redis on a host: `/etc/redis/redis.conf` with the memory limit and eviction policy, save
//! points, the password (a secret marker that `scf apply` fills in), loopback binding,
//! protected mode, and dangerous commands disabled. Rendered only when scf manages Redis on
//! a host, which then needs Debian's `redis-server`.

use super::target::{Package, Service, Stage, Target};
use crate::artifact::{Artifact, Effect};
use crate::model::{Model, Role};
use crate::render::Renderer;
use crate::targets::error::TargetError;
use serde::Serialize;
use std::net::Ipv4Addr;

/// The Redis target.
pub struct Redis;

/// The distribution's Redis unit, restarted when redis.conf changes.
const SERVICE: &str = "redis-server.service";

/// Where redis.conf is installed on a host.
pub const CONF_PATH: &str = "/etc/redis/redis.conf";

/// Commands renamed to nothing: they wipe data, reconfigure or stop the server, hand the data
/// to another server, or block it scanning every key. The runtime uses none of them.
pub const DISABLED_COMMANDS: &[&str] = &[
    "CONFIG",
    "FLUSHALL",
    "FLUSHDB",
    "KEYS",
    "REPLICAOF",
    "SHUTDOWN",
    "SLAVEOF",
];

/// What redis.conf.j2 sees.
#[derive(Serialize)]
struct Context {
    name: String,
    path: &'static str,
    password_ref: String,
    password: String,
    bind: Vec<String>,
    /// The internal address bound for the fleet's app hosts on other hosts, if any.
    internal: Option<String>,
    port: u16,
    maxmemory: String,
    maxmemory_policy: &'static str,
    maxmemory_policy_effect: &'static str,
    save: Vec<SavePoint>,
    disabled: &'static [&'static str],
}

#[derive(Serialize)]
struct SavePoint {
    seconds: u64,
    changes: u64,
}

impl Target for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn services(&self) -> &'static [Service] {
        &[Service {
            unit: SERVICE,
            stage: Stage::Data,
        }]
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "redis/redis.conf.j2",
            include_str!("../../templates/redis/redis.conf.j2"),
        )]
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        if !runs(model) {
            return Vec::new();
        }
        vec![Package::archive("redis-server", &[SERVICE])]
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        if !runs(model) {
            return Ok(Vec::new());
        }
        let r = &model.redis;
        let context = Context {
            name: model.name().to_string(),
            path: CONF_PATH,
            password_ref: r.password.to_string(),
            password: crate::secret::marker(&r.password),
            bind: listen(model),
            internal: internal(model),
            port: r.port,
            maxmemory: r.maxmemory.to_redis(),
            maxmemory_policy: r.maxmemory_policy.as_str(),
            maxmemory_policy_effect: r.maxmemory_policy.effect(),
            save: r
                .save
                .iter()
                .map(|p| SavePoint {
                    seconds: p.seconds,
                    changes: p.changes,
                })
                .collect(),
            disabled: DISABLED_COMMANDS,
        };
        let text = renderer.render("redis/redis.conf.j2", &context)?;
        Ok(vec![
            Artifact::file(self.name(), format!("host{CONF_PATH}"), text)
                .with_mode(0o640)
                .owned_by("root:redis")
                .on_change(Effect::Restart(SERVICE.into())),
        ])
    }
}

/// Whether this host runs Redis: it holds the cache role, and scf manages the server.
fn runs(model: &Model) -> bool {
    model.serves(Role::Cache) && model.redis.managed
}

/// The internal address this host serves the fleet's app hosts on, when they are others.
fn internal(model: &Model) -> Option<String> {
    let ip = model.serving_address(Role::App);
    (!ip.is_loopback()).then(|| ip.to_string())
}

/// [`bind`], plus [`internal`] unless Redis binds every interface or that address already.
fn listen(model: &Model) -> Vec<String> {
    let mut out = bind(model.redis.host.as_str());
    if let Some(ip) = internal(model)
        && out[0] != "*"
        && !out.contains(&ip)
    {
        out.insert(1, ip);
    }
    out
}

/// Loopback, plus `redis.host` when it is an IPv4 address of this host that is not
/// loopback (`0.0.0.0` means every interface). A host name adds nothing: Redis binds
/// addresses, and the runtime reaching it by name is the firewall's and DNS's business.
fn bind(host: &str) -> Vec<String> {
    let mut out = vec!["127.0.0.1".to_string(), "-::1".to_string()];
    match host.parse::<Ipv4Addr>() {
        Ok(ip) if ip.is_unspecified() => out = vec!["*".into(), "-::*".into()],
        Ok(ip) if !ip.is_loopback() => out.insert(1, ip.to_string()),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bind;

    #[test]
    fn binds_loopback_and_the_configured_address() {
        assert_eq!(bind("127.0.0.1"), ["127.0.0.1", "-::1"]);
        assert_eq!(bind("localhost"), ["127.0.0.1", "-::1"]);
        assert_eq!(bind("10.0.0.5"), ["127.0.0.1", "10.0.0.5", "-::1"]);
        assert_eq!(bind("0.0.0.0"), ["*", "-::*"]);
    }
}
