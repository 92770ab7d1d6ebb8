//! The Prometheus target judged by promtool: for every scenario that monitors a host,
//! `promtool check config`, `check rules` and `test rules` pass with no warning, and
//! yamllint finds nothing; alerts go to the local Alertmanager, each with its runbook.
//! Each alert's tests can fail: an alert that never fires, or always does, makes
//! `promtool test rules` fail. Hostile values are rejected or inert.

mod built;
mod support;

use built::{Build, Outcome};
use scf::config::Backup;
use scf::targets::prometheus::alert::Alert;
use scf::targets::prometheus::rules::every_alert;
use scf_testkit::validators::{prometheus, yaml};
use std::path::{Path, PathBuf};

const CONFIG: &str = "/etc/prometheus/prometheus.yml";
const RULES: &str = "/etc/prometheus/rules/ai-supply-chain.rules.yml";
const TESTS: &str = "/etc/prometheus/rules/ai-supply-chain.rules.test.yml";

/// Every alert of the example: its `[backup]` adds the backup group.
fn alerts() -> Vec<Alert> {
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let doc: toml::Table = toml::from_str(&example).expect("example parses");
    let backup: Backup = doc["backup"].clone().try_into().expect("[backup]");
    every_alert(Some(&backup))
}

/// promtool and yamllint on one build.
fn judge(b: &Build) {
    let (config, rules, tests) = (b.path(CONFIG), b.path(RULES), b.path(TESTS));
    prometheus::check_config(&config).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    prometheus::check_rules(&[&rules]).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    prometheus::test_rules(&[&tests]).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    yaml::lint(&[&config, &rules, &tests]).unwrap_or_else(|f| panic!("{}: {f}", b.name));
}

#[test]
fn every_monitored_scenario_passes_promtool() {
    let monitored = built::having(
        CONFIG,
        &[
            "example",
            "profile-single-tenant",
            "profile-multi-tenant",
            "fleet-edge",
        ],
        "dev turns monitoring off; Kubernetes has no host",
    );
    for b in &monitored {
        judge(b);
        let config = b.read(CONFIG);
        for job in ["framework", "postgres", "redis", "node"] {
            assert!(
                config.contains(&format!("- job_name: {job}\n")),
                "{}: {job}",
                b.name
            );
        }
        // The fleet's Prometheus scrapes each host at its internal address, its own host
        // on loopback: the runtime on both app hosts, the data services' exporters on
        // their host, and every host's node-exporter.
        let targets: &[&str] = match b.name.as_str() {
            "fleet-edge" => &[
                "10.0.1.11:9464",
                "10.0.1.12:9464",
                "10.0.1.20:9187",
                "10.0.1.20:9121",
                "10.0.1.11:9100",
                "10.0.1.12:9100",
                "127.0.0.1:9100",
                "10.0.1.20:9100",
            ],
            _ => &[
                "127.0.0.1:9464",
                "127.0.0.1:9187",
                "127.0.0.1:9121",
                "127.0.0.1:9100",
            ],
        };
        for target in targets {
            assert!(
                config.contains(&format!("- {target}\n")),
                "{}: {target}",
                b.name
            );
        }
        assert!(
            config.contains("alerting:\n  alertmanagers:\n  - static_configs:\n    - targets:\n      - 127.0.0.1:9093\n"),
            "{}: alerts go to the local Alertmanager\n{config}",
            b.name
        );
        let rules = b.read(RULES);
        for a in alerts() {
            assert!(
                rules.contains(&format!("- alert: {}\n", a.name)),
                "{}",
                a.name
            );
            let runbook = format!(
                "runbook_url: https://github.com/scf-dev/scf/blob/main/docs/runbooks.md#{}\n",
                a.name.to_lowercase()
            );
            assert!(rules.contains(&runbook), "{}: {runbook}", a.name);
        }
    }
}

/// Every alert's `runbook_url` anchor is a section of `docs/runbooks.md`.
#[test]
fn every_alert_has_a_runbook_section() {
    let doc = std::fs::read_to_string(support::root().join("docs/runbooks.md")).expect("runbooks");
    for a in alerts() {
        assert!(doc.contains(&format!("\n## {}\n", a.name)), "{}", a.name);
    }
}

/// Copies the rule and test files into a scratch dir, the rule file edited.
fn with_rules(b: &Build, dir: &Path, rules: &str) -> PathBuf {
    std::fs::write(dir.join("ai-supply-chain.rules.yml"), rules).expect("write rules");
    let tests = dir.join("ai-supply-chain.rules.test.yml");
    std::fs::write(&tests, b.read(TESTS)).expect("write tests");
    tests
}

#[test]
fn each_alert_test_fails_when_the_alert_is_broken() {
    let b = built::scenario("example");
    let rules = b.read(RULES);
    let dir = tempfile::tempdir().expect("temp dir");
    for a in alerts() {
        let line = format!("expr: {}\n", a.expr);
        assert_eq!(rules.matches(&line).count(), 1, "{}: {line}", a.name);
        for (broken, fails) in [("vector(0) > 1", "fires"), ("vector(1) > 0", "stays quiet")] {
            let edited = rules.replace(&line, &format!("expr: {broken}\n"));
            let tests = with_rules(&b, dir.path(), &edited);
            let err = prometheus::test_rules(&[&tests])
                .err()
                .unwrap_or_else(|| panic!("{} with `{broken}` passed its tests", a.name));
            assert!(
                err.output().contains(&format!("{} {fails}", a.name)),
                "{} with `{broken}`: {err}",
                a.name
            );
        }
    }
}

/// Every framework.toml field that reaches the Prometheus files, with every hostile value.
#[test]
fn hostile_values_are_rejected_or_inert() {
    let fields = [
        "project.name",
        "server.listen",
        "monitoring.scrape_interval",
        "monitoring.alerting.runbook_base_url",
    ];
    for field in fields {
        for value in built::HOSTILE {
            let hostile = match field {
                "server.listen" => format!("127.0.0.1:5000{value}"),
                "monitoring.scrape_interval" => format!("15s{value}"),
                "monitoring.alerting.runbook_base_url" => {
                    format!("https://example.com/runbooks{value}.md")
                }
                _ => (*value).to_string(),
            };
            let mut table = built::example();
            built::set(&mut table, field, hostile.into());
            let name = format!("{field} = {value:?}");
            match built::outcome(&name, &table) {
                Outcome::Rejected(message) => {
                    assert!(message.contains("error"), "{name}: {message}")
                }
                Outcome::Built(b) => judge(&b),
            }
        }
    }
    let mut table = built::example();
    built::set(&mut table, "server.listen", "0.0.0.0:8080".into());
    built::set(&mut table, "monitoring.scrape_interval", "5s".into());
    let Outcome::Built(b) = built::outcome("wildcard API listen, short interval", &table) else {
        panic!("valid");
    };
    judge(&b);
    let config = b.read(CONFIG);
    assert!(
        config.contains("- 127.0.0.1:9464\n") && !config.contains(":8080"),
        "the framework is scraped on its metrics listener, never the API's: {config}"
    );
    assert!(
        !config.contains("scrape_interval: 10s"),
        "a shorter global interval wins"
    );
}
