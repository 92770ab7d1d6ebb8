//! The inventory, ApplySet-style: a Secret `scf-inventory` in the namespace that lists
//! every object scf applied there, so a later plan can prune what is no longer wanted
//! without guessing. It also keeps what the migration Job last ran successfully (a Job is
//! deleted after it finishes, and must not look new to every plan after that) and the key
//! of the Secret's fingerprints, and the tenants the tenants Job provisioned (the cluster
//! plan's `tenant:` lines compare `[[tenants]]` with them). It is a Secret because of
//! that key.
//!
//! An apply first records the union of the old and new lists, so an interrupted apply
//! still knows everything it created, and records the new list after pruning.

use super::{Cluster, ClusterError, FIELD_MANAGER};
use crate::targets::kubernetes::{INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The inventory Secret's name.
pub const NAME: &str = "scf-inventory";
const OBJECTS: &str = "objects.json";
const JOBS: &str = "jobs.json";
const TENANTS: &str = "tenants.json";
const KEY: &str = "fingerprint.key";

/// One object scf applied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// e.g. `apps/v1`.
    pub api_version: String,
    /// e.g. `Deployment`.
    pub kind: String,
    /// `None` for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl Entry {
    /// Its plan address, as `Object::address` writes it.
    pub fn address(&self) -> String {
        let scope = self
            .namespace
            .as_ref()
            .map(|ns| format!("{ns}/"))
            .unwrap_or_default();
        format!(
            "k8s:{}/{}/{scope}{}",
            self.api_version, self.kind, self.name
        )
    }

    /// Its API resource, when it is a kind scf emits.
    pub fn api_resource(&self) -> Option<ApiResource> {
        let (group, version) = self
            .api_version
            .split_once('/')
            .unwrap_or(("", &self.api_version));
        crate::targets::kubernetes::api_resource(&GroupVersionKind::gvk(group, version, &self.kind))
    }
}

/// What the inventory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Every object applied.
    pub entries: BTreeSet<Entry>,
    /// Each Job's address and the digest of the spec it last completed with.
    pub ran: BTreeMap<String, String>,
    /// The key of the Secret's fingerprints.
    pub key: Option<Vec<u8>>,
    /// The ids of the tenants provisioned.
    pub tenants: BTreeSet<String>,
}

fn bytes<'a>(secret: &'a Secret, key: &str) -> Option<&'a [u8]> {
    secret.data.as_ref()?.get(key).map(|b| b.0.as_slice())
}

/// Reads the inventory of `namespace`; empty when there is none yet.
pub async fn read(cluster: &Cluster, namespace: &str) -> Result<Inventory, ClusterError> {
    let api = cluster.typed::<Secret>(namespace);
    let Some(secret) = api
        .get_opt(NAME)
        .await
        .map_err(|e| cluster.fail(format!("read the inventory {namespace}/{NAME}"), e))?
    else {
        return Ok(Inventory::default());
    };
    let corrupt = |what: &str, e: serde_json::Error| {
        ClusterError::Malformed(format!(
            "the inventory {namespace}/{NAME} has an unreadable {what} ({e}); delete it with `kubectl -n {namespace} delete secret {NAME}` (scf then prunes by label only)"
        ))
    };
    let entries = match bytes(&secret, OBJECTS) {
        Some(b) => serde_json::from_slice(b).map_err(|e| corrupt(OBJECTS, e))?,
        None => BTreeSet::new(),
    };
    let ran = match bytes(&secret, JOBS) {
        Some(b) => serde_json::from_slice(b).map_err(|e| corrupt(JOBS, e))?,
        None => BTreeMap::new(),
    };
    let tenants = match bytes(&secret, TENANTS) {
        Some(b) => serde_json::from_slice(b).map_err(|e| corrupt(TENANTS, e))?,
        None => BTreeSet::new(),
    };
    Ok(Inventory {
        entries,
        ran,
        key: bytes(&secret, KEY).map(<[u8]>::to_vec),
        tenants,
    })
}

/// Records `inventory` in `namespace`, making a fingerprint key if it has none.
pub async fn write(
    cluster: &Cluster,
    namespace: &str,
    project: &str,
    inventory: &mut Inventory,
) -> Result<(), ClusterError> {
    if inventory.key.is_none() {
        let key = crate::secret::random_key()
            .map_err(|e| ClusterError::Malformed(format!("cannot make a fingerprint key: {e}")))?;
        inventory.key = Some(key.to_vec());
    }
    let json = |v: serde_json::Result<Vec<u8>>| {
        v.map(ByteString)
            .map_err(|e| ClusterError::malformed(format!("the inventory cannot be written: {e}")))
    };
    let data = BTreeMap::from([
        (
            OBJECTS.to_string(),
            json(serde_json::to_vec(&inventory.entries))?,
        ),
        (JOBS.to_string(), json(serde_json::to_vec(&inventory.ran))?),
        (
            TENANTS.to_string(),
            json(serde_json::to_vec(&inventory.tenants))?,
        ),
        (
            KEY.to_string(),
            ByteString(inventory.key.clone().unwrap_or_default()),
        ),
    ]);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(namespace.into()),
            labels: Some(BTreeMap::from([
                (INSTANCE_LABEL.to_string(), project.to_string()),
                (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    };
    cluster
        .typed::<Secret>(namespace)
        .patch(
            NAME,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(|e| cluster.fail(format!("write the inventory {namespace}/{NAME}"), e))?;
    Ok(())
}
