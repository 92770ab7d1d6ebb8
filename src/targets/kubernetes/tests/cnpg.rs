//! CloudNativePG: the `Cluster` in place of the StatefulSet, the runtime and the migration
//! Job on its read-write Service, its credentials as a user name and a reference, its
//! backups to S3, and its NetworkPolicy.

use super::{built, find};
use crate::targets::kubernetes::{MANAGED_BY_LABEL, Object, SECRET_REFS_ANNOTATION};

const CNPG: &str = "[database]\noperator = \"cloudnative-pg\"\n";

fn yaml(objects: &[Object], kind: &str, name: &str) -> String {
    find(objects, kind, name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
        .to_yaml()
        .expect("yaml")
}

#[test]
fn the_cluster_replaces_the_stateful_set_and_the_runtime_points_at_its_primary() {
    let objects = built(CNPG);
    assert!(find(&objects, "StatefulSet", "postgres").is_none());
    assert!(find(&objects, "Service", "postgres").is_none());
    let cluster = yaml(&objects, "Cluster", "postgres");
    for line in [
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n",
        "instances: 3\n",
        "imageName: ghcr.io/cloudnative-pg/postgresql:15\n",
        "superuserSecret:\n    name: cnpg-superuser\n",
        "database: ai_supply_chain\n      owner: framework\n      secret:\n        name: cnpg-app\n",
        // The API at its autoscaler maximum and every agent kind's workers at theirs.
        "max_connections: \"2010\"\n",
        "size: 50Gi\n",
    ] {
        assert!(cluster.contains(line), "{line:?} in\n{cluster}");
    }
    // The operator's objects must never match scf's prune selector.
    let inherited = &cluster[cluster.find("inheritedMetadata:").expect("inherited")..];
    let inherited = &inherited[..inherited.find("enableSuperuserAccess").expect("next key")];
    assert!(
        inherited.contains("app.kubernetes.io/name: postgres")
            && !inherited.contains(MANAGED_BY_LABEL),
        "{inherited}"
    );
    let Some(Object::ConfigMap(config)) = find(&objects, "ConfigMap", "framework-config") else {
        panic!("no ConfigMap");
    };
    let data = config.data.clone().unwrap_or_default();
    assert_eq!(
        data["DATABASE_URL"],
        "postgresql://framework@postgres-rw:5432/ai_supply_chain"
    );
    let job = yaml(&objects, "Job", "framework-migrate");
    assert!(job.contains("-h postgres-rw -p 5432"), "{job}");
    assert!(
        job.contains("postgresql://postgres@postgres-rw:5432/"),
        "{job}"
    );
}

#[test]
fn the_credentials_are_a_user_name_and_a_reference() {
    let objects = built(CNPG);
    for (name, user, reference) in [
        ("cnpg-superuser", "postgres", "env:SCF_DB_ADMIN_PASSWORD"),
        ("cnpg-app", "framework", "env:SCF_DB_PASSWORD"),
    ] {
        let Some(Object::Secret(s)) = find(&objects, "Secret", name) else {
            panic!("no Secret {name}");
        };
        assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
        let data = s.data.clone().unwrap_or_default();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["username"]);
        assert_eq!(data["username"].0, user.as_bytes());
        let refs = &s.metadata.annotations.as_ref().expect("annotations")[SECRET_REFS_ANNOTATION];
        assert_eq!(refs, &format!("{{\"password\":\"{reference}\"}}"));
    }
}

#[test]
fn backups_go_to_s3_on_the_backup_schedule_only_when_s3_is_set() {
    let objects = built(CNPG);
    assert!(find(&objects, "ScheduledBackup", "postgres").is_none());
    assert!(!yaml(&objects, "Cluster", "postgres").contains("barmanObjectStore"));
    let objects = built(&format!(
        "{CNPG}[backup]\nschedule = \"30 2 * * *\"\ndir = \"/var/backups/scf\"\nretention = \"14d\"\ns3 = \"s3://backups/ai-supply-chain\"\n"
    ));
    let cluster = yaml(&objects, "Cluster", "postgres");
    for line in [
        "retentionPolicy: 14d\n",
        "destinationPath: s3://backups/ai-supply-chain\n",
        "inheritFromIAMRole: true\n",
    ] {
        assert!(cluster.contains(line), "{line:?} in\n{cluster}");
    }
    let backup = yaml(&objects, "ScheduledBackup", "postgres");
    assert!(backup.contains("schedule: 0 30 2 * * *\n"), "{backup}");
    assert!(
        backup.contains("cluster:\n    name: postgres\n"),
        "{backup}"
    );
}

#[test]
fn the_instances_admit_each_other_and_their_operator() {
    let objects = built(CNPG);
    let policy = yaml(&objects, "NetworkPolicy", "postgres");
    for needle in [
        "kubernetes.io/metadata.name: cnpg-system",
        "port: 8000",
        "port: 443",
        "app.kubernetes.io/component: database",
    ] {
        assert!(policy.contains(needle), "{needle:?} in\n{policy}");
    }
}
