//! Pre-deployment: every secret reference the host's files (or the cluster's Secret) carry
//! resolves here, by the rules `scf apply` fills them in with (set, readable, and writable
//! into a host file as it is). A value is never shown: only the reference and the files
//! (or Secret keys) that need it.

use super::report::Check;
use crate::artifact::Artifact;
use crate::config::values::SecretRef;
use crate::model::Model;
use crate::secret::{self, ResolveError};
use crate::targets::kubernetes;
use std::collections::BTreeMap;

/// One check per secret reference of `artifacts`, in the order of the references.
pub fn checks(artifacts: &[Artifact]) -> Vec<Check> {
    let mut used: BTreeMap<SecretRef, Vec<&str>> = BTreeMap::new();
    for artifact in artifacts {
        let Some(path) = artifact.host_path() else {
            continue;
        };
        let text = String::from_utf8_lossy(artifact.bytes());
        for reference in secret::references(&text) {
            let users = used.entry(reference).or_default();
            if !users.contains(&path) {
                users.push(path);
            }
        }
    }
    resolve_all(&used)
}

/// One check per secret reference of the cluster's Secret, naming the keys that hold it.
pub fn cluster_checks(model: &Model) -> Vec<Check> {
    let mut used: BTreeMap<SecretRef, Vec<&str>> = BTreeMap::new();
    for (key, reference) in kubernetes::secret_refs(model) {
        used.entry(reference).or_default().push(key);
    }
    resolve_all(&used)
}

/// Resolves each reference as `scf apply` does, and judges it.
fn resolve_all(used: &BTreeMap<SecretRef, Vec<&str>>) -> Vec<Check> {
    used.iter()
        .map(|(reference, users)| {
            let filled = secret::fill(&secret::marker(reference), secret::resolve).map(drop);
            judge(reference, users, filled)
        })
        .collect()
}

/// How resolving `reference`, which the host files `users` need, came out.
fn judge(reference: &SecretRef, users: &[&str], resolved: Result<(), ResolveError>) -> Check {
    let name = format!("secret {reference}");
    let needed = format!("needed by {}", users.join(", "));
    match resolved {
        Ok(()) => Check::pass(name, format!("resolves; {needed}")),
        Err(ResolveError::EnvUnset(var)) => Check::fail(
            name,
            format!("{var} is not set; {needed}"),
            format!("export {var} in the environment of `scf apply` (and of `scf doctor`)"),
        ),
        Err(ResolveError::File { path, source }) => Check::fail(
            name,
            format!("cannot read {path}: {source}; {needed}"),
            format!("create {path} holding the value on one line, readable by root (mode 0600)"),
        ),
        Err(e) => Check::fail(
            name,
            format!("{e}; {needed}"),
            format!("replace the value behind `{reference}`"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    #[test]
    fn an_unresolvable_reference_fails_naming_the_files_and_the_fix() {
        let env: SecretRef = "env:SCF_DOCTOR_UNSET".parse().unwrap();
        let users = [
            "/etc/acme/acme.env",
            "/etc/default/prometheus-redis-exporter",
        ];
        let ok = judge(&env, &users[..1], Ok(()));
        assert_eq!(ok.status, Status::Pass);
        assert_eq!(ok.evidence, "resolves; needed by /etc/acme/acme.env");

        let unset = judge(
            &env,
            &users,
            Err(ResolveError::EnvUnset("SCF_DOCTOR_UNSET".into())),
        );
        assert_eq!(unset.status, Status::Fail);
        assert_eq!(
            unset.evidence,
            "SCF_DOCTOR_UNSET is not set; needed by /etc/acme/acme.env, /etc/default/prometheus-redis-exporter"
        );
        assert_eq!(
            unset.fix.as_deref(),
            Some("export SCF_DOCTOR_UNSET in the environment of `scf apply` (and of `scf doctor`)")
        );

        let file: SecretRef = "file:/run/keys/db".parse().unwrap();
        let missing = judge(
            &file,
            &users[..1],
            Err(ResolveError::File {
                path: "/run/keys/db".into(),
                source: std::io::ErrorKind::NotFound.into(),
            }),
        );
        assert!(missing.fix.unwrap().starts_with("create /run/keys/db"));
    }

    #[test]
    fn references_are_collected_from_the_host_files_once_each() {
        let env: SecretRef = "env:SCF_DOCTOR_SURELY_UNSET".parse().unwrap();
        let text = format!("A={}\nB={}\n", secret::marker(&env), secret::marker(&env));
        let artifacts = [
            Artifact::file("env", "host/etc/a.env", text.clone()),
            Artifact::file("env", "host/etc/b.env", text),
            Artifact::file("kubernetes", "kubernetes/secret.yaml", secret::marker(&env)),
        ];
        let checks = checks(&artifacts);
        assert_eq!(checks.len(), 1, "{checks:?}");
        assert_eq!(checks[0].status, Status::Fail);
        assert!(
            checks[0]
                .evidence
                .ends_with("needed by /etc/a.env, /etc/b.env"),
            "{checks:?}"
        );
    }
}
