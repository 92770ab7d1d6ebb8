//! Kubernetes, offline: strict schema validation with kubernetes-validate (any output fails,
//! including the WARN for an apiVersion the target version no longer serves), custom
//! resources against their pinned CRDs ([`super::crd`]), and `kubectl kustomize`
//! rendering, whose output is validated too. There is no API server here, so admission and
//! server-side dry runs are out of reach.

use std::path::{Path, PathBuf};

use super::{Findings, Report, crd, read, run, scratch, tool, write};

/// File names kustomize reads; they are not Kubernetes objects.
const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// `kubernetes-validate -k <version> --strict --quiet` on the manifests in `paths` (files, or
/// dirs searched recursively for `*.yaml`/`*.yml`, kustomization files left out), and
/// [`crd::validate`] on the documents of a pinned custom-resource group.
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
    let work = scratch("scf-validate-")?;
    let (builtin, custom) = partition(&files, work.path())?;
    if !custom.is_empty() {
        crd::validate(&custom)?;
    }
    let mut cmd = tool("kubernetes-validate")?;
    cmd.args(["-k", kubernetes_version, "--strict", "--quiet"])
        .args(&builtin);
    run(&mut cmd)?.silent()
}

/// `files` as (built-in, custom-resource) manifests: a file of either kind only is kept as
/// it is, a mixed one (a kustomize rendering) is split in two under `work`.
fn partition(files: &[PathBuf], work: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Findings> {
    let groups = crd::groups()?;
    let (mut builtin, mut custom) = (Vec::new(), Vec::new());
    for (index, file) in files.iter().enumerate() {
        let (theirs, ours): (Vec<String>, Vec<String>) = crd::documents(&read(file)?)
            .into_iter()
            .partition(|d| crd::api_group(d).is_some_and(|g| groups.contains(g)));
        if theirs.is_empty() {
            builtin.push(file.clone());
        } else if ours.is_empty() {
            custom.push(file.clone());
        } else {
            for (docs, out, kind) in [
                (ours, &mut builtin, "builtin"),
                (theirs, &mut custom, "custom"),
            ] {
                let part = work.join(format!("{index}-{kind}.yaml"));
                write(&part, docs.join("---\n"))?;
                out.push(part);
            }
        }
    }
    Ok((builtin, custom))
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

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG_MAP: &str =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";

    fn rule(field: &str) -> String {
        format!(
            "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: r\n\
             spec:\n  groups:\n  - name: g\n    {field}:\n    - alert: A\n      expr: up == 0\n"
        )
    }

    #[test]
    fn a_mixed_stream_goes_to_both_validators() {
        let work = tempfile::tempdir().expect("temp dir");
        let file = work.path().join("rendered.yaml");
        std::fs::write(&file, format!("{CONFIG_MAP}---\n{}", rule("rules"))).expect("write");
        validate("1.33", &[&file]).expect("both halves valid");
        std::fs::write(&file, format!("{CONFIG_MAP}---\n{}", rule("rulez"))).expect("write");
        let out = validate("1.33", &[&file])
            .expect_err("the custom half is checked")
            .output()
            .to_owned();
        assert!(out.contains("'rulez' was unexpected"), "{out}");
    }
}
