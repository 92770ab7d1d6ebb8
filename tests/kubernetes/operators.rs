//! The scenarios with operators: the Prometheus operator's CRDs (a PodMonitor and a
//! PrometheusRule whose rules pass promtool), the rules ConfigMap without it, and
//! CloudNativePG with managed services.

use super::*;

/// The starter of the `kubernetes` profile with `[monitoring] operator = true`.
fn operator_starter() -> (tempfile::TempDir, PathBuf) {
    let (dir, file) = support::starter("kubernetes");
    let mut config: toml::Table = std::fs::read_to_string(&file)
        .expect("read")
        .parse()
        .expect("starter is TOML");
    config
        .entry("monitoring")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .expect("[monitoring] is a table")
        .insert("operator".into(), toml::Value::Boolean(true));
    std::fs::write(&file, toml::to_string(&config).expect("TOML")).expect("write");
    (dir, file)
}

/// `groups` as a rule file, and the host's unit tests of the Kubernetes alerts beside it,
/// through promtool: a broken or missing rule fails its test.
fn promtool_rule_groups(groups: &serde_json::Value, namespace: &str, name: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules_file = format!("{name}.rules.yml");
    let rule_path = dir.path().join(&rules_file);
    let doc = serde_json::json!({ "groups": groups });
    std::fs::write(&rule_path, serde_json::to_string(&doc).expect("JSON")).expect("write");
    // The runbooks document the build used: the first rule's runbook URL, less its anchor.
    let runbooks = groups[0]["rules"][0]["annotations"]["runbook_url"]
        .as_str()
        .and_then(|u| u.split_once('#'))
        .map(|(doc, _)| doc)
        .expect("a runbook_url")
        .parse()
        .expect("url");
    let alerts = rules::kubernetes_groups(namespace)
        .into_iter()
        .flat_map(|(_, alerts)| alerts)
        .collect();
    let tests = rule_tests::test_file(&rules_file, &runbooks, alerts);
    let test_path = dir.path().join(format!("{name}.rules.test.yml"));
    let text = schema::to_yaml("tests", "Kubernetes rules", &tests).expect("YAML");
    std::fs::write(&test_path, text).expect("write");
    prometheus::check_rules(&[&rule_path]).unwrap_or_else(|f| panic!("{f}"));
    prometheus::test_rules(&[&test_path]).unwrap_or_else(|f| panic!("{f}"));
}

/// An object's namespace and project (its instance label).
fn placed(object: &serde_json::Value) -> (&str, &str) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().expect("namespace"),
        meta["labels"]["app.kubernetes.io/instance"]
            .as_str()
            .expect("instance label"),
    )
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_operator_scenario_passes_the_crd_schemas_and_its_rules_pass_promtool() {
    let (dir, file) = operator_starter();
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let files = yaml_files(&k8s);
    for f in [
        "podmonitor-framework.yaml",
        "prometheusrule-framework-alerts.yaml",
    ] {
        assert!(files.contains(f), "{f} in {files:?}");
    }
    assert!(
        !files.contains("configmap-prometheus-rules.yaml"),
        "{files:?}"
    );
    // The PodMonitor and the PrometheusRule against the operator's pinned CRDs.
    kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{f}"));
    yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{f}"));

    let rule = read_json(&k8s.join("prometheusrule-framework-alerts.yaml"));
    let (namespace, name) = placed(&rule);
    promtool_rule_groups(&rule["spec"]["groups"], namespace, name);
}

#[test]
fn without_the_operator_the_rules_configmap_passes_promtool() {
    let (dir, file) = support::starter("kubernetes");
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let map = read_json(&k8s.join("configmap-prometheus-rules.yaml"));
    let (namespace, name) = placed(&map);
    let text = map["data"][format!("{name}.rules.yml")]
        .as_str()
        .expect("the rule file");
    let rules: serde_json::Value = serde_saphyr::from_str(text).expect("rule file YAML");
    promtool_rule_groups(&rules["groups"], namespace, name);
}

/// The production data services: CloudNativePG with backups to S3 (its `Cluster` and
/// `ScheduledBackup` checked against the pinned CRDs), and managed services by URL.
#[test]
fn cloudnative_pg_and_managed_services_pass_too() {
    let s3 = "[backup]\nschedule = \"0 2 * * *\"\ndir = \"/var/backups/scf\"\nretention = \"30d\"\ns3 = \"s3://backups/ai-supply-chain\"\n";
    let cases = [
        (
            "cloudnative-pg",
            "[database]\noperator = \"cloudnative-pg\"\n",
            s3,
        ),
        (
            "external_url",
            "[database]\nexternal_url = \"postgres://framework@db.internal.example.com:5432/ai_supply_chain\"\n",
            "[redis]\nexternal_url = \"redis://10.1.2.3:6379\"\n",
        ),
    ];
    for (name, database, extra) in cases {
        let (dir, file) = support::starter("kubernetes");
        let text = std::fs::read_to_string(&file).expect("read");
        let text = text.replacen("[database]\n", database, 1);
        let text = match extra.strip_prefix("[redis]\n") {
            Some(redis) => text.replacen("[redis]\n", &format!("[redis]\n{redis}"), 1),
            None => format!("{text}\n{extra}"),
        };
        std::fs::write(&file, text).expect("write");
        let k8s = build(dir.path(), &file).expect("kubernetes output");
        let files = yaml_files(&k8s);
        kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{name}: {f}"));
        kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{name}: {f}"));
        yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{name}: {f}"));
        let report = checkov::scan(&k8s, &[Framework::Kubernetes], &[])
            .expect("checkov runs")
            .require_clean()
            .unwrap_or_else(|f| panic!("{name}: {f}"));
        assert_eq!(report.failed, 0, "{name}");
        let config =
            std::fs::read_to_string(k8s.join("configmap-framework-config.yaml")).expect("read");
        assert!(
            !files.contains("statefulset-postgres.yaml"),
            "{name}: {files:?}"
        );
        if name == "cloudnative-pg" {
            for f in ["cluster-postgres.yaml", "scheduledbackup-postgres.yaml"] {
                assert!(files.contains(f), "{files:?}");
            }
            assert!(config.contains("@postgres-rw:5432/"), "{config}");
        } else {
            assert!(
                !files.iter().any(|f| f.starts_with("statefulset-")),
                "{files:?}"
            );
            assert!(
                config.contains(
                    "postgresql://framework@db.internal.example.com:5432/ai_supply_chain"
                ) && config.contains("redis://10.1.2.3:6379/0"),
                "{config}"
            );
        }
    }
}
