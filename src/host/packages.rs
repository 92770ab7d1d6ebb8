//! Debian packages in the host plan. Targets declare what the services they configure need
//! ([`crate::targets::packages`]); this module observes which of those are installed and
//! plans one `package:NAME` change each: `create` when it is missing, a no-op when it is
//! installed. Installed means so in `ROOT/var/lib/dpkg/status`, which is read and parsed
//! here (no subprocess), so a plan under `--root` sees the root's packages, not the
//! machine's. A root without that file is no Debian system (a plain directory, as in most
//! tests): no package is planned at all.
//!
//! scf never removes a package: not one it did not install, and not one it installed and
//! no longer needs. A package that is not in Debian's archive (Grafana) is not installed
//! either; the plan says so in a note while it is missing.
//!
//! The version shown for a missing package is the archive's candidate from `apt-cache
//! policy`, asked only when the root is `/` (another root's package lists are not the
//! machine's). Apply installs the missing packages before any file with
//! [`install_commands`], the units they bring held until their config is in place, then
//! started by the plan's commands (`Effect::EnableNow` on the package's change).

use super::error::HostError;
use super::plan::Effects;
use crate::artifact::Effect;
use crate::plan::{Action, Change, Command, Desired};
use crate::targets::{Origin, Package};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Where dpkg records what is installed, under the root.
const STATUS: &str = "var/lib/dpkg/status";

/// The program that tells invoke-rc.d whether a daemon may start (exit 101: no).
pub const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// A package's plan address.
pub fn address(name: &str) -> String {
    format!("package:{name}")
}

/// The packages part of a host plan.
#[derive(Debug, Default)]
pub struct Planned {
    /// One change per archive package, sorted by address.
    pub changes: Vec<Change>,
    /// The units each package brings, started when it is installed.
    pub effects: Effects,
    /// The packages to install, sorted; empty when all are installed.
    pub install: Vec<String>,
    /// What the plan says about packages scf does not install.
    pub notes: Vec<String>,
    /// The units of packages scf does not install and the host lacks: nothing can start
    /// or restart them, so the plan runs no command on them.
    pub absent_units: Vec<String>,
}

/// Plans `wanted` against the packages installed under `root`.
pub fn plan(root: &Path, wanted: &[Package]) -> Result<Planned, HostError> {
    let path = root.join(STATUS);
    let installed = match std::fs::read_to_string(&path) {
        Ok(text) => parse_status(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Planned::default()),
        Err(e) => return Err(HostError::io(format!("read {}", path.display()), e)),
    };
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| p.origin == Origin::Archive && !installed.contains_key(p.name))
        .map(|p| p.name)
        .collect();
    let candidates = if root == Path::new("/") && !missing.is_empty() {
        candidates(&missing)
    } else {
        BTreeMap::new()
    };
    let mut out = Planned::default();
    for package in wanted {
        let version = installed.get(package.name);
        if let Origin::Elsewhere(source) = package.origin {
            if version.is_none() {
                out.notes.push(format!(
                    "package {} is not installed, and scf does not install it: {source}.",
                    package.name
                ));
                out.absent_units.extend(package.units.iter().cloned());
            }
            continue;
        }
        let address = address(package.name);
        let (action, observed, version) = match version {
            Some(v) => (Action::NoOp, format!("installed {v}"), Some(v.clone())),
            None => {
                out.install.push(package.name.to_string());
                let candidate = candidates.get(package.name).cloned();
                (Action::Create, "absent".to_string(), candidate)
            }
        };
        let starts = package.units.iter().map(|u| Effect::EnableNow(u.clone()));
        out.effects.insert(address.clone(), starts.collect());
        out.changes.push(Change {
            desired: Some(Desired::Package { version }),
            ..Change::new(address, action, observed)
        });
    }
    out.changes.sort_by(|a, b| a.address.cmp(&b.address));
    out.install.sort();
    Ok(out)
}

