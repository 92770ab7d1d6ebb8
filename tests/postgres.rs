//! The PostgreSQL target judged by a real PostgreSQL 15: every scenario's postgresql.conf
//! starts a cluster with no setting in error, and its bootstrap and tenant SQL apply twice
//! (idempotent) without the password, then set it from the environment as `scf apply` does.
//! Overrides win, and hostile values are rejected by `scf validate` or arrive inert.

mod built;
mod support;

use built::{Build, Outcome};
use scf_testkit::services::{PgCluster, psql};
use scf_testkit::validators::postgres::{apply_sql, check_config};
use std::path::PathBuf;

const CONF: &str = "/etc/postgresql/15/main/conf.d/ai-supply-chain.conf";
const SQL_DIR: &str = "/usr/local/share/ai-supply-chain/sql";

/// bootstrap.sql, then the tenant files in order.
fn sql_files(b: &Build) -> Vec<PathBuf> {
    let mut files = vec![b.path(&format!("{SQL_DIR}/bootstrap.sql"))];
    files.extend(b.files_under(&format!("{SQL_DIR}/tenants")));
    files
}

fn url(cluster: &PgCluster, db: &str) -> String {
    format!("postgresql://postgres@127.0.0.1:{}/{db}", cluster.port())
}

/// Starts the build's config and applies its SQL twice; returns the running cluster.
fn start_and_bootstrap(b: &Build) -> PgCluster {
    let cluster = check_config(&b.path(CONF)).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    bootstrap_on(b, &cluster);
    cluster
}

/// Applies the build's SQL to `cluster` twice (idempotent, no WARNING).
fn bootstrap_on(b: &Build, cluster: &PgCluster) {
    let files = sql_files(b);
    let files: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    for round in ["first", "second"] {
        apply_sql(&cluster.url(), &files)
            .unwrap_or_else(|f| panic!("{}: {round} apply: {f}", b.name));
    }
}

