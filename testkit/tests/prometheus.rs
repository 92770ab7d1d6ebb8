//! promtool check config / check rules / test rules, and PromQL parsing, good and bad.

use std::path::{Path, PathBuf};

use scf_testkit::validators::prometheus;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prometheus")
        .join(name)
}

#[test]
fn good_config_rules_and_rule_tests_pass() {
    prometheus::check_config(&fixture("prometheus.yml")).expect("config");
    prometheus::check_rules(&[&fixture("alerts.rules.yml")]).expect("rules");
    let report = prometheus::test_rules(&[&fixture("alerts.test.yml")]).expect("rule tests");
    assert!(report.output.contains("SUCCESS"), "{}", report.output);
}

#[test]
fn duplicate_job_names_fail() {
    let findings = prometheus::check_config(&fixture("duplicate-jobs.yml")).expect_err("dup");
    assert!(
        findings
            .output()
            .contains(r#"found multiple scrape configs with job name "scf""#),
        "{findings}"
    );
}

#[test]
fn unparsable_rule_fails() {
    let findings = prometheus::check_rules(&[&fixture("broken.rules.yml")]).expect_err("broken");
    assert!(
        findings.output().contains("unclosed left parenthesis"),
        "{findings}"
    );
}

#[test]
fn failing_rule_test_fails() {
    let findings = prometheus::test_rules(&[&fixture("failing.test.yml")]).expect_err("no alert");
    assert!(findings.output().contains("ScfHighErrorRate"), "{findings}");
}

#[test]
fn grafana_panel_queries_parse() {
    prometheus::check_promql(&[
        "framework_active_implementations_total",
        "rate(framework_implementations_success_total[1h]) / rate(framework_implementations_total[1h])",
        r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="scf"}[$__rate_interval])))"#,
    ])
    .expect("valid PromQL");
}

#[test]
fn bad_promql_fails_naming_the_expression() {
    let findings = prometheus::check_promql(&["up", "sum(rate(x[5m])"]).expect_err("bad");
    assert!(findings.output().contains("rule 2"), "{findings}");
    assert!(
        findings.output().contains("unclosed left parenthesis"),
        "{findings}"
    );
    assert!(
        findings.output().contains("rule 2: sum(rate(x[5m])"),
        "{findings}"
    );
}
