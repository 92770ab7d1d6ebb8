//! The nginx site of a host deployment: `/etc/nginx/sites-available/NAME`, enabled by a link
//! from `sites-enabled`. It redirects HTTP to HTTPS, terminates TLS, proxies to the runtime
//! (WebSocket upgrades included) behind a per-IP rate limit, and serves `/static/` and
//! `/uploads/` from the directories the systemd target sets up. Needs Debian's `nginx`.
//!
//! In a fleet, the site's upstream lists every app host, with health-based failover; the
//! rollout takes one host out by rewriting the live site with [`drain`] (and puts it back
//! by restoring the site as it was before).

use super::error::TargetError;
use super::target::{CheckCommand, Package, PreSwapCheck, Service, Stage, Staged, Target};
use crate::artifact::{Artifact, Effect};
use crate::config::HostEntry;
use crate::model::layout;
use crate::model::{Model, Role, TlsFiles};
use crate::render::Renderer;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The distribution's nginx unit, reloaded when the site changes.
const NGINX_UNIT: &str = "nginx.service";
/// Where sites are installed; `sites-enabled` links to them.
const SITES: &str = "/etc/nginx/sites-available/";

/// The nginx target.
pub struct Nginx;

/// nginx caps `proxy_connect_timeout` at 75 seconds whatever is configured.
const MAX_CONNECT_TIMEOUT_SECS: u64 = 75;

/// What the site template sees.
#[derive(Serialize)]
struct Site {
    name: String,
    domain: String,
    upgrade_var: String,
    zone: String,
    rate: String,
    rate_source: String,
    burst: u64,
    tls: Option<TlsFiles>,
    tls_cache: String,
    /// With `[tls] acme`: the directory the HTTP-01 challenge files are served from.
    acme_challenges: Option<String>,
    /// What `proxy_pass` names: the runtime's address, or the fleet's upstream block.
    upstream: String,
    /// The upstream block's `server` directives, one per app host; empty on a local host.
    servers: Vec<String>,
    /// `firewall.internal_cidr`, allowed to ask `/ready` besides this host (a parsed CIDR).
    internal_cidr: Option<String>,
    connect_timeout: u64,
    timeout: u64,
    max_upload_mb: u32,
    static_dir: String,
    uploads_dir: String,
}

/// Where nginx reaches the runtime: `server.listen`, with a wildcard address replaced by
/// loopback of the same family.
fn upstream(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Where the site is installed on a host.
pub fn site_path(model: &Model) -> String {
    format!("{SITES}{}", model.name())
}

/// The address the proxies reach app host `app` of the fleet on.
pub fn upstream_server(model: &Model, app: &HostEntry) -> SocketAddr {
    upstream(model.app_listen(app))
}

/// The upstream `server` directive of an app host: one failed request takes it out for 5s.
fn server_directive(addr: SocketAddr) -> String {
    format!("server {addr} max_fails=1 fail_timeout=5s")
}

/// The site `text` with the app host at `addr` marked `down` in its upstream, so nginx
/// sends it nothing while the rollout updates it; `None` when the upstream has no such
/// server. Restoring the text as it was puts the host back.
pub fn drain(text: &str, addr: SocketAddr) -> Option<String> {
    let wanted = format!("{};", server_directive(addr));
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.trim() == wanted {
            true => {
                found = true;
                line.replacen(&wanted, &format!("{} down;", server_directive(addr)), 1)
            }
            false => line.to_string(),
        })
        .collect();
    found.then(|| lines.join("\n") + "\n")
}

/// Whether an upstream server of the site `text` is marked `down` by [`drain`].
pub fn is_drained(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("server ") && l.ends_with(" down;")
    })
}

impl Nginx {
    fn site(model: &Model) -> Option<Site> {
        let host = model.host.as_ref().filter(|_| model.serves(Role::Proxy))?;
        let ident = model.name().as_str().replace('-', "_");
        let per_ip = model.security.rate_limits.per_ip;
        let timeout = model.server.request_timeout.as_secs();
        let servers: Vec<String> = model
            .fleet()
            .unwrap_or_default()
            .iter()
            .filter(|h| h.holds(Role::App))
            .map(|h| server_directive(upstream_server(model, h)))
            .collect();
        Some(Site {
            name: model.name().to_string(),
            domain: model.server.domain.to_string(),
            upgrade_var: format!("{ident}_connection_upgrade"),
            zone: format!("{ident}_per_ip"),
            rate: format!("{}r/m", per_ip.per_minute_ceil()),
            rate_source: per_ip.to_string(),
            burst: per_ip.per_minute_ceil(),
            tls: model.tls_files(),
            tls_cache: format!("{ident}_tls"),
            acme_challenges: model
                .tls
                .as_ref()
                .and_then(|t| t.acme.as_ref())
                .map(|_| layout::acme_challenges(model)),
            upstream: match servers.is_empty() {
                true => upstream(model.server.listen.0).to_string(),
                false => format!("{ident}_app"),
            },
            servers,
            internal_cidr: model
                .firewall
                .as_ref()
                .and_then(|f| f.internal_cidr)
                .map(|c| c.to_string()),
            connect_timeout: timeout.min(MAX_CONNECT_TIMEOUT_SECS),
            timeout,
            max_upload_mb: model.server.max_upload_mb,
            static_dir: layout::static_dir(host),
            uploads_dir: layout::uploads_dir(host),
        })
    }
}

