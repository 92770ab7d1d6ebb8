//! The Namespace (Pod Security `restricted`), and the runtime's environment split into a
//! ConfigMap of plain values and a Secret that holds none.
//!
//! **The Secret.** framework.toml only ever names where a secret lives, so the built
//! Secret carries no `data` at all. Its [`SECRET_REFS_ANNOTATION`] maps each key (the
//! runtime variable, e.g. `DATABASE_PASSWORD`) to its reference (`env:SCF_DB_PASSWORD`);
//! `scf apply` resolves the references and writes `data` with its own field manager.
//! Because the manifest never names `data`, a later `kubectl apply -k` of the same files
//! leaves the filled values alone; until something fills them, pods wait in
//! `CreateContainerConfigError` instead of starting with empty credentials. Without scf,
//! fill it from an overlay with a `secretGenerator` (`behavior: merge`).

use super::bootstrap::{
    ADMIN_PASSWORD_KEY, MONITOR_PASSWORD_KEY, admin_password, monitor_password,
};
use super::meta::{App, CONFIG_MAP, Ctx, SECRET};
use crate::config::values::SecretRef;
use crate::model::{EnvValue, EnvVar, Model, Placement, runtime_env};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Annotation on the Secret: a JSON object from each key to the secret reference apply
/// fills it from, e.g. `{"DATABASE_PASSWORD":"env:SCF_DB_PASSWORD"}`.
pub const SECRET_REFS_ANNOTATION: &str = "scf.dev/secret-refs";
/// Pod Security Standards version the Namespace enforces.
const PSA_VERSION: &str = "v1.33";

/// The runtime's environment in a pod, split by where each value lives.
pub(super) struct PodEnv {
    /// Plain values, for the ConfigMap.
    pub plain: BTreeMap<String, String>,
    /// Secret variables in the runtime's order, with their references.
    pub secrets: Vec<(&'static str, SecretRef)>,
}

impl PodEnv {
    /// The runtime's environment for [`Placement::Kubernetes`].
    pub fn of(m: &Model) -> Self {
        let mut env = PodEnv {
            plain: BTreeMap::new(),
            secrets: Vec::new(),
        };
        for EnvVar { name, value } in runtime_env(m, Placement::Kubernetes) {
            match value {
                EnvValue::Plain(v) => {
                    env.plain.insert(name.to_string(), v);
                }
                EnvValue::Secret(r) => env.secrets.push((name, r)),
            }
        }
        env
    }

    /// A short digest of the plain values: a pod-template annotation, so that a changed
    /// ConfigMap rolls the Deployment.
    pub fn digest(&self) -> String {
        let mut hash = Sha256::new();
        for (k, v) in &self.plain {
            hash.update(k.as_bytes());
            hash.update([0]);
            hash.update(v.as_bytes());
            hash.update([0]);
        }
        hex::encode(&hash.finalize()[..8])
    }
}

/// Each secret key of the runtime's Secret and the reference `scf apply` fills it from.
pub fn secret_refs(m: &Model) -> BTreeMap<&'static str, SecretRef> {
    keys(m, &PodEnv::of(m))
}

/// The runtime's secret variables; with a managed database, the PostgreSQL superuser's
/// password, which only the StatefulSet, the migration Job and the backup jobs mount, and
/// the monitoring role's, which only the Job and postgres-exporter read; and the backups'
/// S3 credentials.
fn keys(m: &Model, env: &PodEnv) -> BTreeMap<&'static str, SecretRef> {
    env.secrets
        .iter()
        .cloned()
        .chain(admin_password(m).map(|r| (ADMIN_PASSWORD_KEY, r.clone())))
        .chain(monitor_password(m).map(|r| (MONITOR_PASSWORD_KEY, r.clone())))
        .chain(s3_credentials(m))
        .collect()
}

/// The `aws` CLI's access key id, a key of the runtime's Secret with `[backup] s3`.
pub(super) const S3_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The `aws` CLI's secret access key, a key of the runtime's Secret with `[backup] s3`.
pub(super) const S3_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// The `[kubernetes.backup]` S3 credentials the Secret holds for the backup jobs: each key
/// and its reference, when `[backup] s3` is set.
pub(super) fn s3_credentials(m: &Model) -> Vec<(&'static str, SecretRef)> {
    let (Some(k), Some(_)) = (&m.kubernetes, m.backup.as_ref().and_then(|b| b.s3.as_ref())) else {
        return Vec::new();
    };
    [
        (S3_ACCESS_KEY_ID, &k.backup.s3_access_key_id),
        (S3_SECRET_ACCESS_KEY, &k.backup.s3_secret_access_key),
    ]
    .into_iter()
    .filter_map(|(key, r)| Some((key, r.clone()?)))
    .collect()
}

/// The Namespace, enforcing Pod Security `restricted`.
pub(super) fn namespace(c: Ctx) -> Namespace {
    let mut labels = c.labels(App::Shared);
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}"),
            "restricted".into(),
        );
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}-version"),
            PSA_VERSION.into(),
        );
    }
    Namespace {
        metadata: ObjectMeta {
            name: Some(c.ns().to_string()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

/// The guide's `framework-config`: every plain variable of the runtime.
pub(super) fn config_map(c: Ctx, env: &PodEnv) -> ConfigMap {
    ConfigMap {
        metadata: c.metadata(CONFIG_MAP, App::Shared),
        data: Some(env.plain.clone()),
        ..ConfigMap::default()
    }
}

/// The runtime's Secret: keys and references only, never a value (see the module docs).
pub(super) fn secret(c: Ctx, env: &PodEnv) -> Secret {
    let refs = keys(c.m, env)
        .into_iter()
        .map(|(name, r)| (name, r.to_string()))
        .collect();
    reference_secret(c, SECRET, App::Shared, refs)
}

/// A Secret named `name` that holds no value: each key's reference is in its
/// [`SECRET_REFS_ANNOTATION`], for `scf apply` to fill.
pub(super) fn reference_secret(
    c: Ctx,
    name: &str,
    app: App,
    refs: BTreeMap<&str, String>,
) -> Secret {
    let mut metadata = c.metadata(name, app);
    metadata.annotations = Some(BTreeMap::from([(
        SECRET_REFS_ANNOTATION.to_string(),
        serde_json::to_string(&refs).unwrap_or_default(),
    )]));
    Secret {
        metadata,
        type_: Some("Opaque".into()),
        ..Secret::default()
    }
}
