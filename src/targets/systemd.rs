//! systemd on a host: the runtime's `NAME.service`, sandboxed down to what the framework
//! server needs (`systemd-analyze security` exposure at most [`MAX_EXPOSURE`]); the backup
//! services and timers (`NAME-backup`, `NAME-backup-full`) that run the backup target's
//! script, and the weekly restore drill (`NAME-backup-verify`, `scf backup verify`); and a
//! tmpfiles.d entry creating the directories the units and nginx share. The units and
//! apply call `systemd-tmpfiles`, `systemd-sysusers` and `systemd-analyze`: package `systemd`.
//!
//! Each unit sees only its own context. The network allow-list every unit shares is
//! computed once by `network`, so the units and their comments cannot disagree.

use super::error::TargetError;
use super::target::{AddressedDir, CheckCommand, Package, PreSwapCheck, Staged, Target};
use crate::artifact::{Artifact, Effect};
use crate::config::values::{Cidr, DomainName};
use crate::config::{Backup, Host};
use crate::model::layout::{self, BACKUP_SCRIPT, NGINX_GROUP};
use crate::model::{Model, Role};
use crate::render::Renderer;
use serde::Serialize;
use std::net::IpAddr;

/// The systemd target.
pub struct Systemd;

/// The most `systemd-analyze security` exposure a generated service may have: its test
/// holds every profile's units to it, and `scf doctor` the running ones.
pub const MAX_EXPOSURE: f64 = 2.0;

/// Where units are installed; a plan addresses each as `systemd:NAME`.
const UNIT_DIR: &str = "/etc/systemd/system/";

fn tmpfiles_path(model: &Model) -> String {
    format!("/etc/tmpfiles.d/{}.conf", model.name())
}

/// What a unit may reach over IP, with a comment line per entry.
#[derive(Serialize)]
struct Network {
    /// `IPAddressAllow=` entries; `IPAddressDeny=any` denies the rest.
    allow: Vec<String>,
    /// Why each entry is there, and what could not be listed.
    notes: Vec<String>,
}

/// The addresses a unit needs: loopback, the database host when it is an address, and
/// `firewall.internal_cidr`; for the runtime also the Redis host, its listen address, and
/// the fleet's proxy and monitoring hosts that connect to it.
fn network(model: &Model, runtime: bool) -> Network {
    let local = match runtime {
        true => "localhost: nginx in front, local PostgreSQL and Redis",
        false => "localhost: local PostgreSQL",
    };
    let mut net = Network {
        allow: vec!["localhost".into()],
        notes: vec![local.into()],
    };
    let listen = model.server.listen.0.ip();
    if runtime && !listen.is_loopback() && !listen.is_unspecified() {
        // nginx on this host reaches a non-loopback listen address from that address.
        net.allow.push(listen.to_string());
        net.notes.push(format!(
            "{listen}: server.listen, where nginx connects from"
        ));
    }
    let internal = model.firewall.as_ref().and_then(|f| f.internal_cidr);
    let mut peers = vec![("database.host", &model.database.host, "PostgreSQL")];
    if runtime {
        peers.push(("redis.host", &model.redis.host, "Redis"));
    }
    for (key, host, what) in peers {
        peer(&mut net, key, host, what, internal);
    }
    if runtime {
        let clients = [
            (Role::Proxy, "a proxy host of [[hosts]] (nginx)"),
            (
                Role::Monitoring,
                "the monitoring host of [[hosts]] (Prometheus)",
            ),
        ];
        for (role, what) in clients {
            for ip in model.remote(role) {
                if !net.allow.contains(&ip.to_string()) {
                    net.allow.push(ip.to_string());
                }
                net.notes.push(format!("{ip}: {what}"));
            }
        }
    }
    if let Some(cidr) = internal {
        net.allow.push(cidr.to_string());
        net.notes.push(format!(
            "{cidr}: firewall.internal_cidr, the internal network (monitoring, internal services)"
        ));
    }
    net.allow.dedup();
    net
}

fn peer(net: &mut Network, key: &str, host: &DomainName, what: &str, internal: Option<Cidr>) {
    match host.as_str().parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => {}
        Ok(ip) => {
            if !net.allow.contains(&ip.to_string()) {
                net.allow.push(ip.to_string());
            }
            net.notes.push(format!("{ip}: {key}, {what}"));
        }
        Err(_) if host.as_str() == "localhost" => {}
        Err(_) => net.notes.push(format!(
            "{key} `{host}` is a name, and IPAddressAllow= takes addresses only: it must \
             resolve inside {}, through a resolver on loopback or in that network",
            internal.map_or_else(|| "firewall.internal_cidr".to_string(), |c| c.to_string())
        )),
    }
}

