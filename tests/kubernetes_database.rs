//! The Kubernetes migration Job's database steps, run against a real PostgreSQL that
//! requires passwords (and a real Redis): the bootstrap init container's own command, with
//! its mounts and the Service host pointed at the local servers, then `scf db migrate` with
//! the migrate container's environment. Every login uses the password the manifests give
//! it, and the runtime's role (the Deployment's `DATABASE_URL`) ends with least privilege:
//! it cannot empty or rewrite the audit log, and it is no superuser.

mod support;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Container};
use scf_testkit::services::{PgCluster, RedisServer, psql};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::database::{DB_PASSWORD, FIELD_KEY, REDIS_PASSWORD, SECRET_KEY, assert_refused};

const ADMIN_PASSWORD: &str = "admin-pw-never-shown";

/// The Secret's values, by key.
fn secrets() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("DATABASE_PASSWORD", DB_PASSWORD),
        ("POSTGRES_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("REDIS_PASSWORD", REDIS_PASSWORD),
        ("SECRET_KEY", SECRET_KEY),
        ("FIELD_ENCRYPTION_KEY", FIELD_KEY),
    ])
}

fn read<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> T {
    let text = std::fs::read_to_string(dir.join(file)).expect(file);
    serde_saphyr::from_str(&text).expect(file)
}

/// `text` with the in-cluster PostgreSQL and Redis Services replaced by the local servers.
fn local(text: &str, pg: &PgCluster, redis: &RedisServer) -> String {
    let port = pg.port();
    text.replace("@postgres:5432/", &format!("@127.0.0.1:{port}/"))
        .replace("-h postgres -p 5432", &format!("-h 127.0.0.1 -p {port}"))
        .replace("redis:6379", &format!("127.0.0.1:{}", redis.port()))
}

/// Runs `sql` in the framework's database as `user` with `password`; the error text when
/// it is refused.
fn run_as(pg: &PgCluster, user: &str, password: &str, sql: &str) -> Result<String, String> {
    let url = format!(
        "postgresql://{user}:{password}@127.0.0.1:{}/ai_supply_chain",
        pg.port()
    );
    psql(&url, sql)
        .map(|out| out.trim().to_string())
        .map_err(|e| e.to_string())
}

/// Runs the Job's init container's script on this machine, its mounts in `mounts`.
fn bootstrap(init: Container, k8s: &Path, mounts: &Path, pg: &PgCluster, redis: &RedisServer) {
    let sql: ConfigMap = read(k8s, "configmap-postgres-bootstrap.yaml");
    let mut script = init.command.expect("command").pop().expect("script");
    for m in init.volume_mounts.expect("mounts") {
        let local_dir: PathBuf = mounts.join(&m.name);
        std::fs::create_dir_all(&local_dir).expect("mount dir");
        let files: Vec<(String, String)> = match m.name.as_str() {
            "bootstrap-sql" => sql.data.clone().expect("data").into_iter().collect(),
            _ => secrets()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        for (name, content) in files {
            std::fs::write(local_dir.join(name), content).expect("mounted file");
        }
        script = script.replace(&m.mount_path, local_dir.to_str().expect("utf-8"));
    }
    let psql_dir = scf_testkit::tools::find("psql").expect("psql");
    let path = format!(
        "{}:{}",
        psql_dir.parent().unwrap_or(Path::new("/")).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let boot = Command::new("sh")
        .args(["-c", &local(&script, pg, redis)])
        .env("PATH", path)
        .output()
        .expect("sh runs");
    assert!(
        boot.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&boot.stderr)
    );
}

#[test]
fn the_migration_job_bootstraps_roles_and_leaves_the_runtime_least_privilege() {
    let (dir, file) = support::starter("kubernetes");
    let k8s = support::build(dir.path(), &file).join("kubernetes");
    let pg = PgCluster::start(None).expect("postgres");
    pg.require_passwords(ADMIN_PASSWORD)
        .expect("password authentication");
    let conf = dir.path().join("redis.conf");
    std::fs::write(&conf, format!("requirepass {REDIS_PASSWORD}\n")).expect("redis.conf");
    let redis = RedisServer::start(Some(&conf)).expect("redis");

    let job: Job = read(&k8s, "job-framework-migrate.yaml");
    let pod = job.spec.and_then(|s| s.template.spec).expect("pod spec");
    let [init]: [Container; 1] = pod.init_containers.expect("init").try_into().expect("one");
    bootstrap(init, &k8s, &dir.path().join("mounts"), &pg, &redis);

    // The migrate container: the ConfigMap, the secret variables, its own variables.
    let config: ConfigMap = read(&k8s, "configmap-framework-config.yaml");
    let [migrate]: [Container; 1] = pod.containers.try_into().expect("one container");
    let mut env: BTreeMap<String, String> = config.data.expect("data").into_iter().collect();
    for var in migrate.env.expect("env") {
        let value = match (var.value, var.value_from) {
            (Some(v), _) => v,
            (None, Some(from)) => {
                let key = from.secret_key_ref.expect("secret key").key;
                secrets()[key.as_str()].to_string()
            }
            (None, None) => String::new(),
        };
        env.insert(var.name, value);
    }
    env.insert(
        "DATA_DIR".into(),
        dir.path().join("data").to_string_lossy().into_owned(),
    );
    let env: BTreeMap<String, String> = env
        .into_iter()
        .map(|(k, v)| (k, local(&v, &pg, &redis)))
        .collect();
    let migrated = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["db", "migrate"])
        .env_clear()
        .envs(&env)
        .output()
        .expect("scf runs");
    assert!(
        migrated.status.success(),
        "scf db migrate: {}{}",
        String::from_utf8_lossy(&migrated.stdout),
        String::from_utf8_lossy(&migrated.stderr)
    );

    let on_server = |sql: &str| run_as(&pg, "postgres", ADMIN_PASSWORD, sql).expect("query");
    let as_runtime = |sql: &str| run_as(&pg, "framework", DB_PASSWORD, sql);
    assert_eq!(
        on_server("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
        "framework_owner",
        "the Job migrated as the owner role"
    );
    assert_eq!(
        on_server("SELECT rolsuper FROM pg_roles WHERE rolname = 'framework'"),
        "f",
        "the runtime's role is no superuser"
    );
    assert_eq!(as_runtime("SELECT count(*) FROM audit_log"), Ok("0".into()));
    for refused in [
        "TRUNCATE audit_log",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'someone else'",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
    ] {
        assert_refused(refused, &as_runtime(refused));
    }
    assert!(
        run_as(&pg, "framework", "a-wrong-password", "SELECT 1").is_err(),
        "the server checks passwords"
    );
}
