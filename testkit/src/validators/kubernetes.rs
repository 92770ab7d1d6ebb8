//! Kubernetes, offline: strict schema validation with kubernetes-validate (any output fails,
//! including the WARN for an apiVersion the target version no longer serves) and
//! `kubectl kustomize` rendering, whose output is validated too. There is no API server
//! here, so admission and server-side dry runs are out of reach.

use std::path::{Path, PathBuf};

use super::{Findings, Report, run, scratch, tool, write};

/// File names kustomize reads; they are not Kubernetes objects.
const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// `kubernetes-validate -k <version> --strict --quiet` on the manifests in `paths` (files, or
/// dirs searched recursively for `*.yaml`/`*.yml`, kustomization files left out).
pub fn validate(kubernetes_version: &str, paths: &[&Path]) -> Result<Report, Findings> {
    let mut files = Vec::new();
    for path in paths {
        collect_manifests(path, &mut files)?;
    }
    if files.is_empty() {
        return Err(Findings::Harness(format!(
            "no manifests found in {paths:?}"
        )));
    }
    let mut cmd = tool("kubernetes-validate")?;
    cmd.args(["-k", kubernetes_version, "--strict", "--quiet"])
        .args(&files);
    run(&mut cmd)?.silent()
}

/// `kubectl kustomize <dir>`: the rendered YAML, after it passed [`validate`] for
/// `kubernetes_version`.
pub fn kustomize(dir: &Path, kubernetes_version: &str) -> Result<String, Findings> {
    let ran = run(tool("kubectl")?.arg("kustomize").arg(dir))?;
    if !ran.status.success() || !ran.stderr().trim().is_empty() {
        let status = ran.status.to_string();
        return Err(ran.rejected(status));
    }
    let rendered = ran.stdout;
    let work = scratch("scf-kustomize-")?;
    let file = work.path().join("rendered.yaml");
    write(&file, &rendered)?;
    validate(kubernetes_version, &[&file])?;
    Ok(rendered)
}

fn collect_manifests(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), Findings> {
    if !path.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|err| Findings::harness(&path.display().to_string(), err))?;
    let mut children = Vec::new();
    for entry in entries {
        children.push(
            entry
                .map_err(|err| Findings::harness(&path.display().to_string(), err))?
                .path(),
        );
    }
    children.sort();
    for child in children {
        let name = child
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if child.is_dir() {
            collect_manifests(&child, files)?;
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && !KUSTOMIZATION_FILES.contains(&name.as_str())
        {
            files.push(child);
        }
    }
    Ok(())
}