/// `NAME.service`.
#[derive(Serialize)]
struct RuntimeUnit {
    name: String,
    user: String,
    env_file: String,
    exec_start: String,
    after: Vec<&'static str>,
    tmpfiles: String,
    state_dir: String,
    uploads: String,
    nginx_group: &'static str,
    /// The API's port, then the metrics listener's when Prometheus is on.
    bind_ports: Vec<u16>,
    stop_timeout: u64,
    net: Network,
}

/// `NAME-backup[-full].service`.
#[derive(Serialize)]
struct BackupUnit {
    name: String,
    kind: &'static str,
    user: String,
    env_file: String,
    script: String,
    tmpfiles: String,
    dir: String,
    s3: Option<String>,
    /// node-exporter's textfile directory, when the backup writes its metrics there.
    metrics: Option<&'static str>,
    net: Network,
}

/// `NAME-backup-verify.service`.
#[derive(Serialize)]
struct VerifyUnit {
    name: String,
    user: String,
    env_file: String,
    exec_start: String,
    /// node-exporter's textfile directory, when the drill writes its metrics there.
    metrics: Option<&'static str>,
    net: Network,
}

/// `NAME-backup-verify.timer`.
#[derive(Serialize)]
struct VerifyTimer {
    name: String,
    on_calendar: &'static str,
}

/// When the restore drill runs: weekly, on Monday morning, after the night's backups.
const DRILL_ON_CALENDAR: &str = "Mon *-*-* 04:00:00";

/// `NAME-backup[-full].timer`.
#[derive(Serialize)]
struct BackupTimer {
    name: String,
    kind: &'static str,
    schedule: String,
    on_calendar: String,
}

/// `/etc/sysusers.d/NAME.conf`.
#[derive(Serialize)]
struct Sysusers {
    name: String,
    user: String,
    home: String,
}

/// Creates the accounts that sysusers.d files declare.
const SYSUSERS: &str = "systemd-sysusers";

/// `/etc/tmpfiles.d/NAME.conf`.
#[derive(Serialize)]
struct Tmpfiles {
    name: String,
    user: String,
    nginx_group: &'static str,
    install_dir: String,
    static_dir: String,
    uploads: String,
    backup_dir: Option<String>,
}

/// The ports the runtime listens on: the API's, and the metrics listener's when Prometheus
/// is on.
fn bind_ports(model: &Model) -> Vec<u16> {
    let mut ports = vec![model.server.listen.0.port()];
    if model.monitoring.prometheus {
        ports.push(scf_runtime::settings::METRICS_PORT);
    }
    ports
}

fn after(model: &Model) -> Vec<&'static str> {
    let mut units = vec!["network-online.target"];
    if model.database.managed {
        units.push("postgresql.service");
    }
    if model.redis.managed {
        units.push("redis-server.service");
    }
    units
}

/// node-exporter's textfile directory, where this host's backups and restore drills write
/// their metrics, if they do.
fn textfile_dir(model: &Model) -> Option<&'static str> {
    (model.runs_backups() && layout::exports_textfiles(model)).then_some(layout::TEXTFILE_DIR)
}

impl Systemd {
    fn unit(&self, path: String, text: String) -> Artifact {
        Artifact::file(self.name(), format!("host{path}"), text).with_mode(0o644)
    }

    fn runtime(&self, model: &Model, host: &Host, r: &Renderer) -> Result<Artifact, TargetError> {
        let ctx = RuntimeUnit {
            name: model.name().to_string(),
            user: host.user.to_string(),
            env_file: layout::env_file(model),
            exec_start: format!("{} run --production", layout::BINARY),
            after: after(model),
            tmpfiles: tmpfiles_path(model),
            state_dir: layout::state_dir(model),
            uploads: layout::uploads_dir(host),
            nginx_group: NGINX_GROUP,
            bind_ports: bind_ports(model),
            stop_timeout: crate::model::STOP_TIMEOUT_SECONDS,
            net: network(model, true),
        };
        let text = r.render("systemd/runtime.service.j2", &ctx)?;
        let unit = format!("{}.service", model.name());
        Ok(self
            .unit(format!("{UNIT_DIR}{unit}"), text)
            .on_change(Effect::DaemonReload)
            .on_change(Effect::EnableNow(unit.clone()))
            .on_change(Effect::Restart(unit)))
    }

