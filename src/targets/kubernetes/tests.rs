//! The object list without any tool: order, labels, secrets, datastores, skips and YAML
//! quoting; [`model`], [`built`] and [`find`] serve the modules' own tests too. The real
//! validators run in `tests/kubernetes/`.

use super::*;

mod cnpg;
mod tenants;
mod workers;
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;
use std::path::Path;

/// The example, with `extra` TOML layered over it.
pub(super) fn model(extra: &str) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml");
    let file = dir.path().join("framework.toml");
    let text = format!(
        "[project]\nname = \"ai-supply-chain\"\nextends = \"{}\"\n{extra}",
        example.display()
    );
    std::fs::write(&file, text).expect("write framework.toml");
    match crate::compile::load(&file) {
        Ok(compiled) => compiled.model,
        Err(invalid) => panic!("invalid test model: {:?}", invalid.diags),
    }
}

pub(super) fn built(extra: &str) -> Vec<Object> {
    objects(&model(extra)).expect("objects build")
}

pub(super) fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> Option<&'a Object> {
    objects
        .iter()
        .find(|o| o.gvk().kind == kind && o.name() == name)
}

#[test]
fn objects_come_in_apply_order_each_in_its_own_file() {
    let objects = built("");
    let order: Vec<String> = objects
        .iter()
        .map(|o| format!("{}/{}", o.gvk().kind, o.name()))
        .collect();
    assert_eq!(
        order,
        [
            "Namespace/ai-supply-chain",
            "ConfigMap/framework-config",
            "Secret/framework-secret",
            "ConfigMap/postgres-bootstrap",
            "ConfigMap/prometheus-scrape",
            "ConfigMap/prometheus-rules",
            "ConfigMap/grafana-dashboard",
            "StatefulSet/postgres",
            "Service/postgres",
            "StatefulSet/redis",
            "Service/redis",
            "PersistentVolumeClaim/framework-uploads",
            "Job/framework-migrate",
            "Job/framework-tenants",
            "Deployment/framework",
            "Deployment/framework-agent-forecasting",
            "Deployment/framework-agent-inventory",
            "Service/framework",
            "Ingress/framework",
            "HorizontalPodAutoscaler/framework",
            "PodDisruptionBudget/framework",
            "HorizontalPodAutoscaler/framework-agent-forecasting",
            "PodDisruptionBudget/framework-agent-forecasting",
            "HorizontalPodAutoscaler/framework-agent-inventory",
            "PodDisruptionBudget/framework-agent-inventory",
            "ConfigMap/backup-scripts",
            "PersistentVolumeClaim/backups",
            "CronJob/backup",
            "CronJob/backup-full",
            "CronJob/backup-verify",
            "NetworkPolicy/default-deny",
            "NetworkPolicy/framework",
            "NetworkPolicy/framework-agent",
            "NetworkPolicy/postgres",
            "NetworkPolicy/redis",
        ]
    );
    let mut files: Vec<String> = objects.iter().map(Object::file_name).collect();
    files.sort();
    files.dedup();
    assert_eq!(files.len(), objects.len(), "one file per object");
    assert_eq!(
        objects[14].address(),
        "k8s:apps/v1/Deployment/ai-supply-chain/framework"
    );
    assert_eq!(objects[0].address(), "k8s:v1/Namespace/ai-supply-chain");
}

#[test]
fn every_object_carries_the_prune_labels_and_the_namespace() {
    for o in built("") {
        let labels = o.metadata().labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(INSTANCE_LABEL).map(String::as_str),
            Some("ai-supply-chain"),
            "{}",
            o.address()
        );
        assert_eq!(
            labels.get(MANAGED_BY_LABEL).map(String::as_str),
            Some(MANAGED_BY),
            "{}",
            o.address()
        );
        let expected = (o.gvk().kind != "Namespace").then_some("ai-supply-chain");
        assert_eq!(o.namespace(), expected, "{}", o.address());
    }
}

