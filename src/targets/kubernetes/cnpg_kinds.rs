//! The CloudNativePG kinds scf emits (`postgresql.cnpg.io/v1` `Cluster` and
//! `ScheduledBackup`), typed: serde structs with the `k8s_openapi` traits `Object` needs,
//! kept apart from the builders in `cnpg` so that `object` depends on nothing else here.
//! Only the fields scf sets are modelled; the pinned CRD schema checks them in the tests.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use std::collections::BTreeMap;

const API_VERSION: &str = "postgresql.cnpg.io/v1";

/// Implements what `Object` needs of a CloudNativePG kind.
macro_rules! cnpg_kind {
    ($kind:ident, $spec:ident, $plural:literal) => {
        impl k8s_openapi::Resource for $kind {
            const API_VERSION: &'static str = API_VERSION;
            const GROUP: &'static str = "postgresql.cnpg.io";
            const KIND: &'static str = stringify!($kind);
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $kind {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl $kind {
            /// The object named by `metadata`, with its apiVersion and kind.
            pub(super) fn new(metadata: ObjectMeta, spec: $spec) -> Self {
                Self {
                    api_version: API_VERSION,
                    kind: stringify!($kind),
                    metadata,
                    spec,
                }
            }
        }
    };
}

/// `postgresql.cnpg.io/v1` `Cluster`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: ClusterSpec,
}

/// `postgresql.cnpg.io/v1` `ScheduledBackup`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledBackup {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: ScheduledBackupSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClusterSpec {
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Inherited {
    pub(super) labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct LocalRef {
    pub(super) name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Bootstrap {
    pub(super) initdb: InitDb,
}

/// The database and its owner, created once; the migration Job's bootstrap then hands
/// the database to the owner role and sets the roles' passwords, as on a StatefulSet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct InitDb {
    pub(super) database: String,
    pub(super) owner: String,
    pub(super) secret: LocalRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct PgConfig {
    pub(super) parameters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) shared_preload_libraries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Storage {
    pub(super) size: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BackupConfig {
    pub(super) retention_policy: String,
    pub(super) barman_object_store: ObjectStore,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObjectStore {
    pub(super) destination_path: String,
    pub(super) s3_credentials: S3Credentials,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct S3Credentials {
    #[serde(rename = "inheritFromIAMRole")]
    pub(super) inherit_from_iam_role: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ScheduledBackupSpec {
    /// Six fields, seconds first.
    pub(super) schedule: String,
    pub(super) cluster: LocalRef,
    pub(super) backup_owner_reference: &'static str,
    pub(super) method: &'static str,
}

cnpg_kind!(Cluster, ClusterSpec, "clusters");
cnpg_kind!(ScheduledBackup, ScheduledBackupSpec, "scheduledbackups");
