//! Custom resources (KEDA, the Prometheus Operator, CloudNativePG), offline: each object is
//! checked against the `openAPIV3Schema` of its project's published CRD, pinned by version
//! under `testkit/crds/` (its README names the tags), with unknown fields refused as
//! `kubectl apply --validate=strict` refuses them. jsonschema from the tools venv does the
//! checking (`crd.py` beside this file says how a structural schema is read).
//!
//! [`super::kubernetes::validate`] sends every document of a pinned group here and the rest
//! to kubernetes-validate, so a caller validates a mixed directory with one call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Findings, Report, run, tool};

/// The checker, run by the venv's Python.
const SCRIPT: &str = include_str!("crd.py");

/// The pinned CRDs, as upstream publishes them.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crds")
}

/// The API groups a pinned CRD defines, read off the file names (`<group>_<plural>.yaml`).
pub fn groups() -> Result<BTreeSet<String>, Findings> {
    let dir = dir();
    let entries = std::fs::read_dir(&dir)
        .map_err(|err| Findings::harness(&dir.display().to_string(), err))?;
    let mut groups = BTreeSet::new();
    for entry in entries {
        let name = entry
            .map_err(|err| Findings::harness(&dir.display().to_string(), err))?
            .file_name();
        if let Some((group, _)) = name.to_string_lossy().split_once('_') {
            groups.insert(group.to_owned());
        }
    }
    Ok(groups)
}

/// Checks every document in `files` against its pinned CRD; a document no pinned CRD serves
/// (another group, kind or version) is a finding too.
pub fn validate(files: &[PathBuf]) -> Result<Report, Findings> {
    let mut cmd = tool("python")?;
    cmd.arg("-c").arg(SCRIPT).arg(dir()).args(files);
    run(&mut cmd)?.silent()
}

/// The API group of a YAML document's top-level `apiVersion` (empty for the core group).
pub(crate) fn api_group(document: &str) -> Option<&str> {
    let version = document
        .lines()
        .find_map(|line| line.strip_prefix("apiVersion:"))?
        .trim()
        .trim_matches(['"', '\'']);
    Some(version.rsplit_once('/').map_or("", |(group, _)| group))
}

/// The documents of a YAML stream, split at `---` lines.
pub(crate) fn documents(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    out.retain(|d| {
        d.lines()
            .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_splits_into_its_documents_and_their_groups() {
        let docs = documents(
            "---\napiVersion: v1\nkind: A\n---\n# c\n---\napiVersion: \"keda.sh/v1alpha1\"\n",
        );
        assert_eq!(docs.len(), 2);
        assert_eq!(api_group(&docs[0]), Some(""));
        assert_eq!(api_group(&docs[1]), Some("keda.sh"));
    }

    #[test]
    fn the_pinned_groups_are_the_three_operators() {
        let groups = groups().expect("crds dir");
        assert_eq!(
            groups.into_iter().collect::<Vec<_>>(),
            ["keda.sh", "monitoring.coreos.com", "postgresql.cnpg.io"]
        );
    }

    #[test]
    fn an_unknown_field_a_missing_required_one_and_an_unserved_kind_are_refused() {
        let work = tempfile::tempdir().expect("temp dir");
        let file = work.path().join("bad.yaml");
        std::fs::write(
            &file,
            "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: x\n\
             spec:\n  scaleTargetRef:\n    nam: framework\n  triggers:\n  - type: cpu\n    metadata: {}\n\
             ---\napiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata:\n  name: y\n",
        )
        .expect("write");
        let out = validate(&[file]).expect_err("refused").output().to_owned();
        assert!(out.contains("'nam' was unexpected"), "{out}");
        assert!(out.contains("'name' is a required property"), "{out}");
        assert!(
            out.contains("no pinned CRD serves keda.sh/v1alpha1 ScaledJob"),
            "{out}"
        );
    }

    #[test]
    fn a_valid_object_passes_silently() {
        let work = tempfile::tempdir().expect("temp dir");
        let file = work.path().join("ok.yaml");
        std::fs::write(
            &file,
            "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: x\n\
             spec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      expr: up == 0\n      for: 5m\n",
        )
        .expect("write");
        validate(&[file]).expect("valid");
    }
}