#[test]
fn the_secret_holds_references_and_no_data() {
    let m = model("");
    let objects = objects(&m).expect("objects");
    let Some(Object::Secret(secret)) = find(&objects, "Secret", "framework-secret") else {
        panic!("no Secret");
    };
    assert!(secret.data.is_none() && secret.string_data.is_none());
    let annotation = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SECRET_REFS_ANNOTATION))
        .expect("refs annotation");
    let refs: BTreeMap<String, String> = serde_json::from_str(annotation).expect("JSON");
    let expected: BTreeMap<String, String> = secret_refs(&m)
        .into_iter()
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect();
    assert_eq!(refs, expected);
    assert_eq!(
        refs.get("DATABASE_PASSWORD").map(String::as_str),
        Some("env:SCF_DB_PASSWORD")
    );
}

#[test]
fn external_datastores_get_no_stateful_sets_and_an_egress_rule_to_their_host() {
    let by_keys = built(
        "[database]\nmanaged = false\nhost = \"db.example.com\"\n[redis]\nmanaged = false\nhost = \"10.0.0.5\"\n",
    );
    // external_url spells the same keys.
    let objects = built(
        "[database]\nexternal_url = \"postgres://db.example.com\"\n[redis]\nexternal_url = \"redis://10.0.0.5:6379\"\n",
    );
    assert_eq!(objects, by_keys);
    for kind in ["StatefulSet", "Service"] {
        for name in ["postgres", "redis"] {
            assert!(find(&objects, kind, name).is_none(), "{kind}/{name}");
        }
    }
    assert!(find(&objects, "NetworkPolicy", "postgres").is_none());
    let Some(Object::ConfigMap(config)) = find(&objects, "ConfigMap", "framework-config") else {
        panic!("no ConfigMap");
    };
    let data = config.data.clone().unwrap_or_default();
    assert_eq!(
        data["DATABASE_URL"],
        "postgresql://framework@db.example.com:5432/ai_supply_chain"
    );
    assert_eq!(data["REDIS_URL"], "redis://10.0.0.5:6379/0");
    let policy = find(&objects, "NetworkPolicy", "framework").expect("policy");
    let text = policy.to_yaml().expect("yaml");
    assert!(text.contains("cidr: 10.0.0.5/32"), "{text}");
    assert!(text.contains("cidr: 0.0.0.0/0"), "{text}");
}

fn annotations(o: &Object) -> BTreeMap<String, String> {
    o.metadata().annotations.clone().unwrap_or_default()
}

#[test]
fn only_an_unpinned_image_skips_the_digest_check() {
    let objects = built("");
    let deployment = find(&objects, "Deployment", "framework").expect("deployment");
    let skips: Vec<String> = annotations(deployment).into_values().collect();
    assert!(skips.iter().any(|s| s.starts_with("CKV_K8S_35=")));
    assert!(skips.iter().any(|s| s.starts_with("CKV_K8S_43=")));

    let digest = "a".repeat(64);
    let pinned = built(&format!(
        "[kubernetes]\nimage = \"registry.example.com/ai-supply-chain:1.0.0@sha256:{digest}\"\npostgres = {{ image = \"postgres:15@sha256:{digest}\", exporter_image = \"quay.io/prometheuscommunity/postgres-exporter:v0.17.1@sha256:{digest}\" }}\nredis = {{ image = \"redis:7-alpine@sha256:{digest}\", exporter_image = \"oliver006/redis_exporter:v1.74.0@sha256:{digest}\" }}\n"
    ));
    for o in &pinned {
        assert!(
            !annotations(o)
                .values()
                .any(|s| s.starts_with("CKV_K8S_43=")),
            "{}",
            o.address()
        );
    }
    let postgres = find(&pinned, "StatefulSet", "postgres").expect("postgres");
    let skips: Vec<String> = annotations(postgres).into_values().collect();
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert!(
        skips[0].starts_with("CKV_K8S_35=the exporter sidecar"),
        "PostgreSQL reads its password from a file, only its exporter from the environment"
    );
    let unmonitored = built(&format!(
        "[monitoring]\nprometheus = false\n[kubernetes]\npostgres = {{ image = \"postgres:15@sha256:{digest}\" }}\n"
    ));
    let postgres = find(&unmonitored, "StatefulSet", "postgres").expect("postgres");
    assert!(annotations(postgres).is_empty(), "no sidecar, no skip");
}

