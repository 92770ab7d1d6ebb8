//! The managed datastores: PostgreSQL and Redis as single-replica StatefulSets with a
//! volume claim each, hardened like the runtime, behind headless Services whose names the
//! runtime's environment already uses: the development setup. Neither is built when its
//! section says `managed = false` (or sets `external_url`); the runtime then points at the
//! external host. In production, `[database] operator = "cloudnative-pg"` replaces the
//! PostgreSQL StatefulSet with a replicated `Cluster` (see `cnpg`).
//!
//! **Uploads.** The runtime's `DATA_DIR` is one `ReadWriteMany` claim
//! (`[kubernetes.uploads]`) that the API and worker pods all mount, so a file one pod
//! wrote is there for the others; its StorageClass must offer that access mode.
//!
//! Passwords come from the runtime's Secret, so one reference in framework.toml configures
//! both ends: Redis's is `REDIS_PASSWORD`; PostgreSQL's superuser's is the admin key, and
//! the migration Job gives the runtime's role its own (see `bootstrap`). With Prometheus on,
//! each pod also runs its exporter (see `exporter`). Claims are retained when the
//! StatefulSet is deleted or scaled: scf never deletes data on its own.

use super::bootstrap::{ADMIN_PASSWORD_KEY, ADMIN_USER, SECRETS_DIR};
use super::exporter;
use super::meta::{AGENT_KINDS, App, Ctx, SECRET, UPLOADS};
use super::pod::{
    LIVENESS, POSTGRES_UID, READINESS, REDIS_UID, Skip, Timing, exec_probe, hardened_container,
    hardened_pod, memory_volume, mount, plain_env, read_only_mount, resources, scratch_volume,
    secret_volume, skip_annotations, tcp_probe,
};
use super::runtime::{service, unpinned_skip};
use crate::config::DatastoreSpec;
use crate::model::{K8S_POSTGRES_SERVICE, K8S_REDIS_SERVICE};
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    ContainerPort, EnvVar, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodTemplateSpec,
    Probe, Service, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use scf_runtime::vars;
use std::collections::BTreeMap;

/// Where PostgreSQL's volume is mounted; PGDATA is a directory inside it, because a
/// fresh volume's root may hold `lost+found`.
const PG_MOUNT: &str = "/var/lib/postgresql/data";
/// Where Redis's volume is mounted and its snapshots written.
const REDIS_MOUNT: &str = "/data";
/// Connections beyond the runtime's pools: the migration Job, postgres-exporter and an
/// operator's psql.
const PG_SPARE_CONNECTIONS: u64 = 10;
/// Why a datastore's pod with an exporter sidecar takes a secret from the environment.
const EXPORTER_SECRETS_AS_ENV: Skip = Skip {
    check: "CKV_K8S_35",
    reason: "the exporter sidecar reads its datastore password from the environment only",
};

/// What differs between the two datastores.
struct Store<'a> {
    app: App,
    name: &'static str,
    uid: i64,
    port: u16,
    spec: DatastoreSpec,
    command: Option<Vec<String>>,
    args: Vec<String>,
    env: Vec<EnvVar>,
    probe: &'a dyn Fn(Timing) -> Probe,
    mounts: Vec<VolumeMount>,
    volumes: Vec<Volume>,
}

