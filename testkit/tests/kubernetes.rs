//! kubernetes-validate, kubectl kustomize and checkov on known-good and known-bad manifests.

use std::path::{Path, PathBuf};

use scf_testkit::validators::checkov::{self, Framework};
use scf_testkit::validators::kubernetes;

const VERSION: &str = "1.30.0";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn good_manifests_validate_strictly() {
    kubernetes::validate(VERSION, &[&fixture("kubernetes/good")]).expect("valid");
}

#[test]
fn unknown_field_fails_strict_validation() {
    let findings = kubernetes::validate(VERSION, &[&fixture("kubernetes/unknown-field.yaml")])
        .expect_err("unknown field");
    assert!(
        findings
            .output()
            .contains("'revisionHistoryLimt' was unexpected"),
        "{findings}"
    );
}

#[test]
fn removed_api_version_warning_fails() {
    let findings = kubernetes::validate(VERSION, &[&fixture("kubernetes/removed-api.yaml")])
        .expect_err("removed apiVersion");
    assert!(findings.output().contains("WARN"), "{findings}");
    assert!(
        findings.output().contains("autoscaling/v2beta2"),
        "{findings}"
    );
}

#[test]
fn kustomize_renders_and_validates() {
    let rendered =
        kubernetes::kustomize(&fixture("kubernetes/kustomize"), VERSION).expect("render");
    assert!(rendered.contains("namespace: scf-staging"), "{rendered}");
    assert!(rendered.contains("kind: Deployment"), "{rendered}");
}

#[test]
fn kustomize_of_a_dir_without_kustomization_fails() {
    let findings =
        kubernetes::kustomize(&fixture("kubernetes/bad"), VERSION).expect_err("no kustomization");
    assert!(findings.output().contains("kustomization"), "{findings}");
}

#[test]
fn checkov_passes_hardened_manifests_and_dockerfile() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (from, to) in [
        ("kubernetes/good/deployment.yaml", "deployment.yaml"),
        ("kubernetes/good/network-policy.yaml", "network-policy.yaml"),
        ("docker/good/Dockerfile", "Dockerfile"),
    ] {
        std::fs::copy(fixture(from), dir.path().join(to)).expect("copy fixture");
    }
    let report = checkov::scan(
        dir.path(),
        &[Framework::Kubernetes, Framework::Dockerfile],
        &[],
    )
    .expect("checkov runs")
    .require_clean()
    .expect("no failed checks");
    assert!(report.passed > 90, "{report:?}");
}

#[test]
fn checkov_fails_the_guide_style_deployment_and_dockerfile() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        fixture("kubernetes/bad/deployment.yaml"),
        dir.path().join("deployment.yaml"),
    )
    .expect("copy");
    std::fs::copy(
        fixture("docker/bad/Dockerfile"),
        dir.path().join("Dockerfile"),
    )
    .expect("copy");
    let report = checkov::scan(
        dir.path(),
        &[Framework::Kubernetes, Framework::Dockerfile],
        &["CKV_K8S_43"],
    )
    .expect("checkov runs");
    let ids = report.failed_ids();
    for id in [
        "CKV_K8S_20",
        "CKV_K8S_23",
        "CKV_K8S_37",
        "CKV_DOCKER_2",
        "CKV_DOCKER_3",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    // Image digests (CKV_K8S_43) are missing too, but that check was skipped.
    assert!(
        !ids.contains(&"CKV_K8S_43"),
        "skipped check reported: {ids:?}"
    );
    let findings = report.require_clean().expect_err("failures");
    assert!(
        findings
            .output()
            .contains("Deployment.ai-supply-chain.framework"),
        "{findings}"
    );
}