/// The exporter sidecars: one per managed datastore, hardened, each password from the
/// Secret key that holds the reference framework.toml names, and reachable from
/// Prometheus's namespace on its port only.
#[test]
fn each_datastore_runs_its_exporter_with_its_password_from_the_secret() {
    let m = model("");
    let objects = objects(&m).expect("objects");
    let refs = secret_refs(&m);
    for (set, exporter, var, key, port) in [
        (
            "postgres",
            "postgres-exporter",
            "DATA_SOURCE_PASS",
            bootstrap::MONITOR_PASSWORD_KEY,
            9187,
        ),
        (
            "redis",
            "redis-exporter",
            "REDIS_PASSWORD",
            scf_runtime::vars::REDIS_PASSWORD,
            9121,
        ),
    ] {
        let Some(Object::StatefulSet(s)) = find(&objects, "StatefulSet", set) else {
            panic!("no {set}");
        };
        let pod = s
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.clone())
            .expect("pod");
        let c = pod
            .containers
            .iter()
            .find(|c| c.name == exporter)
            .unwrap_or_else(|| panic!("no {exporter} in {set}"));
        let sc = c.security_context.as_ref().expect("securityContext");
        assert_eq!(sc.read_only_root_filesystem, Some(true), "{exporter}");
        assert_eq!(sc.allow_privilege_escalation, Some(false), "{exporter}");
        let env = c.env.clone().unwrap_or_default();
        let password = env.iter().find(|e| e.name == var).expect(var);
        assert!(password.value.is_none(), "{exporter}: no value inline");
        let from = password
            .value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
            .expect("a Secret ref");
        assert_eq!((from.name.as_str(), from.key.as_str()), (meta::SECRET, key));
        assert!(refs.contains_key(key), "{key} is filled by scf apply");
        let policy = find(&objects, "NetworkPolicy", set).expect("policy");
        let text = policy.to_yaml().expect("yaml");
        assert!(
            text.contains(&format!("port: {port}\n")) && text.contains("name: monitoring\n"),
            "{text}"
        );
    }
    assert_eq!(
        refs[bootstrap::MONITOR_PASSWORD_KEY].to_string(),
        "env:SCF_DB_MONITOR_PASSWORD"
    );
    let job = find(&objects, "Job", "framework-migrate").expect("job");
    let text = job.to_yaml().expect("yaml");
    assert!(
        text.contains(crate::targets::postgres::MONITOR_PASSWORD_ENV),
        "the bootstrap sets the monitoring role's password: {text}"
    );
}

