//! Pre-deployment: the Debian packages the deployment's services need (what the targets
//! declare, as `scf plan` plans them) are installed, or apt can install them; one that is
//! not in Debian's archive (Grafana) must be installed by hand.

use super::observe;
use super::report::Check;
use crate::host::packages::{candidates, parse_status};
use crate::model::Model;
use crate::targets::{Origin, Package};

/// One check per package the host needs.
pub fn checks(model: &Model) -> Vec<Check> {
    let wanted = crate::targets::packages(model);
    if wanted.is_empty() {
        return Vec::new();
    }
    let installed = match observe::read("/var/lib/dpkg/status") {
        Ok(Some(text)) => parse_status(&text),
        Ok(None) => {
            return vec![Check::fail(
                "packages",
                "no /var/lib/dpkg/status: this is not a Debian system",
                "deploy to Debian 12 (bookworm), which the packages scf installs come from",
            )];
        }
        Err(e) => return vec![Check::fail("packages", e, "run scf doctor as root")],
    };
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| p.origin == Origin::Archive && !installed.contains_key(p.name))
        .map(|p| p.name)
        .collect();
    let candidates = match missing.is_empty() {
        true => Default::default(),
        false => candidates(&missing),
    };
    let lists = apt_lists();
    wanted
        .iter()
        .map(|p| {
            judge(
                p,
                installed.get(p.name).map(String::as_str),
                candidates.get(p.name).map(String::as_str),
                lists,
            )
        })
        .collect()
}

/// Whether apt has package lists (`apt-get update` has run): without them it knows no
/// candidate, and apply's own `apt-get update` fetches them.
fn apt_lists() -> bool {
    std::fs::read_dir("/var/lib/apt/lists").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
    })
}

/// How `package` stands: installed at `installed`, or installable at `candidate` (which
/// apt can only know with its package `lists`).
fn judge(
    package: &Package,
    installed: Option<&str>,
    candidate: Option<&str>,
    lists: bool,
) -> Check {
    let name = format!("package {}", package.name);
    match (installed, &package.origin, candidate) {
        (Some(version), _, _) => Check::pass(name, format!("installed ({version})")),
        (None, Origin::Archive, Some(version)) => Check::warn(
            name,
            format!("not installed; the archive has {version}"),
            "`scf apply` installs it",
        ),
        (None, Origin::Archive, None) if !lists => Check::warn(
            name,
            "not installed; apt has no package lists yet",
            "`scf apply` installs it (after `apt-get update`)",
        ),
        (None, Origin::Archive, None) => Check::fail(
            name,
            "not installed, and apt knows no version of it",
            "`apt-get update`, and check that /etc/apt/sources.list names Debian 12 (bookworm) main",
        ),
        (None, Origin::Elsewhere(from), _) => {
            Check::warn(name, "not installed, and scf does not install it", *from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    #[test]
    fn a_package_is_installed_installable_or_not_to_be_had() {
        let nginx = Package::archive("nginx", &["nginx.service"]);
        let installed = judge(&nginx, Some("1.22.1-9"), None, true);
        assert_eq!(
            (installed.status, installed.evidence.as_str()),
            (Status::Pass, "installed (1.22.1-9)")
        );
        let installable = judge(&nginx, None, Some("1.22.1-9+deb12u1"), true);
        assert_eq!(installable.status, Status::Warn);
        assert_eq!(installable.fix.as_deref(), Some("`scf apply` installs it"));
        let bare = judge(&nginx, None, None, false);
        assert_eq!(bare.status, Status::Warn, "apply updates the lists first");
        assert_eq!(
            bare.fix.as_deref(),
            Some("`scf apply` installs it (after `apt-get update`)")
        );
        let unknown = judge(&nginx, None, None, true);
        assert_eq!(unknown.status, Status::Fail);
        assert!(unknown.fix.unwrap().starts_with("`apt-get update`"));
        let grafana = Package {
            name: "grafana",
            units: vec![],
            origin: Origin::Elsewhere("install it from Grafana's apt repository"),
        };
        let elsewhere = judge(&grafana, None, None, true);
        assert_eq!(elsewhere.status, Status::Warn);
        assert_eq!(
            elsewhere.fix.as_deref(),
            Some("install it from Grafana's apt repository")
        );
    }
}