fn query(cluster: &PgCluster, db: &str, sql: &str) -> String {
    psql(&url(cluster, db), sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .trim()
        .to_string()
}

/// Runs bootstrap.sql the way `scf apply` does, with the password in the environment.
fn bootstrap_with_password(b: &Build, cluster: &PgCluster, password: &str) -> String {
    let out = scf_testkit::tools::command("psql")
        .expect("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &cluster.url(),
            "-f",
        ])
        .arg(b.path(&format!("{SQL_DIR}/bootstrap.sql")))
        .env(scf::targets::postgres::PASSWORD_ENV, password)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every generated pg_hba.conf parses without an error in PostgreSQL's own view of it
/// (`pg_hba_file_rules` reads the file on disk), and the fleet's database host admits its
/// two app hosts, by address and with a password, and no other remote client.
#[test]
fn every_pg_hba_conf_parses_and_the_fleet_admits_exactly_its_app_hosts() {
    const HBA: &str = "/etc/postgresql/15/main/pg_hba.conf";
    let pg = PgCluster::start(None).expect("postgres");
    let live = pg.psql("SHOW hba_file").expect("hba_file");
    let live = std::path::Path::new(live.trim());
    for b in built::scenarios().iter().filter(|b| b.has(HBA)) {
        std::fs::write(live, b.read(HBA)).expect("write pg_hba.conf");
        let errors = pg
            .psql("SELECT line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL")
            .expect("pg_hba_file_rules");
        assert!(errors.trim().is_empty(), "{}: {errors}", b.name);
        let remote = pg
            .psql(
                "SELECT string_agg(address || '/' || netmask || ' ' || array_to_string(user_name, ',') || ' ' || auth_method, '; ' ORDER BY line_number) \
                 FROM pg_hba_file_rules WHERE type = 'host' AND address NOT IN ('127.0.0.1', '::1')",
            )
            .expect("remote rules");
        let expected = match b.name.as_str() {
            "fleet-data" => {
                "10.0.1.11/255.255.255.255 framework scram-sha-256; 10.0.1.12/255.255.255.255 framework scram-sha-256"
            }
            _ => "",
        };
        assert_eq!(remote.trim(), expected, "{}", b.name);
    }
}

#[test]
fn every_scenario_starts_postgres_and_bootstraps_idempotently() {
    let with_postgres = built::having(
        CONF,
        &[
            "example",
            "profile-dev",
            "profile-single-tenant",
            "profile-multi-tenant",
            "fleet-data",
        ],
        "every host scenario, and not Kubernetes, manages PostgreSQL",
    );
    for b in &with_postgres {
        let bootstrap = b.read(&format!("{SQL_DIR}/bootstrap.sql"));
        assert!(
            !bootstrap.contains("@@scf-secret"),
            "{}: no secret marker",
            b.name
        );
        let cluster = start_and_bootstrap(b);
        assert_eq!(
            query(
                &cluster,
                "postgres",
                "SELECT rolcanlogin, rolsuper, rolpassword IS NULL FROM pg_authid WHERE rolname = 'framework'"
            ),
            "t|f|t",
            "{}: a login role, no superuser, no password yet",
            b.name
        );
        assert_eq!(
            query(
                &cluster,
                "ai_supply_chain",
                "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'"
            ),
            "pg_stat_statements,pgcrypto,uuid-ossp",
            "{}",
            b.name
        );
        assert_eq!(
            query(
                &cluster,
                "ai_supply_chain",
                "SELECT count(*) >= 0 FROM pg_stat_statements"
            ),
            "t",
            "{}: pg_stat_statements is preloaded, so `scf profile` can read it",
            b.name
        );
        assert_eq!(
            query(
                &cluster,
                "postgres",
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ai_supply_chain'"
            ),
            "framework_owner",
            "{}: the owner role owns the database, not the runtime's role",
            b.name
        );
        assert_eq!(
            query(
                &cluster,
                "ai_supply_chain",
                "SELECT has_database_privilege('framework', 'ai_supply_chain', 'CONNECT, CREATE'), \
                 has_schema_privilege('framework', 'public', 'CREATE'), \
                 (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'framework_owner')"
            ),
            "t|f|f",
            "{}: the runtime connects and makes tenant schemas, but not in public; nobody logs in as the owner",
            b.name
        );
        let max_connections = query(&cluster, "postgres", "SHOW max_connections");
        assert!(
            b.read(CONF)
                .contains(&format!("max_connections = {max_connections}\n")),
            "{}: the server runs with the generated max_connections",
            b.name
        );

        let password = format!("pw-{}-'quoted' \"too\"", std::process::id());
        let output = bootstrap_with_password(b, &cluster, &password);
        assert!(
            !output.contains(&password),
            "psql does not echo the password"
        );
        assert!(
            query(
                &cluster,
                "postgres",
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'framework'"
            )
            .starts_with("SCRAM-SHA-256$"),
            "{}: the password is set, hashed",
            b.name
        );
        assert!(
            !cluster.log().contains(&password),
            "the server log never holds it"
        );
    }
}

#[test]
fn tenants_get_a_database_or_a_schema_by_isolation_mode() {
    let example = built::scenario("example");
    let cluster = start_and_bootstrap(&example);
    assert_eq!(
        query(
            &cluster,
            "ai_supply_chain_t_customer_123",
            "SELECT current_user <> '' AND has_database_privilege('framework', current_database(), 'CREATE')"
        ),
        "t"
    );
    assert_eq!(
        query(
            &cluster,
            "ai_supply_chain_t_customer_123",
            "SELECT count(*) FROM pg_extension WHERE extname IN ('pgcrypto', 'uuid-ossp')"
        ),
        "2"
    );
    drop(cluster);

    let mut table = built::example();
    built::set(&mut table, "tenancy.isolation", "schema".into());
    let Outcome::Built(schema) = built::outcome("schema isolation", &table) else {
        panic!("schema isolation is valid");
    };
    let cluster = start_and_bootstrap(&schema);
    assert_eq!(
        query(
            &cluster,
            "ai_supply_chain",
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'tenant_customer_123'"
        ),
        "framework"
    );
    assert_eq!(
        query(
            &cluster,
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'ai_supply_chain_%'"
        ),
        "0"
    );

    built::set(&mut table, "tenancy.isolation", "row".into());
    let Outcome::Built(rows) = built::outcome("row isolation", &table) else {
        panic!("row isolation is valid");
    };
    assert!(rows.files_under(&format!("{SQL_DIR}/tenants")).is_empty());
}

#[test]
fn user_overrides_win_over_pgtune() {
    let mut table = built::example();
    let settings: toml::Table = toml::toml! {
        work_mem = "8MB"
        random_page_cost = 1.5
        jit = false
        max_connections = 120
        log_line_prefix = "it's %m \\ # ; "
    };
    built::set(&mut table, "database.settings", settings.into());
    let Outcome::Built(b) = built::outcome("overrides", &table) else {
        panic!("the overrides are valid");
    };
    let conf = b.read(CONF);
    assert_eq!(conf.matches("\nwork_mem = ").count(), 1, "{conf}");
    let cluster = check_config(&b.path(CONF)).unwrap_or_else(|f| panic!("{f}"));
    for (name, want) in [
        ("work_mem", "8MB"),
        ("random_page_cost", "1.5"),
        ("jit", "off"),
        ("max_connections", "120"),
        ("log_line_prefix", "it's %m \\ # ; "),
    ] {
        assert_eq!(
            cluster
                .psql(&format!("SHOW {name}"))
                .expect("show")
                .trim_end_matches('\n'),
            want,
            "{name}"
        );
    }
}

/// Every framework.toml field that reaches the PostgreSQL artifacts, with every hostile
/// value: refused by `scf validate`, or built into files PostgreSQL accepts, the text
/// arriving unchanged. Only a setting's text value may hold such text.
#[test]
fn hostile_values_are_rejected_or_inert() {
    let fields = [
        "project.name",
        "database.name",
        "database.user",
        "database.host",
        "database.extensions",
        "tenants.id",
        "database.settings.log_line_prefix",
    ];
    let mut accepted = Vec::new();
    for field in fields {
        for value in built::HOSTILE {
            let mut table = built::example();
            let hostile = toml::Value::from(*value);
            let hostile = if field == "database.extensions" {
                vec![hostile].into()
            } else {
                hostile
            };
            built::set(&mut table, field, hostile);
            let name = format!("{field} = {value:?}");
            match built::outcome(&name, &table) {
                Outcome::Rejected(message) => {
                    assert!(message.contains("error"), "{name}: {message}")
                }
                Outcome::Built(_) => {
                    assert_eq!(
                        field, "database.settings.log_line_prefix",
                        "{name} is accepted"
                    );
                    accepted.push(*value);
                }
            }
        }
    }
    let mut key = built::example();
    for value in built::HOSTILE {
        built::set(&mut key, "database.settings", toml::Table::new().into());
        if let Some(toml::Value::Table(settings)) =
            key.get_mut("database").and_then(|d| d.get_mut("settings"))
        {
            settings.insert((*value).to_string(), "1".into());
        }
        assert!(
            matches!(built::outcome(value, &key), Outcome::Rejected(_)),
            "the setting name {value:?} is refused"
        );
    }
    assert!(
        accepted.contains(&"a'b") && accepted.contains(&"a\\b"),
        "quotes and backslashes are legal in a setting value: {accepted:?}"
    );
    // One cluster proves them all: each value under a custom placeholder setting.
    let mut settings = toml::Table::new();
    for (i, value) in accepted.iter().enumerate() {
        settings.insert(format!("scf_hostile.v{i}"), (*value).into());
    }
    let mut table = built::example();
    built::set(&mut table, "database.settings", settings.into());
    let Outcome::Built(b) = built::outcome("every accepted value", &table) else {
        panic!("each value was accepted alone");
    };
    let cluster = check_config(&b.path(CONF)).unwrap_or_else(|f| panic!("{f}"));
    for (i, value) in accepted.iter().enumerate() {
        let shown = cluster
            .psql(&format!("SHOW scf_hostile.v{i}"))
            .expect("show");
        assert_eq!(shown.trim_end_matches('\n'), *value);
    }
}

#[test]
fn the_migrations_artifact_applies_on_postgresql_15_and_matches_the_runtime() {
    let b = built::scenario("example");
    let cluster = start_and_bootstrap(&b);
    let files = b.files_under(&format!("{SQL_DIR}/migrations"));
    assert!(
        !files.is_empty(),
        "the runtime's migrations are in the build"
    );
    for (file, migration) in files
        .iter()
        .zip(scf_runtime::db::migrate::POSTGRES_MIGRATOR.iter())
    {
        let text = std::fs::read_to_string(file).expect("migration");
        assert_eq!(
            text,
            migration.sql.as_str(),
            "{}: the very file the runtime embeds",
            file.display()
        );
    }
    let files: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    apply_sql(&url(&cluster, "ai_supply_chain"), &files)
        .unwrap_or_else(|f| panic!("migrations: {f}"));
    assert_eq!(
        query(
            &cluster,
            "ai_supply_chain",
            "SELECT to_regclass('tenants') IS NOT NULL"
        ),
        "t"
    );
}

#[test]
fn bootstrap_hands_what_the_runtime_role_created_to_the_owner_role() {
    let b = built::scenario("example");
    let cluster = check_config(&b.path(CONF)).unwrap_or_else(|f| panic!("{f}"));
    // A deployment from before the owner role: the runtime's role owned the database and
    // migrated it itself, and made a tenant schema.
    for sql in [
        "CREATE ROLE framework LOGIN",
        "CREATE DATABASE ai_supply_chain OWNER framework",
    ] {
        query(&cluster, "postgres", sql);
    }
    query(
        &cluster,
        "ai_supply_chain",
        "SET ROLE framework; \
         CREATE TABLE public.audit_log (seq BIGINT PRIMARY KEY); \
         CREATE FUNCTION public.scf_audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'; \
         CREATE SCHEMA tenant_rows; CREATE TABLE tenant_rows.users (id TEXT)",
    );
    bootstrap_on(&b, &cluster);
    assert_eq!(
        query(
            &cluster,
            "ai_supply_chain",
            "SELECT (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'), \
             (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'scf_audit_no_truncate'), \
             (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'), \
             (SELECT tableowner FROM pg_tables WHERE tablename = 'users')"
        ),
        "framework_owner|framework_owner|framework_owner|framework",
        "the control plane is handed over; the tenant store stays the runtime's"
    );
}
