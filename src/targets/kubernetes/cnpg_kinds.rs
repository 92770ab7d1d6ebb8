//! The CloudNativePG kinds scf emits (`postgresql.cnpg.io/v1` `Cluster` and
//! `ScheduledBackup`), derived with [`kube::CustomResource`] as `object` wants them, kept
//! apart from the builders in `cnpg` so that `object` depends on nothing else here.
//! Only the fields scf sets are modelled; the pinned CRD schema checks them in the tests.

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `postgresql.cnpg.io/v1` `Cluster`: the spec of its [`Cluster`].
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "postgresql.cnpg.io",
    version = "v1",
    kind = "Cluster",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    pub(super) instances: u32,
    pub(super) image_name: String,
    /// Pods and everything the operator creates get these labels.
    pub(super) inherited_metadata: Inherited,
    pub(super) enable_superuser_access: bool,
    pub(super) superuser_secret: LocalRef,
    pub(super) bootstrap: Bootstrap,
    pub(super) postgresql: PgConfig,
    pub(super) storage: Storage,
    pub(super) resources: ResourceRequirements,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backup: Option<BackupConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Inherited {
    pub(super) labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct LocalRef {
    pub(super) name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Bootstrap {
    pub(super) initdb: InitDb,
}

/// The database and its owner, created once; the migration Job's bootstrap then hands
/// the database to the owner role and sets the roles' passwords, as on a StatefulSet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct InitDb {
    pub(super) database: String,
    pub(super) owner: String,
    pub(super) secret: LocalRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PgConfig {
    pub(super) parameters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) shared_preload_libraries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Storage {
    pub(super) size: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BackupConfig {
    pub(super) retention_policy: String,
    pub(super) barman_object_store: ObjectStore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObjectStore {
    pub(super) destination_path: String,
    pub(super) s3_credentials: S3Credentials,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct S3Credentials {
    #[serde(rename = "inheritFromIAMRole")]
    pub(super) inherit_from_iam_role: bool,
}

/// `postgresql.cnpg.io/v1` `ScheduledBackup`: the spec of its [`ScheduledBackup`].
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "postgresql.cnpg.io",
    version = "v1",
    kind = "ScheduledBackup",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledBackupSpec {
    /// Six fields, seconds first.
    pub(super) schedule: String,
    pub(super) cluster: LocalRef,
    pub(super) backup_owner_reference: String,
    pub(super) method: String,
}
