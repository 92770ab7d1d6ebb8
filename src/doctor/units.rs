//! Post-deployment: the systemd units are active (the deployment's own services and
//! timers, and the daemons of the packages it installs), its services' sandboxes hold
//! (the `systemd-analyze security` exposure the systemd target is held to), and journald
//! keeps the logs across reboots.

use super::observe;
use super::report::Check;
use crate::artifact::Artifact;
use crate::model::Model;
use crate::targets::Origin;
use crate::targets::systemd::MAX_EXPOSURE;
use std::collections::BTreeMap;

/// Where the deployment's own units are installed.
const UNIT_DIR: &str = "/etc/systemd/system/";

/// What being up means for a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wanted {
    /// Active: a daemon running, a timer waiting.
    Active,
    /// Active, or absent because its package is not one scf installs: the way to get it.
    ActiveOnceInstalled(&'static str),
}

/// The units' activity, then the sandboxes' exposure.
pub fn checks(model: &Model, artifacts: &[Artifact]) -> Vec<Check> {
    let own: Vec<&str> = artifacts
        .iter()
        .filter_map(|a| a.host_path()?.strip_prefix(UNIT_DIR))
        .filter(|name| !name.contains('/'))
        .collect();
    // A service a timer starts runs now and then, and is inactive in between.
    let timed = |service: &str| {
        service
            .strip_suffix(".service")
            .is_some_and(|stem| own.contains(&format!("{stem}.timer").as_str()))
    };
    let mut units: Vec<(String, Wanted)> = own
        .iter()
        .filter(|u| (u.ends_with(".service") && !timed(u)) || u.ends_with(".timer"))
        .map(|u| (u.to_string(), Wanted::Active))
        .collect();
    for package in crate::targets::packages(model) {
        let wanted = match package.origin {
            Origin::Archive => Wanted::Active,
            Origin::Elsewhere(from) => Wanted::ActiveOnceInstalled(from),
        };
        units.extend(package.units.iter().map(|u| (u.clone(), wanted.clone())));
    }
    units.sort_by(|a, b| a.0.cmp(&b.0));
    units.dedup_by(|a, b| a.0 == b.0);
    let mut checks = activity(&units);
    checks.extend(own.iter().filter(|u| u.ends_with(".service")).map(|unit| {
        exposure(
            unit,
            observe::command(&["systemd-analyze", "security", "--no-pager", unit]),
        )
    }));
    checks
}

/// One check per unit, from one `systemctl show`.
fn activity(units: &[(String, Wanted)]) -> Vec<Check> {
    if units.is_empty() {
        return Vec::new();
    }
    let mut argv = vec![
        "systemctl",
        "show",
        "--property=Id,LoadState,ActiveState,SubState,Result",
    ];
    argv.extend(units.iter().map(|(u, _)| u.as_str()));
    let shown = match observe::command(&argv) {
        Ok(out) => parse_show(&out),
        Err(e) => {
            return vec![Check::fail(
                "units",
                e,
                "run scf doctor on the host, as root, with systemd running",
            )];
        }
    };
    units
        .iter()
        .zip(
            shown
                .into_iter()
                .chain(std::iter::repeat_with(BTreeMap::new)),
        )
        .map(|((unit, wanted), props)| judge_unit(unit, wanted, &props))
        .collect()
}

