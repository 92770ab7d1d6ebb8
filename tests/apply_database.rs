//! `scf plan` and `scf apply` with `--database-url`: against a real PostgreSQL (and a
//! real Redis with a password), the role, database, extensions, migrations and tenants
//! are planned, created, found unchanged the second time, and a removed tenant is
//! blocked until `--allow-data-loss`. The runtime's own role ends with least privilege:
//! it serves, but cannot empty, rewrite or unprotect the audit log.

mod support;

use scf_testkit::services::{RedisServer, postgres, psql};
use std::path::PathBuf;
use std::process::{Command, Output};

const DB_PASSWORD: &str = "db-pw-never-shown";
const REDIS_PASSWORD: &str = "redis-pw-never-shown";
/// 32 bytes, base64: the runtime's field-encryption key.
const FIELD_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

struct Deployment {
    dir: tempfile::TempDir,
    config: PathBuf,
    database: String,
    role: String,
    _redis: RedisServer,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let admin = postgres().admin_url();
        for db in [
            format!("{}_t_customer_a", self.database),
            self.database.clone(),
        ] {
            let _ = psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            );
        }
        for role in [self.role.clone(), format!("{}_owner", self.role)] {
            let _ = psql(&admin, &format!("DROP ROLE IF EXISTS \"{role}\""));
        }
    }
}