impl Target for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn services(&self) -> &'static [Service] {
        &[Service {
            unit: NGINX_UNIT,
            stage: Stage::Edge,
        }]
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "nginx/site.conf.j2",
            include_str!("../../templates/nginx/site.conf.j2"),
        )]
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        match model.serves(Role::Proxy) {
            true => vec![Package::archive("nginx", &[NGINX_UNIT])],
            false => Vec::new(),
        }
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(site) = Self::site(model) else {
            return Ok(Vec::new());
        };
        let name = model.name();
        let text = renderer.render("nginx/site.conf.j2", &site)?;
        Ok(vec![
            Artifact::file(self.name(), format!("host{}", site_path(model)), text)
                .with_mode(0o644)
                .on_change(Effect::Reload(NGINX_UNIT.into())),
            Artifact::link(
                self.name(),
                format!("host/etc/nginx/sites-enabled/{name}"),
                format!("../sites-available/{name}"),
            )
            .on_change(Effect::Reload(NGINX_UNIT.into())),
        ])
    }

    fn pre_swap_checks(&self) -> &'static [PreSwapCheck] {
        &[PreSwapCheck {
            covers: |path| path.starts_with(SITES),
            commands: check_sites,
        }]
    }
}

/// `nginx -t` on each staged site, inside a minimal main config that includes it (and the
/// live `mime.types`, when there is one), so a broken site never replaces a working one.
fn check_sites(staged: &Staged, sites: &[&str]) -> Vec<CheckCommand> {
    let stage = staged.stage.display();
    let mime = staged.live("/etc/nginx/mime.types");
    let include_mime = match mime.exists() {
        true => format!("include {};\n    ", mime.display()),
        false => String::new(),
    };
    sites
        .iter()
        .enumerate()
        .map(|(i, site)| {
            let wrapper = staged.stage.join(format!("nginx-test-{i}.conf"));
            let text = format!(
                "# scf: checks the staged site before it replaces the live one\npid {stage}/nginx-test.pid;\nerror_log {stage}/nginx-test.log;\nevents {{}}\nhttp {{\n    {include_mime}include {};\n}}\n",
                staged.staged(site).display()
            );
            let argv = ["nginx", "-t", "-q", "-c"].map(String::from).into_iter();
            CheckCommand {
                argv: argv.chain([wrapper.display().to_string()]).collect(),
                helpers: vec![(wrapper, text)],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_is_reached_on_loopback() {
        let at = |s: &str| upstream(s.parse().expect("addr")).to_string();
        assert_eq!(at("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(at("0.0.0.0:5000"), "127.0.0.1:5000");
        assert_eq!(at("[::]:5000"), "[::1]:5000");
        assert_eq!(at("10.0.0.5:8080"), "10.0.0.5:8080");
    }

    #[test]
    fn drain_marks_exactly_that_app_host_down() {
        let a: SocketAddr = "10.0.0.2:5000".parse().expect("addr");
        let b: SocketAddr = "10.0.0.3:5000".parse().expect("addr");
        let site = format!(
            "upstream x_app {{\n    {};\n    {};\n}}\n",
            server_directive(a),
            server_directive(b)
        );
        let drained = drain(&site, b).expect("b is in the upstream");
        assert_eq!(
            drained,
            "upstream x_app {\n    server 10.0.0.2:5000 max_fails=1 fail_timeout=5s;\n    server 10.0.0.3:5000 max_fails=1 fail_timeout=5s down;\n}\n"
        );
        assert_eq!(drain(&drained, b), None, "already down");
        assert_eq!(drain(&site, "10.0.0.4:5000".parse().expect("addr")), None);
        assert!(!is_drained(&site));
        assert!(is_drained(&drained));
        assert!(!is_drained("# server x down;\n"));
    }
}
