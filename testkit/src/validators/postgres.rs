//! PostgreSQL: a generated `postgresql.conf` must start a real cluster with no setting in
//! error, and SQL files (migrations) must apply with `psql -v ON_ERROR_STOP=1` and no
//! `WARNING`; squawk lints migrations for locking hazards.

use std::path::Path;

use super::{Findings, Report, run, tool};
use crate::services::PgCluster;

/// Starts a [`PgCluster`] with `config` as its `postgresql.conf` and checks
/// `pg_file_settings` has no errors (settings the harness overrides aside). The running
/// cluster is returned so migrations can be applied to it.
pub fn check_config(config: &Path) -> Result<PgCluster, Findings> {
    let cluster = PgCluster::start(Some(config))?;
    let overridden: Vec<String> = PgCluster::OVERRIDDEN_SETTINGS
        .iter()
        .map(|name| format!("'{name}'"))
        .collect();
    let errors = cluster.psql(&format!(
        "SELECT sourcefile || ':' || sourceline || ': ' || coalesce(name, '?') || ': ' || error \
         FROM pg_file_settings WHERE error IS NOT NULL AND coalesce(name, '') NOT IN ({})",
        overridden.join(", ")
    ))?;
    if errors.trim().is_empty() {
        return Ok(cluster);
    }
    Err(Findings::Rejected {
        tool: "postgres".to_owned(),
        command: "SELECT … FROM pg_file_settings WHERE error IS NOT NULL".to_owned(),
        status: "settings in error".to_owned(),
        output: errors,
    })
}

/// Applies each SQL file in order with `psql -X -q -v ON_ERROR_STOP=1 -f`; stops at the
/// first error. A `WARNING` fails too. The URL is kept out of any message.
pub fn apply_sql(url: &str, files: &[&Path]) -> Result<Report, Findings> {
    let mut output = String::new();
    for file in files {
        let mut cmd = tool("psql")?;
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
            .arg(file)
            .env("PGCONNECT_TIMEOUT", "5");
        let mut ran = run(&mut cmd)?;
        ran.command = ran.command.replace(url, "$DATABASE_URL");
        let warned = ran.stderr().contains("WARNING:");
        output.push_str(&ran.judge(!warned, "printed a WARNING")?.output);
    }
    Ok(Report {
        tool: "psql".to_owned(),
        output,
    })
}

/// squawk (`--reporter gcc`) on migration files: passes only when it prints nothing (missing
/// lock/statement timeouts, blocking index builds, table rewrites all fail).
pub fn lint_sql(files: &[&Path]) -> Result<Report, Findings> {
    squawk(&[], files)
}

/// [`lint_sql`] for migrations a runner applies each in a transaction of its own (sqlx
/// does): squawk knows an index on a table created in the same transaction blocks no one,
/// and that `CONCURRENTLY` cannot run there.
pub fn lint_transactional_sql(files: &[&Path]) -> Result<Report, Findings> {
    squawk(&["--assume-in-transaction"], files)
}

fn squawk(flags: &[&str], files: &[&Path]) -> Result<Report, Findings> {
    let mut cmd = tool("squawk")?;
    cmd.args(["--reporter", "gcc"]).args(flags).args(files);
    run(&mut cmd)?.silent()
}