impl Deployment {
    /// A deployment whose database and role are named after `tag` (tests run in parallel).
    fn new(tag: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("redis.conf");
        std::fs::write(&conf, format!("requirepass {REDIS_PASSWORD}\n")).expect("redis.conf");
        let redis = RedisServer::start(Some(&conf)).expect("redis");
        let n = std::process::id();
        let (database, role) = (format!("scf_{tag}_{n}"), format!("scf_{tag}_role_{n}"));
        let (_keep, starter) = support::starter("single-tenant");
        let pg = postgres();
        let text = std::fs::read_to_string(starter).expect("starter").replace(
            "[database]\n",
            &format!(
                "[database]\nname = \"{database}\"\nuser = \"{role}\"\nhost = \"{}\"\nport = {}\n",
                pg.host(),
                pg.port()
            ),
        );
        let text = text.replace(
            "[redis]\n",
            &format!("[redis]\nhost = \"127.0.0.1\"\nport = {}\n", redis.port()),
        );
        let text = format!(
            "{text}\n[tenancy]\nmax_tenants = 5\n\n[[tenants]]\nid = \"customer_a\"\nplan = \"small\"\nindustry = \"FURNITURE\"\nadmin_email = \"admin@customer-a.com\"\n"
        );
        let config = dir.path().join("framework.toml");
        std::fs::write(&config, text).expect("config");
        std::fs::write(dir.path().join("shim"), "#!/bin/sh\nexit 0\n").expect("shim");
        std::fs::set_permissions(
            dir.path().join("shim"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        Deployment {
            dir,
            config,
            database,
            role,
            _redis: redis,
        }
    }

    fn scf(&self, args: &[&str]) -> Output {
        let root = self.dir.path().join("root");
        Command::new(env!("CARGO_BIN_EXE_scf"))
            .args(args)
            .args([
                "--config",
                self.config.to_str().expect("utf-8"),
                "--root",
                root.to_str().expect("utf-8"),
            ])
            .args(["--database-url", &postgres().admin_url()])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("SCF_DB_PASSWORD", DB_PASSWORD)
            .env("SCF_REDIS_PASSWORD", REDIS_PASSWORD)
            .env(
                "SCF_SECRET_KEY",
                "a-jwt-signing-key-of-enough-length-0123456789",
            )
            .env("SCF_FIELD_KEY", FIELD_KEY)
            .output()
            .expect("scf runs")
    }

    fn apply(&self, extra: &[&str]) -> Output {
        let shim = self.dir.path().join("shim");
        let mut args = vec![
            "apply",
            "--auto-approve",
            "--service-manager",
            shim.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        self.scf(&args)
    }

    fn remove_tenant(&self) {
        let text = std::fs::read_to_string(&self.config).expect("config");
        let cut = text.find("[[tenants]]").expect("a tenant");
        std::fs::write(&self.config, &text[..cut]).expect("config");
    }

    /// Runs `sql` as the runtime's own role; the error text when it is refused.
    fn as_runtime(&self, sql: &str) -> Result<String, String> {
        let url = format!(
            "postgresql://{}:{DB_PASSWORD}@{}:{}/{}",
            self.role,
            postgres().host(),
            postgres().port(),
            self.database
        );
        psql(&url, sql)
            .map(|out| out.trim().to_string())
            .map_err(|e| e.to_string())
    }

    fn on_server(&self, sql: &str) -> String {
        let url = format!(
            "postgresql://postgres@{}:{}/{}",
            postgres().host(),
            postgres().port(),
            self.database
        );
        psql(&url, sql).expect("query").trim().to_string()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tenant_database_exists(d: &Deployment) -> bool {
    let sql = format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{}_t_customer_a'",
        d.database
    );
    psql(&postgres().admin_url(), &sql).expect("query").trim() == "1"
}

#[test]
fn the_database_is_bootstrapped_migrated_and_provisioned_once() {
    let d = Deployment::new("once");
    let plan = d.scf(&["plan", "--detailed-exitcode"]);
    let shown = text(&plan);
    assert_eq!(plan.status.code(), Some(2), "{shown}");
    for address in [
        format!("+ pg:role/{}", d.role),
        format!("+ pg:database/{}", d.database),
        format!("+ pg:extension/{}/pgcrypto", d.database),
        "+ pg:migration/0001".into(),
        "+ tenant:customer_a".into(),
    ] {
        assert!(shown.contains(&address), "{address} in\n{shown}");
    }

    let applied = d.apply(&[]);
    let shown = text(&applied);
    assert!(applied.status.success(), "{shown}");
    for secret in [DB_PASSWORD, REDIS_PASSWORD, FIELD_KEY] {
        assert!(!shown.contains(secret), "a secret was printed:\n{shown}");
    }
    assert_eq!(d.on_server("SELECT id FROM tenants"), "customer_a");
    assert!(tenant_database_exists(&d), "the tenant got its database");
    assert_eq!(
        d.on_server(&format!(
            "SELECT rolpassword LIKE 'SCRAM-SHA-256%' FROM pg_authid WHERE rolname = '{}'",
            d.role
        )),
        "t"
    );
    let credentials = d
        .dir
        .path()
        .join("root/var/lib/scf/tenants/customer_a.credentials");
    assert!(
        credentials.exists(),
        "the first admin's credentials are kept, not printed"
    );

    let again = d.scf(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}

#[test]
fn a_removed_tenant_is_blocked_until_data_loss_is_allowed() {
    let d = Deployment::new("drop");
    assert!(d.apply(&[]).status.success());
    d.remove_tenant();

    let plan = d.scf(&["plan", "--detailed-exitcode"]);
    let shown = text(&plan);
    assert!(
        shown.contains("- tenant:customer_a") && shown.contains("BLOCKED"),
        "{shown}"
    );
    assert!(
        shown.contains("--allow-data-loss"),
        "the plan names the flag: {shown}"
    );
    assert!(d.apply(&[]).status.success());
    assert_eq!(
        d.on_server("SELECT count(*) FROM tenants"),
        "1",
        "without the flag nothing is dropped"
    );
    assert!(tenant_database_exists(&d));

    let dropped = d.apply(&["--allow-data-loss"]);
    assert!(dropped.status.success(), "{}", text(&dropped));
    assert_eq!(d.on_server("SELECT count(*) FROM tenants"), "0");
    assert!(!tenant_database_exists(&d), "the tenant's database is gone");
}

#[test]
fn the_runtime_role_cannot_empty_rewrite_or_unprotect_the_audit_log() {
    let d = Deployment::new("least");
    let applied = d.apply(&[]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert_eq!(
        d.on_server("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'"),
        format!("{}_owner", d.role),
        "the migrations ran as the owner role"
    );
    // It served: `tenant create` ran as the runtime's role and was audited.
    assert_eq!(
        d.as_runtime("SELECT id FROM tenants"),
        Ok("customer_a".into())
    );
    assert_ne!(
        d.as_runtime("SELECT count(*) FROM audit_log"),
        Ok("0".into())
    );
    for refused in [
        "TRUNCATE audit_log",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_checkpoint SET purging = 1",
        "DROP TRIGGER audit_log_no_truncate ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "CREATE TABLE public.mine (id BIGINT)",
    ] {
        let answer = d.as_runtime(refused);
        assert!(
            answer
                .as_ref()
                .is_err_and(|e| e.contains("permission denied") || e.contains("must be owner")),
            "{refused}: {answer:?}"
        );
    }
    assert_ne!(
        d.on_server("SELECT count(*) FROM audit_log"),
        "0",
        "the log is intact"
    );
    // Retention still works, through the owner's function, inside a transaction.
    assert_eq!(
        d.as_runtime("BEGIN; SELECT scf_audit_purge(0, 'h', 's'); ROLLBACK;"),
        Ok("0".into())
    );
}