/// With the operator: a PodMonitor and a PrometheusRule replace the scrape jobs, the rules'
/// ConfigMap and the pod annotations; the adapter rule stays for the autoscaler.
#[test]
fn the_operator_gets_a_pod_monitor_and_a_prometheus_rule_instead_of_config_maps() {
    let objects = built("[monitoring]\noperator = true\n");
    assert!(find(&objects, "PodMonitor", POD_MONITOR).is_some());
    let rule = find(&objects, "PrometheusRule", PROMETHEUS_RULE).expect("PrometheusRule");
    assert!(find(&objects, "ConfigMap", RULES_CONFIG_MAP).is_none());
    let Some(Object::ConfigMap(scrape)) = find(&objects, "ConfigMap", "prometheus-scrape") else {
        panic!("no adapter rule");
    };
    let keys: Vec<&String> = scrape.data.iter().flatten().map(|(k, _)| k).collect();
    assert_eq!(keys, ["adapter-rules.yaml"]);
    let deployment = find(&objects, "Deployment", "framework").expect("deployment");
    assert!(
        !deployment
            .to_yaml()
            .expect("yaml")
            .contains("prometheus.io/scrape"),
        "no annotations for a Prometheus that does not read them"
    );
    let text = rule.to_yaml().expect("yaml");
    assert!(
        text.starts_with("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n"),
        "{text}"
    );
    let monitor = find(&objects, "PodMonitor", POD_MONITOR).expect("monitor");
    let text = monitor.to_yaml().expect("yaml");
    for port in ["metrics", "pg-exporter", "redis-exporter"] {
        assert!(text.contains(&format!("port: {port}\n")), "{text}");
    }
    for job in ["framework", "postgres", "redis"] {
        assert!(text.contains(&format!("replacement: {job}\n")), "{text}");
    }
    assert_eq!(
        monitor
            .to_dynamic()
            .expect("dynamic")
            .types
            .expect("types")
            .kind,
        "PodMonitor"
    );
}

#[test]
fn the_dashboard_config_map_is_labelled_for_the_grafana_sidecar() {
    let objects = built("");
    let Some(Object::ConfigMap(board)) = find(&objects, "ConfigMap", DASHBOARD_CONFIG_MAP) else {
        panic!("no dashboard");
    };
    let labels = board.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("grafana_dashboard").map(String::as_str),
        Some("1")
    );
    let json = &board.data.as_ref().expect("data")["ai-supply-chain.json"];
    let parsed: serde_json::Value = serde_json::from_str(json).expect("JSON");
    assert!(parsed["panels"].as_array().is_some_and(|p| !p.is_empty()));
    let without = built("[monitoring]\ngrafana = false\n");
    assert!(find(&without, "ConfigMap", DASHBOARD_CONFIG_MAP).is_none());
}

#[test]
fn without_prometheus_there_is_no_scrape_config_nor_pods_metric() {
    let objects = built("[monitoring]\nprometheus = false\ngrafana = false\n");
    assert!(find(&objects, "ConfigMap", "prometheus-scrape").is_none());
    let Some(Object::HorizontalPodAutoscaler(hpa)) =
        find(&objects, "HorizontalPodAutoscaler", "framework")
    else {
        panic!("no HPA");
    };
    let metrics = hpa
        .spec
        .as_ref()
        .and_then(|s| s.metrics.clone())
        .unwrap_or_default();
    assert_eq!(metrics.len(), 2, "CPU and memory only");
    let with = built("");
    let Some(Object::HorizontalPodAutoscaler(hpa)) =
        find(&with, "HorizontalPodAutoscaler", "framework")
    else {
        panic!("no HPA");
    };
    let text = serde_json::to_string(&hpa.spec).expect("json");
    assert!(
        text.contains(monitoring::HPA_METRIC) && text.contains("\"30\""),
        "{text}"
    );
}

#[test]
fn postgres_admits_every_pool_at_the_autoscaler_maximum() {
    let objects = built("");
    let postgres = find(&objects, "StatefulSet", "postgres").expect("postgres");
    let text = postgres.to_yaml().expect("yaml");
    // (20 API pods + 10 workers of each of 2 kinds) × (pool 20 + overflow 30) + 10 spare.
    assert!(text.contains("max_connections=2010"), "{text}");
    assert!(text.contains("shared_buffers=1024MB"), "{text}");
}

#[test]
fn yaml_quotes_what_yaml_1_1_would_misread() {
    let tricky = [
        "yes", "on", "No", "null", "~", "0123", "010", "1:20", "1e3", "true", "",
    ];
    let data: BTreeMap<String, String> = tricky
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("k{i}"), v.to_string()))
        .collect();
    let text = Object::from(ConfigMap {
        data: Some(data),
        ..ConfigMap::default()
    })
    .to_yaml()
    .expect("yaml");
    for (i, v) in tricky.iter().enumerate() {
        assert!(
            !text.contains(&format!("k{i}: {v}\n")),
            "k{i}: {v} left plain in\n{text}"
        );
    }
}