/// The PostgreSQL StatefulSet and its Service, when the database is managed and no
/// operator runs it (CloudNativePG's `Cluster` replaces both, see `cnpg`). The image
/// reads the superuser's password from the file `POSTGRES_PASSWORD_FILE` names, and
/// creates no other role or database: the migration Job's bootstrap does.
pub(super) fn postgres(c: Ctx) -> Option<(StatefulSet, Service)> {
    let db = &c.m.database;
    if !db.managed || db.on_cloudnative_pg() {
        return None;
    }
    let port = db.port.to_string();
    let ready = [
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        ADMIN_USER,
        "-d",
        "postgres",
    ]
    .map(String::from);
    Some(build(
        c,
        Store {
            app: App::Postgres,
            name: K8S_POSTGRES_SERVICE,
            uid: POSTGRES_UID,
            port: db.port,
            spec: c.k.postgres_spec(),
            command: None,
            args: postgres_settings(c),
            // The image's superuser is the admin, not the runtime's role (see bootstrap).
            env: vec![
                plain_env("POSTGRES_USER", ADMIN_USER),
                plain_env(
                    "POSTGRES_PASSWORD_FILE",
                    format!("{SECRETS_DIR}/{ADMIN_PASSWORD_KEY}"),
                ),
                plain_env("PGDATA", format!("{PG_MOUNT}/pgdata")),
                // The server and pg_isready both take their port from here.
                plain_env("PGPORT", port.clone()),
            ],
            probe: &|t| exec_probe(&ready, t),
            mounts: vec![
                mount("data", PG_MOUNT),
                mount("tmp", "/tmp"),
                mount("run", "/var/run/postgresql"),
                // Parallel queries need more shared memory than a container's default 64M.
                mount("shm", "/dev/shm"),
                read_only_mount("password", SECRETS_DIR),
            ],
            volumes: vec![
                scratch_volume("tmp", "256Mi"),
                scratch_volume("run", "16Mi"),
                memory_volume("shm", "256Mi"),
                secret_volume("password", SECRET, &[ADMIN_PASSWORD_KEY]),
            ],
        },
    ))
}

/// Server settings the image's defaults get wrong here: enough connections for every
/// runtime pool at the autoscalers' maxima (the API's and each agent kind's workers), and
/// shared buffers at a quarter of the container's memory. CloudNativePG's `Cluster` takes
/// the same (see `cnpg`).
pub(super) fn server_settings(c: Ctx) -> Vec<(&'static str, String)> {
    let db = &c.m.database;
    let pods = u64::from(c.k.autoscaling.max.max(c.k.replicas))
        + u64::from(c.k.agents.spec().max) * AGENT_KINDS.len() as u64;
    let pools = pods * u64::from(db.pool_size + db.max_overflow);
    let buffers_mb =
        (c.k.postgres_spec().resources.limits.memory.value() / 4.0 / 1_048_576.0) as u64;
    vec![
        (
            "max_connections",
            (pools + PG_SPARE_CONNECTIONS).to_string(),
        ),
        ("shared_buffers", format!("{}MB", buffers_mb.max(16))),
    ]
}

/// [`server_settings`] as the server's `-c` arguments, with the libraries the extensions
/// need preloaded.
fn postgres_settings(c: Ctx) -> Vec<String> {
    server_settings(c)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(
            crate::targets::postgres::preload_libraries(c.m)
                .map(|libs| format!("shared_preload_libraries={libs}")),
        )
        .flat_map(|s| ["-c".to_owned(), s])
        .collect()
}

/// The Redis StatefulSet and its Service, when Redis is managed. A shell reads the
/// password file into `--requirepass`; redis-server then overwrites its own command line,
/// so the password neither sits in the environment nor stays in the process list.
pub(super) fn redis(c: Ctx) -> Option<(StatefulSet, Service)> {
    let r = &c.m.redis;
    if !r.managed {
        return None;
    }
    let port = r.port.to_string();
    let save: Vec<String> = r.save.iter().map(ToString::to_string).collect();
    let launch = format!(
        "exec redis-server \"$@\" --requirepass \"$(cat {SECRETS_DIR}/{})\"",
        vars::REDIS_PASSWORD
    );
    let args = [
        "--port",
        &port,
        "--dir",
        REDIS_MOUNT,
        "--maxmemory",
        &r.maxmemory.to_redis(),
        "--maxmemory-policy",
        &policy(r.maxmemory_policy),
        "--save",
        &save.join(" "),
    ];
    Some(build(
        c,
        Store {
            app: App::Redis,
            name: K8S_REDIS_SERVICE,
            uid: REDIS_UID,
            port: r.port,
            spec: c.k.redis_spec(r.maxmemory),
            command: Some(vec![
                "sh".into(),
                "-c".into(),
                launch,
                "redis-server".into(),
            ]),
            args: args.map(String::from).to_vec(),
            env: Vec::new(),
            // A TCP probe needs no password.
            probe: &|t| tcp_probe(K8S_REDIS_SERVICE, t),
            mounts: vec![
                mount("data", REDIS_MOUNT),
                read_only_mount("password", SECRETS_DIR),
            ],
            volumes: vec![secret_volume("password", SECRET, &[vars::REDIS_PASSWORD])],
        },
    ))
}

