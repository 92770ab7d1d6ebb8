//! Database backups on a host: `backup.sh` (pg_dump of every database of the deployment,
//! compressed, checksummed, optionally copied to S3, old sets deleted, then the set's time
//! and size in node-exporter's textfile directory) and `restore.sh`,
//! under `/usr/local/lib/NAME/`. The systemd target schedules them; both read the database
//! connection from the runtime's environment, so the password never reaches a command line.
//! Of what the scripts call, a minimal Debian lacks the PostgreSQL client programs
//! (`postgresql-client-15`) and, with `[backup] s3`, the `aws` command (`awscli`).

use super::target::{Package, Target};
use crate::artifact::Artifact;
use crate::config::{Backup, Isolation};
use crate::model::Model;
use crate::model::layout::{self, BACKUP_SCRIPT};
use crate::render::Renderer;
use crate::targets::error::TargetError;
use scf_runtime::backup::metrics;
use serde::Serialize;

/// The backup target.
pub struct Backups;

/// File name of the restore script.
const RESTORE_SCRIPT: &str = "restore.sh";

/// What `backup.sh` sees.
#[derive(Serialize)]
struct BackupScript {
    name: String,
    dir: String,
    env_file: String,
    database: String,
    tenant_databases: bool,
    retention_days: u64,
    s3: Option<String>,
    full: bool,
    /// The metrics file, when node-exporter runs here.
    metrics: Option<String>,
    last_success: &'static str,
    size: &'static str,
}

/// What `restore.sh` sees.
#[derive(Serialize)]
struct RestoreScript {
    name: String,
    dir: String,
    script: String,
}

impl Backups {
    fn script(&self, model: &Model, file: &str, text: String) -> Artifact {
        Artifact::file(
            self.name(),
            format!("host{}", layout::script(model, file)),
            text,
        )
        .with_mode(0o755)
    }

    fn backup(&self, model: &Model, b: &Backup, r: &Renderer) -> Result<Artifact, TargetError> {
        let ctx = BackupScript {
            name: model.name().to_string(),
            dir: b.dir.to_string(),
            env_file: layout::env_file(model),
            database: model.database.name.to_string(),
            tenant_databases: model.tenancy.isolation == Isolation::Database,
            retention_days: b.retention.as_days_ceil(),
            s3: b.s3.as_ref().map(ToString::to_string),
            full: b.full_schedule.is_some(),
            metrics: layout::exports_textfiles(model).then(|| layout::backup_metrics(model)),
            last_success: metrics::BACKUP_LAST_SUCCESS,
            size: metrics::BACKUP_SIZE,
        };
        let text = r.render("backup/backup.sh.j2", &ctx)?;
        Ok(self.script(model, BACKUP_SCRIPT, text))
    }

    fn restore(&self, model: &Model, b: &Backup, r: &Renderer) -> Result<Artifact, TargetError> {
        let ctx = RestoreScript {
            name: model.name().to_string(),
            dir: b.dir.to_string(),
            script: layout::script(model, RESTORE_SCRIPT),
        };
        let text = r.render("backup/restore.sh.j2", &ctx)?;
        Ok(self.script(model, RESTORE_SCRIPT, text))
    }
}

impl Target for Backups {
    fn name(&self) -> &'static str {
        "backup"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "backup/backup.sh.j2",
                include_str!("../../templates/backup/backup.sh.j2"),
            ),
            (
                "backup/restore.sh.j2",
                include_str!("../../templates/backup/restore.sh.j2"),
            ),
        ]
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        let Some(backup) = model.backup.as_ref().filter(|_| model.runs_backups()) else {
            return Vec::new();
        };
        // psql, pg_dump, pg_dumpall, pg_restore; the rest is bash, coreutils and findutils.
        let mut out = vec![Package::archive("postgresql-client-15", &[])];
        if backup.s3.is_some() {
            out.push(Package::archive("awscli", &[]));
        }
        out
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(backup) = model.backup.as_ref().filter(|_| model.runs_backups()) else {
            return Ok(Vec::new());
        };
        Ok(vec![
            self.backup(model, backup, renderer)?,
            self.restore(model, backup, renderer)?,
        ])
    }
}
