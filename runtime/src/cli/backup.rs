//! `scf backup verify SET`, the restore drill: it checks the set's SHA256SUMS, restores the
//! deployment's dumps (the main database's and each tenant database's) into scratch
//! databases as a superuser (`--admin-url`; by default `postgres` over the local socket, as
//! `restore.sh` restores), runs `scf db verify`'s checks on them as the runtime's own role
//! (DATABASE_URL and DATABASE_PASSWORD, with the scratch database in place of the
//! deployment's), reports the time it took, and drops the scratch databases: after a pass,
//! a failure, or SIGTERM/Ctrl-C. `--metrics FILE` writes the restore-drill metrics file
//! whatever the outcome.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};

use super::common::{CliError, line, mark, settings};
use super::db;
use crate::backup::metrics::{self, Outcome};
use crate::backup::scratch::{DEFAULT_ADMIN_URL, Server};
use crate::backup::set::{self, BackupSet, SUMS};
use crate::db::{Backend, Location};
use crate::settings::parse::Lookup;
use crate::settings::{DatabaseTarget, Settings};
use crate::state::Services;

/// `scf backup` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Restore a backup set into scratch databases, run `scf db verify`'s checks on them,
    /// and drop them; exit non-zero on any failure.
    Verify(VerifyArgs),
    /// Copy this scf binary to DEST (mode 0755), for a container whose image has
    /// pg_restore but no scf (the Kubernetes restore drill's).
    CopyBinary {
        /// Where the copy goes.
        dest: PathBuf,
    },
}

/// `scf backup verify`'s arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup set: a set's directory, or BACKUP_DIR/latest for the newest.
    pub set: PathBuf,
    /// A superuser's connection to restore with, without a password (peer authentication,
    /// PGPASSWORD or ~/.pgpass).
    #[arg(long, value_name = "URL", default_value = DEFAULT_ADMIN_URL)]
    pub admin_url: String,
    /// Write the restore-drill metrics to FILE (in node-exporter's textfile directory),
    /// whether the drill passes or fails.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

/// Runs a `backup` subcommand.
pub async fn execute(
    cmd: BackupCommand,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    match cmd {
        BackupCommand::Verify(args) => verify(&args, env, out).await,
        BackupCommand::CopyBinary { dest } => copy_binary(&dest, out),
    }
}

/// Copies the running binary to `dest`, executable by all.
pub(super) fn copy_binary(
    dest: &std::path::Path,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |what: &str, e: std::io::Error| CliError::Failed(format!("{what}: {e}"));
    let exe = std::env::current_exe().map_err(|e| failed("cannot find this binary", e))?;
    std::fs::copy(&exe, dest).map_err(|e| {
        failed(
            &format!("cannot copy {} to {}", exe.display(), dest.display()),
            e,
        )
    })?;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| failed(&format!("cannot make {} executable", dest.display()), e))?;
    line(
        out,
        format!("copied {} to {}", exe.display(), dest.display()),
    )
}

async fn verify(
    args: &VerifyArgs,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let result = drill(args, env, out).await;
    let seconds = clock.elapsed().as_secs_f64();
    if let Some(path) = &args.metrics {
        let outcome = Outcome {
            started: started
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            seconds,
            passed: result.is_ok(),
        };
        if let Err(e) = metrics::write(path, outcome) {
            let drill = match &result {
                Ok(_) => "the drill passed".to_owned(),
                Err(failure) => format!("the drill failed: {failure}"),
            };
            return Err(failed(format!(
                "cannot write {}: {e} ({drill})",
                path.display()
            )));
        }
    }
    match result {
        Ok(set) => line(
            out,
            format!(
                "restore drill passed in {seconds:.1} s: {} ({} database(s), {:.1} MiB), scratch databases dropped",
                set.dir.display(),
                set.dumps.len(),
                set.bytes as f64 / (1024.0 * 1024.0)
            ),
        ),
        Err(e) => Err(failed(format!(
            "restore drill failed after {seconds:.1} s: {e}"
        ))),
    }
}

/// Checks, restores and verifies the set; the scratch databases are dropped whatever
/// happens once they exist.
async fn drill(
    args: &VerifyArgs,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<BackupSet, CliError> {
    // Registered now, so a signal while the checksums are computed is seen, not fatal.
    let interrupted = crate::app::shutdown_signal();
    let settings = settings(env)?;
    let main = main_database(&settings)?;
    let set = set::open(&args.set, &main).map_err(failed)?;
    line(
        out,
        format!(
            "{} {SUMS}: every file of {} matches",
            mark(true),
            set.dir.display()
        ),
    )?;
    for other in &set.others {
        line(out, format!("       {other}: checked by checksum only"))?;
    }
    let (mut server, left) = Server::lock(&args.admin_url).await.map_err(failed)?;
    for name in left {
        line(out, format!("dropped {name}, left by an interrupted drill"))?;
    }
    let checked = tokio::select! {
        checked = restore_and_check(&mut server, &set, &main, settings, out) => checked,
        () = interrupted => Err(failed("interrupted (SIGTERM or Ctrl-C)")),
    };
    let dropped = server.drop_scratch().await;
    match (checked, dropped) {
        (Ok(()), Ok(_)) => Ok(set),
        (Ok(()), Err(e)) => Err(failed(format!("cannot drop the scratch databases: {e}"))),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(drop)) => Err(failed(format!(
            "{e}; and the scratch databases could not be dropped: {drop} (the next drill drops them)"
        ))),
    }
}

/// Restores every dump of the set into scratch databases, then runs the checks on them.
async fn restore_and_check(
    server: &mut Server,
    set: &BackupSet,
    main: &str,
    mut settings: Settings,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let scratch = Server::scratch_name();
    for dump in &set.dumps {
        // main → scratch, main_t_x → scratch_t_x: where the checks look for each tenant.
        let name = format!("{scratch}{}", &dump.database[main.len()..]);
        let clock = Instant::now();
        server.create(&name).await.map_err(failed)?;
        server.restore(&name, &dump.path).await.map_err(failed)?;
        line(
            out,
            format!(
                "{} restored {}.dump into {name} on {} ({:.1} s)",
                mark(true),
                dump.database,
                server.label(),
                clock.elapsed().as_secs_f64()
            ),
        )?;
    }
    settings.database = on_database(&settings.database, &scratch)?;
    // The checks read only the database, one connection at a time.
    settings.redis = None;
    settings.database_pool_size = 1;
    let services = Services::connect(&settings).await?;
    let checked = db::check(&settings, &services, out).await;
    services.db.pool.close().await;
    checked
}

/// The deployment's main database: the one DATABASE_URL names.
fn main_database(settings: &Settings) -> Result<String, CliError> {
    let location = Location::from_target(&settings.database)?;
    match location.backend() {
        Backend::Postgres => Ok(location.database_name()),
        Backend::Sqlite => Err(failed(
            "backup verify restores PostgreSQL backups, and DATABASE_URL names no PostgreSQL database",
        )),
    }
}

/// `target` with `database` in place of its database.
fn on_database(target: &DatabaseTarget, database: &str) -> Result<DatabaseTarget, CliError> {
    let DatabaseTarget::Postgres { url, password } = target else {
        return Err(failed("DATABASE_URL names no PostgreSQL database"));
    };
    let mut url = url::Url::parse(url).map_err(|e| failed(format!("DATABASE_URL: {e}")))?;
    url.set_path(&format!("/{database}"));
    Ok(DatabaseTarget::Postgres {
        url: url.to_string(),
        password: password.clone(),
    })
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}
