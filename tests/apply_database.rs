//! `scf plan` and `scf apply` with `--database-url`: against a real PostgreSQL (and a
//! real Redis with a password), the role, database, extensions, migrations and tenants
//! are planned, created, found unchanged the second time, and a removed tenant is
//! blocked until `--allow-data-loss`. The runtime's own role ends with least privilege:
//! it serves, but cannot empty, rewrite or unprotect the audit log.

mod support;

use scf_testkit::services::{postgres, psql};
use std::process::{Command, Output};
use support::database::{
    DB_PASSWORD, Deployment, FIELD_KEY, MONITOR_PASSWORD, REDIS_PASSWORD, SECRETS, assert_refused,
};
use support::host::text;

/// Appended to the starter: one tenant, which gets a database of its own.
const TENANT: &str = "\n[tenancy]\nmax_tenants = 5\n\n[[tenants]]\nid = \"customer_a\"\nplan = \"small\"\nindustry = \"FURNITURE\"\nadmin_email = \"admin@customer-a.com\"\n";

impl Deployment {
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
            .envs(SECRETS)
            .output()
            .expect("scf runs")
    }

    /// `scf apply` with a service manager that does nothing.
    fn apply(&self, extra: &[&str]) -> Output {
        let shim = self.dir.path().join("shim");
        std::fs::write(&shim, "#!/bin/sh\nexit 0\n").expect("shim");
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
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

fn tenant_database_exists(d: &Deployment) -> bool {
    let sql = format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{}_t_customer_a'",
        d.database
    );
    psql(&postgres().admin_url(), &sql).expect("query").trim() == "1"
}

#[test]
fn the_database_is_bootstrapped_migrated_and_provisioned_once() {
    let d = Deployment::new("once", TENANT);
    let plan = d.scf(&["plan", "--detailed-exitcode"]);
    let shown = text(&plan);
    assert_eq!(plan.status.code(), Some(2), "{shown}");
    for address in [
        format!("+ pg:role/{}", d.role),
        format!("+ pg:role/{}_monitor", d.role),
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
    for secret in [DB_PASSWORD, REDIS_PASSWORD, FIELD_KEY, MONITOR_PASSWORD] {
        assert!(!shown.contains(secret), "a secret was printed:\n{shown}");
    }
    assert_eq!(d.on_server("SELECT id FROM tenants"), "customer_a");
    assert!(tenant_database_exists(&d), "the tenant got its database");
    for role in [d.role.clone(), format!("{}_monitor", d.role)] {
        assert_eq!(
            d.on_server(&format!(
                "SELECT rolpassword LIKE 'SCRAM-SHA-256%' FROM pg_authid WHERE rolname = '{role}'"
            )),
            "t",
            "{role} got its password"
        );
    }
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
    let d = Deployment::new("drop", TENANT);
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
    let d = Deployment::new("least", TENANT);
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
        assert_refused(refused, &d.as_runtime(refused));
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