    fn backups(
        &self,
        model: &Model,
        host: &Host,
        backup: &Backup,
        r: &Renderer,
    ) -> Result<Vec<Artifact>, TargetError> {
        let schedules = [
            ("daily", Some(&backup.schedule)),
            ("full", backup.full_schedule.as_ref()),
        ];
        let mut out = Vec::new();
        for (kind, cron) in schedules {
            let Some(cron) = cron else { continue };
            let unit = match kind {
                "daily" => format!("{}-backup", model.name()),
                _ => format!("{}-backup-{kind}", model.name()),
            };
            let service = BackupUnit {
                name: model.name().to_string(),
                kind,
                user: host.user.to_string(),
                env_file: layout::env_file(model),
                script: format!("{} {kind}", layout::script(model, BACKUP_SCRIPT)),
                tmpfiles: tmpfiles_path(model),
                dir: backup.dir.to_string(),
                s3: backup.s3.as_ref().map(ToString::to_string),
                metrics: textfile_dir(model),
                net: network(model, false),
            };
            let timer = BackupTimer {
                name: model.name().to_string(),
                kind,
                schedule: cron.to_string(),
                on_calendar: cron.to_on_calendar(),
            };
            out.push(
                self.unit(
                    format!("{UNIT_DIR}{unit}.service"),
                    r.render("systemd/backup.service.j2", &service)?,
                )
                .on_change(Effect::DaemonReload),
            );
            out.push(
                self.unit(
                    format!("{UNIT_DIR}{unit}.timer"),
                    r.render("systemd/backup.timer.j2", &timer)?,
                )
                .on_change(Effect::DaemonReload)
                .on_change(Effect::EnableNow(format!("{unit}.timer")))
                .on_change(Effect::Restart(format!("{unit}.timer"))),
            );
        }
        if model.runs_restore_drill() {
            out.extend(self.verify(model, host, backup, r)?);
        }
        Ok(out)
    }

    /// `NAME-backup-verify.service` and its weekly timer: the restore drill of the newest set.
    fn verify(
        &self,
        model: &Model,
        host: &Host,
        backup: &Backup,
        r: &Renderer,
    ) -> Result<[Artifact; 2], TargetError> {
        let unit = format!("{}-backup-verify", model.name());
        let latest = backup.dir.join("latest");
        let exec_start = match textfile_dir(model) {
            Some(_) => format!(
                "{} backup verify --metrics {} {latest}",
                layout::BINARY,
                layout::restore_drill_metrics(model)
            ),
            None => format!("{} backup verify {latest}", layout::BINARY),
        };
        let service = VerifyUnit {
            name: model.name().to_string(),
            user: host.user.to_string(),
            env_file: layout::env_file(model),
            exec_start,
            metrics: textfile_dir(model),
            net: network(model, false),
        };
        let timer = VerifyTimer {
            name: model.name().to_string(),
            on_calendar: DRILL_ON_CALENDAR,
        };
        let service = self
            .unit(
                format!("{UNIT_DIR}{unit}.service"),
                r.render("systemd/backup-verify.service.j2", &service)?,
            )
            .on_change(Effect::DaemonReload);
        let timer = self
            .unit(
                format!("{UNIT_DIR}{unit}.timer"),
                r.render("systemd/backup-verify.timer.j2", &timer)?,
            )
            .on_change(Effect::DaemonReload)
            .on_change(Effect::EnableNow(format!("{unit}.timer")))
            .on_change(Effect::Restart(format!("{unit}.timer")));
        Ok([service, timer])
    }

    /// `/etc/sysusers.d/NAME.conf`: the account the units run as, created on a bare host.
    fn sysusers(&self, model: &Model, host: &Host, r: &Renderer) -> Result<Artifact, TargetError> {
        let ctx = Sysusers {
            name: model.name().to_string(),
            user: host.user.to_string(),
            home: layout::state_dir(model),
        };
        let text = r.render("systemd/sysusers.conf.j2", &ctx)?;
        Ok(self
            .unit(format!("/etc/sysusers.d/{}.conf", model.name()), text)
            .on_change(Effect::Run(SYSUSERS.into())))
    }

    fn tmpfiles(&self, model: &Model, host: &Host, r: &Renderer) -> Result<Artifact, TargetError> {
        let ctx = Tmpfiles {
            name: model.name().to_string(),
            user: host.user.to_string(),
            nginx_group: NGINX_GROUP,
            install_dir: host.install_dir.to_string(),
            static_dir: layout::static_dir(host),
            uploads: layout::uploads_dir(host),
            backup_dir: model.backup.as_ref().map(|b| b.dir.to_string()),
        };
        let text = r.render("systemd/tmpfiles.conf.j2", &ctx)?;
        // The directories exist before the units start (their sandboxes mount them), and
        // the runtime runs `systemd-tmpfiles --create` again before it starts: restart it.
        let file = self
            .unit(tmpfiles_path(model), text)
            .on_change(Effect::CreateDirs(tmpfiles_path(model)));
        Ok(match model.serves(Role::App) {
            true => file.on_change(Effect::Restart(format!("{}.service", model.name()))),
            false => file,
        })
    }
}

