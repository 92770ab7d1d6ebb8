//! Monitoring parity: every alert the host's Prometheus evaluates, the cluster's does, with
//! the same condition scoped to the namespace, or [`ALERT_GAPS`] names why not; the
//! PrometheusRule and the rules ConfigMap hold the same groups.

use super::*;

/// The host's alerts Kubernetes does not get, and why.
const ALERT_GAPS: &[(&str, &str)] = &[
    (
        "HostCpuHigh",
        "a machine's CPU: the cluster watches its nodes, the HPA scales on CPU",
    ),
    (
        "HostMemoryHigh",
        "a machine's memory: the cluster watches its nodes",
    ),
    (
        "TlsCertificateExpiring",
        "scf's ACME client: cert-manager renews on Kubernetes",
    ),
    (
        "BackupDailyOverdue",
        "the backup metrics are node-exporter textfiles of the host",
    ),
    (
        "BackupFullOverdue",
        "the backup metrics are node-exporter textfiles of the host",
    ),
    (
        "RestoreDrillFailed",
        "the drill's metrics are node-exporter textfiles of the host",
    ),
    (
        "RestoreDrillOverdue",
        "the drill's metrics are node-exporter textfiles of the host",
    ),
];

/// `alert name -> expr` of a rule file's groups (as JSON).
fn alert_exprs(groups: &serde_json::Value) -> BTreeMap<String, String> {
    groups
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").iter())
        .map(|r| {
            (
                r["alert"].as_str().expect("alert").to_string(),
                r["expr"].as_str().expect("expr").to_string(),
            )
        })
        .collect()
}

fn yaml_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("YAML")
}

/// An expression with the Kubernetes scope undone: the namespace matcher dropped, and the
/// per-pod grouping read as the host's per-instance one.
fn host_scoped(expr: &str, namespace: &str) -> String {
    expr.replace(&format!("{{namespace=\"{namespace}\"}}"), "")
        .replace(&format!("namespace=\"{namespace}\","), "")
        .replace("namespace, pod", "instance")
        .replace("namespace, ", "")
}

#[test]
fn kubernetes_gets_every_alert_and_the_dashboard_of_the_host_or_names_the_gap() {
    let built = build_example();
    let out = &built.out;
    let host_rules = yaml_json(&read(
        &out.join(format!("host/etc/prometheus/rules/{NAME}.rules.yml")),
    ));
    let host = alert_exprs(&host_rules["groups"]);
    let map: ConfigMap = object(out, "configmap-prometheus-rules.yaml");
    let namespace = map.metadata.namespace.clone().expect("namespace");
    let data = map.data.clone().unwrap_or_default();
    let k8s = alert_exprs(&yaml_json(&data[&format!("{NAME}.rules.yml")])["groups"]);

    for (alert, expr) in &host {
        match ALERT_GAPS.iter().find(|(gap, _)| gap == alert) {
            Some((_, why)) => assert!(
                !k8s.contains_key(alert),
                "{alert} is a gap ({why}) yet on Kubernetes"
            ),
            None => {
                let got = k8s
                    .get(alert)
                    .unwrap_or_else(|| panic!("{alert} is on the host, not on Kubernetes"));
                assert_eq!(
                    &host_scoped(got, &namespace),
                    expr,
                    "{alert}: the same condition"
                );
                assert!(
                    got.contains(&format!("namespace=\"{namespace}\"")),
                    "{alert}: {got}"
                );
            }
        }
    }
    let extra: Vec<&String> = k8s.keys().filter(|a| !host.contains_key(*a)).collect();
    assert!(
        extra.is_empty(),
        "Kubernetes alerts the host lacks: {extra:?}"
    );
    for (gap, _) in ALERT_GAPS {
        assert!(
            host.contains_key(*gap),
            "{gap} is no longer a host alert: drop the gap"
        );
    }

    // The same dashboard: panels, queries and thresholds; only the default data source
    // differs (the local one on a host, kube-prometheus-stack's in a cluster).
    let host_board: serde_json::Value = serde_json::from_str(&read(
        &out.join(format!("host/var/lib/grafana/dashboards/{NAME}.json")),
    ))
    .expect("dashboard JSON");
    let board: ConfigMap = object(out, "configmap-grafana-dashboard.yaml");
    assert_eq!(
        board.metadata.labels.clone().unwrap_or_default()["grafana_dashboard"],
        "1"
    );
    let k8s_board: serde_json::Value =
        serde_json::from_str(&board.data.clone().unwrap_or_default()[&format!("{NAME}.json")])
            .expect("dashboard JSON");
    assert_eq!(k8s_board["panels"], host_board["panels"]);
    assert_eq!(k8s_board["title"], host_board["title"]);
}

#[test]
fn the_prometheus_rule_holds_the_same_groups_as_the_rules_configmap() {
    let plain = build_example();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("framework.toml");
    let example = support::root().join("examples/framework.toml");
    std::fs::write(
        &file,
        format!(
            "[project]\nname = \"{NAME}\"\nextends = \"{}\"\n[monitoring]\noperator = true\n",
            example.display()
        ),
    )
    .expect("write");
    let out = support::build(dir.path(), &file);
    let rule = yaml_json(&read(
        &out.join("kubernetes/prometheusrule-framework-alerts.yaml"),
    ));
    let map: ConfigMap = object(&plain.out, "configmap-prometheus-rules.yaml");
    let rules = yaml_json(&map.data.clone().unwrap_or_default()[&format!("{NAME}.rules.yml")]);
    assert_eq!(rule["spec"]["groups"], rules["groups"]);
    assert!(
        !out.join("kubernetes/configmap-prometheus-rules.yaml")
            .exists()
    );
}
