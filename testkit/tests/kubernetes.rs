//! kubernetes-validate, kubectl kustomize and checkov on known-good and known-bad manifests.

use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use scf_testkit::validators::checkov::{self, CheckovReport, Framework};
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

/// One checkov run (seconds of Python start-up) over `good/` and `bad/`, shared by the tests.
fn checkov_scan() -> &'static CheckovReport {
    static SCAN: OnceLock<CheckovReport> = OnceLock::new();
    SCAN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        for (from, to) in [
            ("kubernetes/good/deployment.yaml", "good/deployment.yaml"),
            (
                "kubernetes/good/network-policy.yaml",
                "good/network-policy.yaml",
            ),
            ("docker/good/Dockerfile", "good/Dockerfile"),
            ("kubernetes/bad/deployment.yaml", "bad/deployment.yaml"),
            ("docker/bad/Dockerfile", "bad/Dockerfile"),
        ] {
            let to = dir.path().join(to);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(fixture(from), to).expect("copy fixture");
        }
        // The good Deployment pins a digest; skipping CKV_K8S_43 shows up on the bad one.
        checkov::scan(
            dir.path(),
            &[Framework::Kubernetes, Framework::Dockerfile],
            &["CKV_K8S_43"],
        )
        .expect("checkov runs")
    })
}

#[test]
fn checkov_passes_hardened_manifests_and_dockerfile() {
    let report = checkov_scan();
    assert_eq!(
        report.failures_under("/good/").len(),
        0,
        "{:?}",
        report.failures_under("/good/")
    );
    assert_eq!(report.parsing_errors, 0, "{report:?}");
    assert!(
        report.passed > 150,
        "both frameworks and dirs ran: {report:?}"
    );
}

#[test]
fn checkov_fails_the_guide_style_deployment_and_dockerfile() {
    let report = checkov_scan();
    let bad: Vec<&str> = report
        .failures_under("/bad/")
        .iter()
        .map(|f| f.check_id.as_str())
        .collect();
    for id in [
        "CKV_K8S_20",
        "CKV_K8S_23",
        "CKV_K8S_37",
        "CKV_DOCKER_2",
        "CKV_DOCKER_3",
    ] {
        assert!(bad.contains(&id), "{id} not in {bad:?}");
    }
    assert!(
        report.failed_ids().contains(&"CKV_K8S_37"),
        "{:?}",
        report.failed_ids()
    );
    // Image digests are missing too, but that check was skipped.
    assert!(
        !bad.contains(&"CKV_K8S_43"),
        "skipped check reported: {bad:?}"
    );
    let findings = report.clone().require_clean().expect_err("failures");
    assert!(
        findings
            .output()
            .contains("Deployment.ai-supply-chain.framework"),
        "{findings}"
    );
}
