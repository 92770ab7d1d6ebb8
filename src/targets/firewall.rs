//! The host firewall: `/usr/local/lib/NAME/firewall.sh`, a ufw script from `[firewall]`
//! (the guide's rules: deny incoming, allow outgoing, SSH if wanted, HTTP and HTTPS, and
//! PostgreSQL and Redis only from `internal_cidr`; in a fleet, each host opens exactly the
//! ports its roles serve, each to the hosts that use it). It is idempotent and removes the rules
//! its earlier versions added, so `scf apply` can run it on every change. Needs Debian's
//! `ufw`; the script enables it, so no unit is started for it.

use super::target::{Package, Target};
use crate::artifact::{Artifact, Effect};
use crate::config::Firewall;
use crate::model::layout;
use crate::model::{Model, Role};
use crate::render::Renderer;
use crate::targets::error::TargetError;
use crate::targets::prometheus::exporters::exporters;
use serde::Serialize;

/// The firewall target.
pub struct Ufw;

/// File name of the firewall script.
pub const FIREWALL_SCRIPT: &str = "firewall.sh";

/// What the script template sees.
#[derive(Serialize)]
struct Script {
    name: String,
    state: String,
    tag: String,
    ssh: bool,
    rules: Vec<Rule>,
}

/// One ufw rule: its arguments after `ufw`, and why it is there.
#[derive(Serialize)]
struct Rule {
    args: String,
    why: String,
}

fn rule(args: String, why: impl Into<String>) -> Rule {
    Rule {
        args,
        why: why.into(),
    }
}

/// The guide's rules, from the model: only ports this host serves are opened, HTTP and
/// HTTPS on the proxy.
fn rules(model: &Model, firewall: &Firewall) -> Vec<Rule> {
    let mut out = Vec::new();
    if firewall.ssh && firewall.ssh_from.is_empty() {
        out.push(rule(
            "limit 22/tcp".into(),
            "firewall.ssh: SSH, from anywhere; `limit` refuses an address opening 6 connections in 30s",
        ));
    }
    if firewall.ssh {
        out.extend(firewall.ssh_from.iter().map(|cidr| {
            rule(
                format!("allow proto tcp from {cidr} to any port 22"),
                "firewall.ssh_from: SSH, from this network only, not rate-limited",
            )
        }));
    }
    if model.serves(Role::Proxy) {
        out.push(rule("allow 80/tcp".into(), "HTTP (nginx)"));
        if model.tls_files().is_some() {
            out.push(rule("allow 443/tcp".into(), "HTTPS (nginx)"));
        }
    }
    if model.fleet().is_some() {
        out.extend(fleet_rules(model));
        return out;
    }
    if let Some(cidr) = firewall.internal_cidr {
        let internal = [
            (model.database.managed, model.database.port, "PostgreSQL"),
            (model.redis.managed, model.redis.port, "Redis"),
        ];
        for (managed, port, what) in internal {
            if managed {
                out.push(rule(
                    format!("allow proto tcp from {cidr} to any port {port}"),
                    format!("{what}, from firewall.internal_cidr only"),
                ));
            }
        }
    }
    out
}

/// In a fleet, each port another host needs is opened to exactly those hosts (by internal
/// address), in place of `firewall.internal_cidr`'s rules: the runtime to the proxy hosts,
/// PostgreSQL and Redis to the app hosts, and every scraped port to the monitoring host.
fn fleet_rules(model: &Model) -> Vec<Rule> {
    let mut wanted: Vec<(Role, u16, String)> = Vec::new();
    if model.serves(Role::App) {
        let port = model.server.listen.0.port();
        wanted.push((
            Role::Proxy,
            port,
            "the runtime (server.listen), from the proxy hosts".into(),
        ));
        if model.monitoring.prometheus {
            let port = scf_runtime::settings::METRICS_PORT;
            let why = "the runtime's metrics, from the monitoring host";
            wanted.push((Role::Monitoring, port, why.into()));
        }
    }
    if model.serves(Role::Database) && model.database.managed {
        let what = "PostgreSQL, from the app hosts";
        wanted.push((Role::App, model.database.port, what.into()));
    }
    if model.serves(Role::Cache) && model.redis.managed {
        wanted.push((
            Role::App,
            model.redis.port,
            "Redis, from the app hosts".into(),
        ));
    }
    for e in exporters(model) {
        let why = format!("{}, from the monitoring host", e.package);
        wanted.push((Role::Monitoring, e.port, why));
    }
    let mut out = Vec::new();
    for (from, port, why) in wanted {
        for ip in model.remote(from) {
            out.push(rule(
                format!("allow proto tcp from {ip} to any port {port}"),
                why.clone(),
            ));
        }
    }
    out
}

impl Target for Ufw {
    fn name(&self) -> &'static str {
        "firewall"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "firewall/firewall.sh.j2",
            include_str!("../../templates/firewall/firewall.sh.j2"),
        )]
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        match model.hosted() && model.firewall.is_some() {
            true => vec![Package::archive("ufw", &[])],
            false => Vec::new(),
        }
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(firewall) = model.firewall.as_ref().filter(|_| model.hosted()) else {
            return Ok(Vec::new());
        };
        let ctx = Script {
            name: model.name().to_string(),
            state: format!("/var/lib/scf/{}/firewall.rules", model.name()),
            tag: format!("scf {}", model.name()),
            ssh: firewall.ssh,
            rules: rules(model, firewall),
        };
        let text = renderer.render("firewall/firewall.sh.j2", &ctx)?;
        Ok(vec![
            Artifact::file(
                self.name(),
                format!("host{}", layout::script(model, FIREWALL_SCRIPT)),
                text,
            )
            .with_mode(0o755)
            .on_change(Effect::Run(layout::script(model, FIREWALL_SCRIPT))),
        ])
    }
}
