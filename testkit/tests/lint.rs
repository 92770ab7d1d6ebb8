//! yamllint and hadolint on known-good and known-bad files.

use std::path::{Path, PathBuf};

use scf_testkit::validators::{hadolint, yaml};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn generated_style_yaml_passes() {
    yaml::lint(&[
        &fixture("yaml/good.yaml"),
        &fixture("kubernetes"),
        &fixture("prometheus"),
    ])
    .expect("clean");
}

#[test]
fn duplicate_keys_and_truthy_warnings_fail() {
    let findings = yaml::lint(&[&fixture("yaml/bad.yaml")]).expect_err("bad yaml");
    assert!(
        findings.output().contains("duplication of key \"name\""),
        "{findings}"
    );
    assert!(
        findings.output().contains("[warning] truthy value"),
        "{findings}"
    );
}

#[test]
fn hardened_dockerfile_passes_hadolint() {
    hadolint::lint(&[&fixture("docker/good/Dockerfile")]).expect("clean");
}

#[test]
fn guide_style_dockerfile_fails_hadolint() {
    let findings =
        hadolint::lint(&[&fixture("docker/bad/Dockerfile")]).expect_err("bad Dockerfile");
    for rule in ["DL3007", "DL3008", "DL3020", "DL3025"] {
        assert!(
            findings.output().contains(rule),
            "{rule} missing: {findings}"
        );
    }
}