impl Target for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "systemd/sandbox.j2",
                include_str!("../../templates/systemd/sandbox.j2"),
            ),
            (
                "systemd/runtime.service.j2",
                include_str!("../../templates/systemd/runtime.service.j2"),
            ),
            (
                "systemd/backup.service.j2",
                include_str!("../../templates/systemd/backup.service.j2"),
            ),
            (
                "systemd/backup.timer.j2",
                include_str!("../../templates/systemd/backup.timer.j2"),
            ),
            (
                "systemd/backup-verify.service.j2",
                include_str!("../../templates/systemd/backup-verify.service.j2"),
            ),
            (
                "systemd/backup-verify.timer.j2",
                include_str!("../../templates/systemd/backup-verify.timer.j2"),
            ),
            (
                "systemd/tmpfiles.conf.j2",
                include_str!("../../templates/systemd/tmpfiles.conf.j2"),
            ),
            (
                "systemd/sysusers.conf.j2",
                include_str!("../../templates/systemd/sysusers.conf.j2"),
            ),
        ]
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(host) = model.host.as_ref().filter(|_| model.has_account()) else {
            return Ok(Vec::new());
        };
        let mut out = vec![
            self.tmpfiles(model, host, renderer)?,
            self.sysusers(model, host, renderer)?,
        ];
        if model.serves(Role::App) {
            out.push(self.runtime(model, host, renderer)?);
        }
        if let Some(backup) = model.backup.as_ref().filter(|_| model.runs_backups()) {
            out.extend(self.backups(model, host, backup, renderer)?);
        }
        Ok(out)
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        match model.hosted() {
            true => vec![Package::archive("systemd", &[])],
            false => Vec::new(),
        }
    }

    fn addressed_dirs(&self) -> &'static [AddressedDir] {
        &[AddressedDir {
            dir: UNIT_DIR,
            scheme: "systemd",
        }]
    }

    fn pre_swap_checks(&self) -> &'static [PreSwapCheck] {
        &[PreSwapCheck {
            covers: |path| {
                path.strip_prefix(UNIT_DIR).is_some_and(|unit| {
                    !unit.contains('/')
                        && [".service", ".timer", ".socket"]
                            .iter()
                            .any(|kind| unit.ends_with(kind))
                })
            },
            commands: verify_units,
        }]
    }
}

/// The directories whose staged executables a staged unit may run (the installed scf,
/// the backup and firewall scripts): the check sees them as they will be after the swap.
const EXEC_DIRS: [&str; 2] = ["usr/local", "opt"];

/// Mounts each staged executable directory over the live one (a read-only overlay, in a
/// mount namespace of the check's own), then verifies the units given as arguments.
const VERIFY_SCRIPT: &str = r#"stage=$1; shift
for dir in $EXEC_DIRS; do
  if [ -d "$stage/$dir" ] && [ -d "/$dir" ]; then
    mount -t overlay scf-verify -o "lowerdir=$stage/$dir:/$dir" "/$dir" || exit 1
  fi
done
exec systemd-analyze verify --man=no "$@""#;

/// One `systemd-analyze verify` over every staged unit, in a private mount namespace where
/// the executables staged beside them are in place: a first apply stages a unit and the
/// program it runs together, and neither is live yet.
fn verify_units(staged: &Staged, units: &[&str]) -> Vec<CheckCommand> {
    let script = VERIFY_SCRIPT.replace("$EXEC_DIRS", &EXEC_DIRS.join(" "));
    let argv = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
    ]
    .map(String::from)
    .into_iter()
    .chain([script, "verify".into(), staged.stage.display().to_string()]);
    let units = units.iter().map(|u| staged.staged(u).display().to_string());
    vec![CheckCommand {
        helpers: Vec::new(),
        argv: argv.chain(units).collect(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_enter_the_allow_list() {
        let mut net = Network {
            allow: vec!["localhost".into()],
            notes: Vec::new(),
        };
        let cidr: Cidr = "10.0.0.0/8".parse().expect("cidr");
        for host in [
            "127.0.0.1",
            "localhost",
            "10.1.2.3",
            "10.1.2.3",
            "db.internal",
        ] {
            let host: DomainName = host.parse().expect("domain");
            peer(&mut net, "database.host", &host, "PostgreSQL", Some(cidr));
        }
        assert_eq!(
            net.allow,
            ["localhost", "10.1.2.3"],
            "loopback is covered, names never enter"
        );
        assert!(
            net.notes
                .last()
                .is_some_and(|n| n.contains("db.internal") && n.contains("10.0.0.0/8"))
        );
    }
}