#[test]
fn a_dynamic_object_keeps_its_type_and_name() {
    let objects = built("");
    let deployment = find(&objects, "Deployment", "framework").expect("deployment");
    let dynamic = deployment.to_dynamic().expect("dynamic");
    let types = dynamic.types.expect("types");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("apps/v1", "Deployment")
    );
    assert_eq!(dynamic.metadata.name.as_deref(), Some("framework"));
    assert!(dynamic.data.get("spec").is_some());
}

#[test]
fn only_postgres_and_the_migration_job_see_the_superuser_password() {
    let objects = built("");
    let mentions_admin = |o: &Object| {
        o.to_yaml()
            .expect("yaml")
            .contains(bootstrap::ADMIN_PASSWORD_KEY)
    };
    for (kind, name) in [("StatefulSet", "postgres"), ("Job", "framework-migrate")] {
        let o = find(&objects, kind, name).expect(name);
        assert!(mentions_admin(o), "{kind}/{name}");
    }
    let deployment = find(&objects, "Deployment", "framework").expect("deployment");
    assert!(
        !mentions_admin(deployment),
        "the runtime's pods never see it"
    );
    let text = deployment.to_yaml().expect("yaml");
    assert!(!text.contains("DATABASE_MIGRATION"), "{text}");
    let postgres = find(&objects, "StatefulSet", "postgres").expect("postgres");
    let text = postgres.to_yaml().expect("yaml");
    assert!(text.contains("value: postgres\n"), "{text}");
    assert!(!text.contains("value: framework\n"), "{text}");
    let job = find(&objects, "Job", "framework-migrate").expect("job");
    let text = job.to_yaml().expect("yaml");
    assert!(
        text.contains("ai_supply_chain?options=-c+role%3Dframework_owner"),
        "the Job migrates as the owner role: {text}"
    );
}

#[test]
fn an_external_database_keeps_the_runtime_role_migration() {
    let objects = built("[database]\nmanaged = false\nhost = \"db.example.com\"\n");
    assert!(find(&objects, "ConfigMap", bootstrap::CONFIG_MAP).is_none());
    let job = find(&objects, "Job", "framework-migrate").expect("job");
    let text = job.to_yaml().expect("yaml");
    assert!(text.contains("name: db-init"), "{text}");
    assert!(!text.contains(bootstrap::ADMIN_PASSWORD_KEY), "{text}");
}

#[test]
fn a_managed_database_on_kubernetes_needs_an_admin_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("framework.toml");
    let text = "[project]\nname = \"acme\"\nextends = \"single-tenant\"\n\
        [server]\ndomain = \"api.acme.com\"\nlisten = \"0.0.0.0:5000\"\n\
        [tls]\ncluster_issuer = \"letsencrypt-prod\"\n\
        [kubernetes]\nimage = \"registry.acme.com/framework:1.0.0\"\nnamespace = \"acme\"\n\
        replicas = 3\ningress_class = \"nginx\"\n\
        autoscaling = { min = 3, max = 20, cpu = 70, memory = 80, active_implementations = 30 }\n\
        resources = { requests = { cpu = \"500m\", memory = \"1Gi\" }, limits = { cpu = \"1\", memory = \"2Gi\" } }\n";
    std::fs::write(&file, text).expect("write framework.toml");
    let Err(invalid) = crate::compile::load(&file) else {
        panic!("accepted without database.admin_password");
    };
    let text = format!("{:?}", invalid.diags);
    assert!(text.contains("scf::k8s-admin-password"), "{text}");
}

/// `o` as JSON, to read nested fields.
fn json(o: &Object) -> serde_json::Value {
    serde_json::to_value(o).expect("json")
}

/// The first container of a workload's pod template.
fn container(o: &Object) -> serde_json::Value {
    json(o)["spec"]["template"]["spec"]["containers"][0].clone()
}
