//! The object list without any tool: order, labels, secrets, datastores, skips and YAML
//! quoting; [`model`], [`built`] and [`find`] serve the modules' own tests too. The real
//! validators run in `tests/kubernetes.rs`.

use super::*;

mod cnpg;
mod tenants;
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
            "StatefulSet/postgres",
            "Service/postgres",
            "StatefulSet/redis",
            "Service/redis",
            "Job/framework-migrate",
            "Job/framework-tenants",
            "Deployment/framework",
            "Service/framework",
            "Ingress/framework",
            "HorizontalPodAutoscaler/framework",
            "PodDisruptionBudget/framework",
            "NetworkPolicy/default-deny",
            "NetworkPolicy/framework",
            "NetworkPolicy/postgres",
            "NetworkPolicy/redis",
        ]
    );
    let mut files: Vec<String> = objects.iter().map(Object::file_name).collect();
    files.sort();
    files.dedup();
    assert_eq!(files.len(), objects.len(), "one file per object");
    assert_eq!(
        objects[11].address(),
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
        "[kubernetes]\nimage = \"registry.example.com/ai-supply-chain:1.0.0@sha256:{digest}\"\npostgres = {{ image = \"postgres:15@sha256:{digest}\" }}\nredis = {{ image = \"redis:7-alpine@sha256:{digest}\" }}\n"
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
    assert!(
        annotations(postgres).is_empty(),
        "PostgreSQL reads its password from a file"
    );
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
    // 20 pods × (pool 20 + overflow 30) + 10 spare.
    assert!(text.contains("max_connections=1010"), "{text}");
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