/// The installed packages of a dpkg status file, by name, with their versions. A package
/// is installed when the third word of its `Status:` is `installed` (`install ok
/// installed`, or `hold ok installed`); `deinstall ok config-files` left only its config
/// behind, and a half-installed one is for apt-get to finish.
pub fn parse_status(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for paragraph in text.split("\n\n") {
        let (mut name, mut status, mut version) = (None, None, None);
        // Continuation lines start with a space or a tab and belong to the field above.
        for line in paragraph.lines().filter(|l| !l.starts_with([' ', '\t'])) {
            let Some((field, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match field {
                "Package" => name = Some(value),
                "Status" => status = Some(value),
                "Version" => version = Some(value),
                _ => {}
            }
        }
        let installed = status.and_then(|s| s.split_whitespace().nth(2)) == Some("installed");
        if let (Some(name), true) = (name, installed) {
            out.insert(name.to_string(), version.unwrap_or_default().to_string());
        }
    }
    out
}

/// The archive's candidate version of each of `names` that has one, from `apt-cache
/// policy`; empty when apt-cache cannot tell.
pub fn candidates(names: &[&str]) -> BTreeMap<String, String> {
    let output = std::process::Command::new("apt-cache")
        .arg("policy")
        .args(names)
        .env("LC_ALL", "C")
        .output();
    match output {
        Ok(out) if out.status.success() => parse_policy(&String::from_utf8_lossy(&out.stdout)),
        _ => BTreeMap::new(),
    }
}

/// `Candidate:` of each package block of `apt-cache policy` output (`NAME:` at the start of
/// a line, its fields indented); a candidate of `(none)` is none.
pub fn parse_policy(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut package = None;
    for line in text.lines() {
        if !line.starts_with(' ') {
            package = line.strip_suffix(':');
        } else if let (Some(name), Some(candidate)) =
            (package, line.trim().strip_prefix("Candidate:"))
        {
            let candidate = candidate.trim();
            if !candidate.is_empty() && candidate != "(none)" {
                out.insert(name.to_string(), candidate.to_string());
            }
        }
    }
    out
}

/// The commands that install `names` from the archive: refresh the package lists, then
/// install without recommends (only what the services need), never asking, keeping a
/// config file already in place rather than the package's version.
pub fn install_commands(names: &[String]) -> Vec<Command> {
    let mut install = Command::new(
        "apt-get",
        &[
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
        ],
    );
    install.args.extend(names.iter().cloned());
    vec![Command::new("apt-get", &["update", "-q"]), install]
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "\
Package: nginx
Status: install ok installed
Priority: optional
Version: 1.22.1-9+deb12u1
Description: small, powerful, scalable web/proxy server
 Nginx (\"engine X\") is a high-performance web and reverse proxy server.
 .
 Package: not-a-package
 Status: install ok installed

Package: ufw
Status: deinstall ok config-files
Version: 0.36.2-1
Conffiles:
 /etc/ufw/ufw.conf 0123456789abcdef

Package: redis-server
Status: hold ok installed
Version: 5:7.0.15-1~deb12u1

Package: prometheus
Status: install reinstreq half-installed
Version: 2.42.0+ds-5
";

    #[test]
    fn dpkg_status_lists_only_installed_packages_with_their_versions() {
        let installed = parse_status(STATUS_TEXT);
        assert_eq!(
            installed.into_iter().collect::<Vec<_>>(),
            [
                ("nginx".to_string(), "1.22.1-9+deb12u1".to_string()),
                ("redis-server".to_string(), "5:7.0.15-1~deb12u1".to_string()),
            ],
            "config files only, half-installed and continuation lines are not installed"
        );
    }

    #[test]
    fn policy_candidates_skip_none_and_unknown_packages() {
        let text = "\
nginx:
  Installed: (none)
  Candidate: 1.22.1-9+deb12u1
  Version table:
     1.22.1-9+deb12u1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
ufw:
  Installed: (none)
  Candidate: (none)
  Version table:
";
        assert_eq!(
            parse_policy(text).into_iter().collect::<Vec<_>>(),
            [("nginx".to_string(), "1.22.1-9+deb12u1".to_string())]
        );
    }

    fn root_with_status(text: Option<&str>) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("root");
        if let Some(text) = text {
            let path = root.path().join(STATUS);
            std::fs::create_dir_all(path.parent().expect("dir")).expect("dirs");
            std::fs::write(path, text).expect("status");
        }
        root
    }

    fn wanted() -> Vec<Package> {
        vec![
            Package::archive("nginx", &["nginx.service"]),
            Package::archive("ufw", &[]),
            Package {
                name: "grafana",
                units: Vec::new(),
                origin: Origin::Elsewhere("get it elsewhere"),
            },
        ]
    }

    #[test]
    fn missing_packages_are_created_with_their_units_and_installed_ones_left() {
        let root = root_with_status(Some(STATUS_TEXT));
        let planned = plan(root.path(), &wanted()).expect("plan");
        let shown: Vec<(String, Action, String)> = planned
            .changes
            .iter()
            .map(|c| (c.address.clone(), c.action, c.observed.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "package:nginx".to_string(),
                    Action::NoOp,
                    "installed 1.22.1-9+deb12u1".to_string()
                ),
                (
                    "package:ufw".to_string(),
                    Action::Create,
                    "absent".to_string()
                ),
            ]
        );
        assert_eq!(planned.install, ["ufw"]);
        assert_eq!(
            planned.effects["package:nginx"],
            [Effect::EnableNow("nginx.service".into())]
        );
        assert_eq!(
            planned.changes[1].desired,
            Some(Desired::Package { version: None }),
            "no candidate is asked for outside /"
        );
        assert_eq!(
            planned.notes,
            ["package grafana is not installed, and scf does not install it: get it elsewhere."]
        );
    }

    #[test]
    fn a_root_without_a_dpkg_status_plans_no_packages() {
        let root = root_with_status(None);
        let planned = plan(root.path(), &wanted()).expect("plan");
        assert!(planned.changes.is_empty() && planned.install.is_empty());
        assert!(planned.notes.is_empty());
    }

    #[test]
    fn apt_get_never_asks_and_keeps_the_config_in_place() {
        let commands = install_commands(&["nginx".into(), "ufw".into()]);
        let [update, install] = commands.as_slice() else {
            panic!("update, then install: {commands:?}");
        };
        assert_eq!(update.to_string(), "apt-get update -q");
        let words = &install.args;
        assert_eq!(install.program, "apt-get");
        for word in [
            "-y",
            "--no-install-recommends",
            "Dpkg::Options::=--force-confold",
        ] {
            assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
        }
        assert!(
            words.ends_with(&["nginx".into(), "ufw".into()]),
            "{words:?}"
        );
    }
}
