//! Pre-deployment: the Debian packages the deployment's services need (what the targets
//! declare, as `scf plan` plans them) are installed, or apt can install them; one that is
//! not in Debian's archive (Grafana) must be installed by hand.

use super::{Check, observe};
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
    wanted
        .iter()
        .map(|p| {
            judge(
                p,
                installed.get(p.name).map(String::as_str),
                candidates.get(p.name).map(String::as_str),
            )
        })
        .collect()
}

/// How `package` stands: installed at `installed`, or installable at `candidate`.
fn judge(package: &Package, installed: Option<&str>, candidate: Option<&str>) -> Check {
    let name = format!("package {}", package.name);
    match (installed, &package.origin, candidate) {
        (Some(version), _, _) => Check::pass(name, format!("installed ({version})")),
        (None, Origin::Archive, Some(version)) => Check::warn(
            name,
            format!("not installed; the archive has {version}"),
            "`scf apply` installs it",
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
    use crate::doctor::Status;

    #[test]
    fn a_package_is_installed_installable_or_not_to_be_had() {
        let nginx = Package::archive("nginx", &["nginx.service"]);
        let installed = judge(&nginx, Some("1.22.1-9"), None);
        assert_eq!(
            (installed.status, installed.evidence.as_str()),
            (Status::Pass, "installed (1.22.1-9)")
        );
        let installable = judge(&nginx, None, Some("1.22.1-9+deb12u1"));
        assert_eq!(installable.status, Status::Warn);
        assert_eq!(installable.fix.as_deref(), Some("`scf apply` installs it"));
        let unknown = judge(&nginx, None, None);
        assert_eq!(unknown.status, Status::Fail);
        assert!(unknown.fix.unwrap().starts_with("`apt-get update`"));
        let grafana = Package {
            name: "grafana",
            units: vec![],
            origin: Origin::Elsewhere("install it from Grafana's apt repository"),
        };
        let elsewhere = judge(&grafana, None, None);
        assert_eq!(elsewhere.status, Status::Warn);
        assert_eq!(
            elsewhere.fix.as_deref(),
            Some("install it from Grafana's apt repository")
        );
    }
}
