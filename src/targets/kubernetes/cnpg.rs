//! The production database: with `[database] operator = "cloudnative-pg"`, a
//! CloudNativePG `Cluster` of three instances instead of the one-replica StatefulSet, and a
//! `ScheduledBackup` on `[backup] schedule` when `[backup] s3` is set. The operator must be
//! installed in the cluster (namespace [`OPERATOR_NAMESPACE`]).
//!
//! The runtime reaches the primary through the `Cluster`'s read-write Service
//! `postgres-rw` ([`crate::model::k8s_postgres_host`]); the migration Job bootstraps the
//! roles through it exactly as with the StatefulSet (see `bootstrap`). The superuser and
//! the application owner come from two Secrets that hold only their user name: their
//! `password` is a reference, filled by `scf apply` like the runtime's Secret (see
//! `config`). Base backups and WAL go to `[backup] s3` with the pods' cloud identity
//! (`inheritFromIAMRole`: IRSA, workload identity), so no key is ever written.
//!
//! The pods carry the Postgres app's selector labels (never scf's managed-by label, so
//! what the operator creates is never pruned), which the NetworkPolicies select.

use super::cnpg_kinds::{
    BackupConfig, Bootstrap, Cluster, ClusterSpec, Inherited, InitDb, LocalRef, ObjectStore,
    PgConfig, S3Credentials, ScheduledBackup, ScheduledBackupSpec, Storage,
};
use super::meta::{App, Ctx};
use super::object::Object;
use super::pod::resources;
use super::storage::server_settings;
use crate::config::values::{Duration, ImageRef};
use crate::model::K8S_POSTGRES_SERVICE;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// Where the CloudNativePG operator runs (its default install).
pub(super) const OPERATOR_NAMESPACE: &str = "cnpg-system";
/// The port the operator polls each instance's status on.
pub(super) const STATUS_PORT: i32 = 8000;
/// Instances of the `Cluster`: a primary and two replicas.
const INSTANCES: u32 = 3;
/// The operand image when `kubernetes.postgres.image` is unset: the guide's PostgreSQL 15.
const DEFAULT_IMAGE: &str = "ghcr.io/cloudnative-pg/postgresql:15";
/// The Secret of the superuser's user name and password reference.
const SUPERUSER_SECRET: &str = "cnpg-superuser";
/// The Secret of the application owner's user name and password reference.
const APP_SECRET: &str = "cnpg-app";

/// The `Cluster`, its credentials' Secrets and, with `[backup] s3`, its `ScheduledBackup`,
/// when CloudNativePG runs the database; nothing otherwise.
pub(super) fn objects(c: Ctx) -> Vec<Object> {
    let db = &c.m.database;
    if !db.on_cloudnative_pg() {
        return Vec::new();
    }
    let mut out: Vec<Object> = Vec::new();
    out.extend(
        db.admin_password.as_ref().map(|admin| {
            credentials(c, SUPERUSER_SECRET, super::bootstrap::ADMIN_USER, admin).into()
        }),
    );
    out.push(credentials(c, APP_SECRET, db.user.as_str(), &db.password).into());
    out.push(cluster(c).into());
    out.extend(scheduled_backup(c).map(Into::into));
    out
}

/// A `kubernetes.io/basic-auth` Secret: the user name, and the password's reference for
/// `scf apply` to fill.
fn credentials(
    c: Ctx,
    name: &str,
    user: &str,
    password: &crate::config::values::SecretRef,
) -> Secret {
    let mut secret = super::config::reference_secret(
        c,
        name,
        App::Postgres,
        BTreeMap::from([("password", password.to_string())]),
    );
    secret.type_ = Some("kubernetes.io/basic-auth".into());
    secret.data = Some(BTreeMap::from([(
        "username".to_string(),
        ByteString(user.as_bytes().to_vec()),
    )]));
    secret
}

fn cluster(c: Ctx) -> Cluster {
    let db = &c.m.database;
    let spec = c.k.postgres_spec();
    let image =
        c.k.postgres
            .image
            .as_ref()
            .map_or_else(|| DEFAULT_IMAGE.to_string(), ImageRef::to_string);
    let mut cluster = Cluster::new(
        K8S_POSTGRES_SERVICE,
        ClusterSpec {
            instances: INSTANCES,
            image_name: image,
            inherited_metadata: Inherited {
                labels: c.selector_labels(App::Postgres),
            },
            enable_superuser_access: true,
            superuser_secret: local(SUPERUSER_SECRET),
            bootstrap: Bootstrap {
                initdb: InitDb {
                    database: db.name.to_string(),
                    owner: db.user.to_string(),
                    secret: local(APP_SECRET),
                },
            },
            postgresql: PgConfig {
                parameters: server_settings(c)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                shared_preload_libraries: crate::targets::postgres::preload_libraries(c.m)
                    .into_iter()
                    .collect(),
            },
            storage: Storage {
                size: spec.storage.to_string(),
                storage_class: spec.storage_class.as_ref().map(ToString::to_string),
            },
            resources: resources(&spec.resources),
            backup: c.m.backup.as_ref().and_then(|b| {
                b.s3.as_ref().map(|s3| BackupConfig {
                    retention_policy: retention(b.retention),
                    barman_object_store: ObjectStore {
                        destination_path: s3.to_string(),
                        s3_credentials: S3Credentials {
                            inherit_from_iam_role: true,
                        },
                    },
                })
            }),
        },
    );
    cluster.metadata = c.metadata(K8S_POSTGRES_SERVICE, App::Postgres);
    cluster
}

/// The daily base backup on `[backup] schedule`, when backups go to S3.
fn scheduled_backup(c: Ctx) -> Option<ScheduledBackup> {
    let backup = c.m.backup.as_ref().filter(|b| b.s3.is_some())?;
    let mut scheduled = ScheduledBackup::new(
        K8S_POSTGRES_SERVICE,
        ScheduledBackupSpec {
            schedule: format!("0 {}", backup.schedule),
            cluster: local(K8S_POSTGRES_SERVICE),
            backup_owner_reference: "self".into(),
            method: "barmanObjectStore".into(),
        },
    );
    scheduled.metadata = c.metadata(K8S_POSTGRES_SERVICE, App::Postgres);
    Some(scheduled)
}

/// CloudNativePG's retention policy: whole days, at least one.
fn retention(d: Duration) -> String {
    format!("{}d", d.as_days_ceil().max(1))
}

fn local(name: &str) -> LocalRef {
    LocalRef { name: name.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_whole_days() {
        assert_eq!(retention(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(retention(Duration::from_secs(3_600)), "1d");
    }
}