/// The serde name of a maxmemory policy, e.g. `allkeys-lru`.
fn policy(p: crate::config::MaxmemoryPolicy) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn build(c: Ctx, s: Store) -> (StatefulSet, Service) {
    let mut container = hardened_container(s.name, s.spec.image.to_string(), s.uid);
    container.command = s.command;
    container.args = Some(s.args);
    container.env = (!s.env.is_empty()).then_some(s.env);
    container.ports = Some(vec![ContainerPort {
        name: Some(s.name.into()),
        container_port: i32::from(s.port),
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }]);
    container.liveness_probe = Some((s.probe)(LIVENESS));
    container.readiness_probe = Some((s.probe)(READINESS));
    container.resources = Some(resources(&s.spec.resources));
    container.volume_mounts = Some(s.mounts);
    let sidecar = exporter::sidecar(c, s.app);

    let mut metadata = c.metadata(s.name, s.app);
    // One skip covers every unpinned image of the pod; the exporter reads its password
    // from its environment only.
    let unpinned = std::iter::once(&s.spec.image)
        .chain(sidecar.as_ref().map(|_| &s.spec.exporter_image))
        .find_map(unpinned_skip);
    let skips: Vec<_> = unpinned
        .into_iter()
        .chain(sidecar.as_ref().map(|_| EXPORTER_SECRETS_AS_ENV))
        .collect();
    metadata.annotations = (!skips.is_empty()).then(|| skip_annotations(&skips));
    let set = StatefulSet {
        metadata,
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(s.name.into()),
            selector: c.selector(s.app),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(c.labels(s.app)),
                    ..ObjectMeta::default()
                }),
                spec: Some(hardened_pod(
                    s.uid,
                    std::iter::once(container).chain(sidecar).collect(),
                    s.volumes,
                )),
            },
            volume_claim_templates: Some(vec![claim(c, s.app, &s.spec)]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    };
    let svc = service(c, s.name, s.app, i32::from(s.port), s.name, true);
    (set, svc)
}

/// The `data` volume claim of a datastore.
fn claim(c: Ctx, app: App, spec: &DatastoreSpec) -> PersistentVolumeClaim {
    let metadata = ObjectMeta {
        name: Some("data".into()),
        labels: Some(c.labels(app)),
        ..ObjectMeta::default()
    };
    volume_claim(
        metadata,
        "ReadWriteOnce",
        &spec.storage,
        spec.storage_class.as_ref(),
    )
}

/// The claim of the uploads volume, `ReadWriteMany` so that every API and worker pod
/// mounts it at once, on whichever node it runs.
pub(super) fn uploads_claim(c: Ctx) -> PersistentVolumeClaim {
    let u = &c.k.uploads;
    volume_claim(
        c.metadata(UPLOADS, App::Shared),
        "ReadWriteMany",
        &u.size(),
        u.storage_class.as_ref(),
    )
}

/// A claim of `size` with one access mode, on `class` or the cluster's default.
pub(super) fn volume_claim(
    metadata: ObjectMeta,
    access: &str,
    size: &crate::config::values::Quantity,
    class: Option<&crate::config::values::Name>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![access.into()]),
            storage_class_name: class.map(ToString::to_string),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                limits: None,
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}
