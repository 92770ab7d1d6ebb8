//! The Grafana target: for every scenario that monitors a host, every PromQL expression of
//! the dashboard parses with promtool, the dashboard holds the guide's panels and the
//! required extra ones, each query names its data source, and the provisioning files pass
//! yamllint. Hostile values are rejected or inert.

mod built;
mod support;

use built::{Build, Outcome};
use scf_testkit::validators::{prometheus, yaml};
use serde_json::Value;

const DASHBOARD: &str = "/var/lib/grafana/dashboards/ai-supply-chain.json";
const PROVISIONING: &str = "/etc/grafana/provisioning/dashboards/ai-supply-chain.yaml";
const DATASOURCE: &str = "/etc/grafana/provisioning/datasources/ai-supply-chain.yaml";

/// The guide's three panels, then queue depth, error rate, DB pool and per-tenant requests.
const REQUIRED: &[&str] = &[
    "Active Implementations",
    "Success Rate",
    "Response Time (p95)",
    "Queue Depth",
    "Error Rate",
    "Database Pool",
    "Requests per Tenant",
];

fn panels(b: &Build) -> Vec<Value> {
    let board: Value = serde_json::from_str(&b.read(DASHBOARD)).expect("dashboard JSON");
    board["panels"].as_array().expect("panels").clone()
}

/// promtool parses every expression; yamllint passes the provisioning files.
fn judge(b: &Build) {
    let panels = panels(b);
    let exprs: Vec<String> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().expect("targets").clone())
        .map(|t| t["expr"].as_str().expect("expr").to_string())
        .collect();
    assert!(exprs.len() >= REQUIRED.len(), "{}", b.name);
    let exprs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    prometheus::check_promql(&exprs).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    yaml::lint(&[&b.path(PROVISIONING), &b.path(DATASOURCE)])
        .unwrap_or_else(|f| panic!("{}: {f}", b.name));
}

#[test]
fn every_monitored_scenario_has_a_dashboard_promtool_parses() {
    let monitored = built::having(
        DASHBOARD,
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
        let panels = panels(b);
        let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
        for title in REQUIRED {
            assert!(titles.contains(title), "{}: {title} in {titles:?}", b.name);
        }
        for p in &panels {
            for t in p["targets"].as_array().expect("targets") {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{}", p["title"]);
            }
        }
        assert!(
            b.read(PROVISIONING)
                .contains("path: /var/lib/grafana/dashboards\n")
        );
        assert!(b.read(DATASOURCE).contains("uid: scf-prometheus\n"));
    }
}

#[test]
fn the_data_source_is_provisioned_only_with_prometheus() {
    let mut table = built::example();
    built::set(&mut table, "monitoring.prometheus", false.into());
    let Outcome::Built(b) = built::outcome("grafana without prometheus", &table) else {
        panic!("valid");
    };
    assert!(b.has(DASHBOARD) && !b.has(DATASOURCE));
    built::set(&mut table, "monitoring.grafana", false.into());
    let Outcome::Built(b) = built::outcome("no monitoring", &table) else {
        panic!("valid");
    };
    assert!(!b.has(DASHBOARD) && !b.has(PROVISIONING));
}

/// The project name is the only framework.toml text in the Grafana files.
#[test]
fn hostile_values_are_rejected_or_inert() {
    for value in built::HOSTILE {
        let mut table = built::example();
        built::set(&mut table, "project.name", (*value).into());
        let name = format!("project.name = {value:?}");
        match built::outcome(&name, &table) {
            Outcome::Rejected(message) => assert!(message.contains("error"), "{name}: {message}"),
            Outcome::Built(b) => judge(&b),
        }
    }
}
