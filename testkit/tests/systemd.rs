//! systemd-analyze verify and security on known-good and known-bad units.

use std::path::{Path, PathBuf};

use scf_testkit::validators::systemd;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/systemd")
        .join(name)
}

#[test]
fn hardened_unit_verifies_with_its_binary_stubbed() {
    assert!(
        !Path::new("/usr/local/bin/scf-app").exists(),
        "the stub must not be on the host"
    );
    systemd::verify(&[&fixture("hardened.service")]).expect("verify");
    assert!(
        !Path::new("/usr/local/bin/scf-app").exists(),
        "the stub leaked onto the host"
    );
}

#[test]
fn misspelt_key_fails_although_verify_exits_0() {
    let findings = systemd::verify(&[&fixture("typo.service")]).expect_err("typo");
    assert!(
        findings.output().contains("Unknown key 'ProtectSystm'"),
        "{findings}"
    );
    assert!(
        findings.to_string().contains("exit 0 but printed output"),
        "{findings}"
    );
}

#[test]
fn bad_values_fail() {
    let findings = systemd::verify(&[&fixture("bad-value.service")]).expect_err("bad values");
    assert!(
        findings.output().contains("Invalid memory limit 'lots'"),
        "{findings}"
    );
}

#[test]
fn missing_required_unit_fails() {
    let findings = systemd::verify(&[&fixture("needs-socket.service")]).expect_err("missing unit");
    assert!(
        findings.output().contains("scf-missing.socket"),
        "{findings}"
    );
}

#[test]
fn exposure_scores_tell_hardened_from_guide_units() {
    let hardened = systemd::security(&fixture("hardened.service")).expect("score");
    assert!(hardened <= 1.0, "hardened unit scored {hardened}");
    let guide = systemd::security(&fixture("guide.service")).expect("score");
    assert!(guide >= 8.0, "guide unit scored {guide}");
}

#[test]
fn exposure_of_a_unit_with_warnings_fails() {
    let findings = systemd::security(&fixture("typo.service")).expect_err("warned");
    assert!(findings.output().contains("ProtectSystm"), "{findings}");
}