/// The property blocks of `systemctl show`, one per unit, in order.
fn parse_show(out: &str) -> Vec<BTreeMap<String, String>> {
    out.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// How `unit` stands, by its `systemctl show` properties.
fn judge_unit(unit: &str, wanted: &Wanted, props: &BTreeMap<String, String>) -> Check {
    let name = format!("unit {unit}");
    let get = |key: &str| props.get(key).map(String::as_str).unwrap_or("");
    let (active, sub) = (get("ActiveState"), get("SubState"));
    if get("LoadState") == "not-found" {
        return match wanted {
            Wanted::ActiveOnceInstalled(from) => {
                Check::warn(name, "not installed, and scf does not install it", *from)
            }
            Wanted::Active => Check::fail(
                name,
                "no such unit on this host",
                "`scf apply` installs it (`scf plan` shows what is missing)",
            ),
        };
    }
    if active == "active" {
        return Check::pass(name, format!("active ({sub})"));
    }
    let result = match get("Result") {
        "" | "success" => String::new(),
        result => format!(", result {result}"),
    };
    Check::fail(
        name,
        format!("{active} ({sub}{result})"),
        format!("`systemctl start {unit}`; `journalctl -u {unit} -n 50` says why it stopped"),
    )
}

/// How the sandbox of `unit` stands, by `systemd-analyze security UNIT`'s output.
fn exposure(unit: &str, analysed: Result<String, String>) -> Check {
    let name = format!("sandbox {unit}");
    let out = match analysed {
        Ok(out) => out,
        Err(e) => {
            return Check::fail(
                name,
                e,
                format!("`systemd-analyze security {unit}` must run on the host"),
            );
        }
    };
    let score = out.lines().find_map(|l| {
        l.split_once("Overall exposure level for ")?
            .1
            .split_once(": ")?
            .1
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    });
    match score {
        Some(score) if score <= MAX_EXPOSURE => Check::pass(
            name,
            format!("exposure {score:.1} (at most {MAX_EXPOSURE:.1})"),
        ),
        Some(score) => Check::fail(
            name,
            format!("exposure {score:.1}, above the {MAX_EXPOSURE:.1} scf generates it with"),
            format!(
                "`systemctl cat {unit}` shows the drop-in or edit that loosens it: remove it, then `scf apply` and `systemctl restart {unit}`"
            ),
        ),
        None => Check::fail(
            name,
            format!("no exposure score in: {}", observe::first_line(&out)),
            format!("run `systemd-analyze security {unit}` and read it"),
        ),
    }
}

/// Whether journald keeps logs across reboots.
pub fn journald() -> Check {
    let config = observe::command(&["systemd-analyze", "cat-config", "systemd/journald.conf"]);
    let dir = std::path::Path::new("/var/log/journal").is_dir();
    match config {
        Ok(text) => judge_journald(storage(&text), dir),
        Err(e) => Check::fail("journald", e, "run scf doctor on the host"),
    }
}

/// The `Storage=` in force in journald's configuration (files in order, the last wins).
fn storage(config: &str) -> String {
    config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Storage="))
        .next_back()
        .unwrap_or("auto")
        .trim()
        .to_string()
}

/// Whether journald with `Storage=storage` and /var/log/journal present (`dir`) persists.
fn judge_journald(storage: String, dir: bool) -> Check {
    let fix_dir = "`mkdir -p /var/log/journal && systemd-tmpfiles --create --prefix /var/log/journal && journalctl --flush`";
    match (storage.as_str(), dir) {
        ("persistent", _) => Check::pass("journald", "Storage=persistent"),
        ("auto", true) => Check::pass(
            "journald",
            "Storage=auto, and /var/log/journal exists: logs persist",
        ),
        ("auto", false) => Check::fail(
            "journald",
            "Storage=auto, but there is no /var/log/journal: logs are kept in /run and lost at reboot",
            fix_dir,
        ),
        (other, _) => Check::fail(
            "journald",
            format!("Storage={other}: logs are lost at reboot"),
            "set Storage=persistent in /etc/systemd/journald.conf.d/persistent.conf, then `systemctl restart systemd-journald`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    fn props(text: &str) -> BTreeMap<String, String> {
        parse_show(text).remove(0)
    }

    #[test]
    fn a_unit_is_active_stopped_failed_or_missing() {
        let shown = parse_show(
            "Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nResult=success\n\n\
             Id=a-backup.timer\nLoadState=loaded\nActiveState=active\nSubState=waiting\nResult=success\n",
        );
        assert_eq!(shown.len(), 2);
        let running = judge_unit("nginx.service", &Wanted::Active, &shown[0]);
        assert_eq!(
            (running.status, running.evidence.as_str()),
            (Status::Pass, "active (running)")
        );
        assert_eq!(
            judge_unit("a-backup.timer", &Wanted::Active, &shown[1]).evidence,
            "active (waiting)"
        );

        let stopped = judge_unit(
            "acme.service",
            &Wanted::Active,
            &props("LoadState=loaded\nActiveState=inactive\nSubState=dead\nResult=success"),
        );
        assert_eq!(
            (stopped.status, stopped.evidence.as_str()),
            (Status::Fail, "inactive (dead)")
        );
        assert_eq!(
            stopped.fix.as_deref(),
            Some(
                "`systemctl start acme.service`; `journalctl -u acme.service -n 50` says why it stopped"
            )
        );
        let failed = judge_unit(
            "acme.service",
            &Wanted::Active,
            &props("LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code"),
        );
        assert_eq!(failed.evidence, "failed (failed, result exit-code)");

        let absent = props("LoadState=not-found\nActiveState=inactive\nSubState=dead");
        assert_eq!(
            judge_unit("x.service", &Wanted::Active, &absent).status,
            Status::Fail
        );
        let grafana = judge_unit(
            "grafana-server.service",
            &Wanted::ActiveOnceInstalled("from apt.grafana.com"),
            &absent,
        );
        assert_eq!(
            (grafana.status, grafana.fix.as_deref()),
            (Status::Warn, Some("from apt.grafana.com"))
        );
    }

    #[test]
    fn the_exposure_score_is_held_to_the_generated_units_bound() {
        let report = |score: &str| {
            format!(
                "  NAME  DESCRIPTION  EXPOSURE\n✓ PrivateNetwork= ...\n\n→ Overall exposure level for acme.service: {score} OK :-)\n"
            )
        };
        let ok = exposure("acme.service", Ok(report("1.9")));
        assert_eq!(
            (ok.status, ok.evidence.as_str()),
            (Status::Pass, "exposure 1.9 (at most 2.0)")
        );
        let loose = exposure("acme.service", Ok(report("9.6")));
        assert_eq!(loose.status, Status::Fail);
        assert_eq!(
            loose.evidence,
            "exposure 9.6, above the 2.0 scf generates it with"
        );
        assert!(
            loose
                .fix
                .unwrap()
                .starts_with("`systemctl cat acme.service`")
        );
        assert_eq!(
            exposure("acme.service", Ok("garbage".into())).status,
            Status::Fail
        );
        assert_eq!(
            exposure("acme.service", Err("no systemd".into())).status,
            Status::Fail
        );
    }

    #[test]
    fn journald_persists_with_its_directory_or_when_told() {
        let config = "# /etc/systemd/journald.conf\n[Journal]\n#Storage=auto\n\n# /etc/systemd/journald.conf.d/x.conf\n[Journal]\nStorage=volatile\n";
        assert_eq!(storage(config), "volatile");
        assert_eq!(storage("[Journal]\n#Storage=auto\n"), "auto");
        assert_eq!(judge_journald("auto".into(), true).status, Status::Pass);
        let lost = judge_journald("auto".into(), false);
        assert_eq!(lost.status, Status::Fail);
        assert!(lost.fix.unwrap().contains("mkdir -p /var/log/journal"));
        assert_eq!(judge_journald("volatile".into(), true).status, Status::Fail);
        assert_eq!(
            judge_journald("persistent".into(), false).status,
            Status::Pass
        );
    }
}
