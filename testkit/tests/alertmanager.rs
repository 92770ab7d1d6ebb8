//! amtool check-config, good and bad.

use std::path::{Path, PathBuf};

use scf_testkit::validators::alertmanager;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alertmanager")
        .join(name)
}

#[test]
fn good_config_passes() {
    let report = alertmanager::check_config(&fixture("alertmanager.yml")).expect("config");
    assert!(report.output.contains("2 receivers"), "{}", report.output);
}

#[test]
fn a_route_to_an_undefined_receiver_fails() {
    let findings =
        alertmanager::check_config(&fixture("undefined-receiver.yml")).expect_err("undefined");
    assert!(
        findings
            .output()
            .contains(r#"undefined receiver "teem" used in route"#),
        "{findings}"
    );
}

#[test]
fn an_unfilled_secret_marker_fails() {
    let findings = alertmanager::check_config(&fixture("unfilled-secret.yml")).expect_err("marker");
    assert!(findings.output().contains("FAILED"), "{findings}");
}
