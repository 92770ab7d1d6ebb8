//! Database backups on a host: `backup.sh` (pg_dump of every database of the deployment,
//! compressed, checksummed, optionally copied to S3, old sets deleted, then the set's time
//! and size in node-exporter's textfile directory) and `restore.sh`,
//! under `/usr/local/lib/NAME/`. The systemd target schedules them; both read the database
//! connection from the runtime's environment, so the password never reaches a command line.
//! The Kubernetes target ships the same two scripts, rendered by [`backup_script`] and
//! [`restore_script`] for a pod ([`Runner`]), in a ConfigMap its CronJobs run.
//! Of what the scripts call, a minimal Debian lacks the PostgreSQL client programs
//! (`postgresql-client-15`) and, with `[backup] s3`, the `aws` command (`awscli`).

use super::target::{Package, Target};
use crate::artifact::Artifact;
use crate::config::{Backup, Isolation};
use crate::model::Model;
use crate::model::layout::{self, BACKUP_SCRIPT};
use crate::render::{RenderError, Renderer};
use crate::targets::error::TargetError;
use scf_runtime::backup::metrics;
use serde::Serialize;

/// The backup target.
pub struct Backups;

/// File name of the restore script.
const RESTORE_SCRIPT: &str = "restore.sh";

/// Where the scripts run: what runs them and where their connection comes from, the only
/// parts of their text that differ between a host and a pod.
#[derive(Serialize)]
pub(crate) struct Runner {
    /// What runs `backup.sh daily`, e.g. `NAME-backup.service`.
    pub daily: String,
    /// What runs `backup.sh full`.
    pub full: String,
    /// Where DATABASE_URL and DATABASE_PASSWORD come from.
    pub env_source: String,
    /// How to get them when DATABASE_URL is missing.
    pub env_hint: String,
    /// How to stop the writers before a restore.
    pub stop: String,
    /// The restore script's path, when it runs as root on the database host.
    pub script: Option<String>,
}

impl Runner {
    /// The host's: systemd units, the env file, root on the database host.
    fn host(model: &Model) -> Self {
        let env_file = layout::env_file(model);
        Runner {
            daily: format!("{}-backup.service", model.name()),
            full: format!("{}-backup-full.service", model.name()),
            env_source: format!("the units' EnvironmentFile=, {env_file}"),
            env_hint: format!("run from the systemd unit, or export the variables of {env_file}"),
            stop: format!("systemctl stop {}.service", model.name()),
            script: Some(layout::script(model, RESTORE_SCRIPT)),
        }
    }
}

/// What `backup.sh` sees: what `restore.sh` sees, and more.
#[derive(Serialize)]
struct BackupScript<'a> {
    #[serde(flatten)]
    common: RestoreScript<'a>,
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
struct RestoreScript<'a> {
    name: String,
    dir: String,
    runner: &'a Runner,
}

impl<'a> RestoreScript<'a> {
    fn of(model: &Model, b: &Backup, runner: &'a Runner) -> Self {
        Self {
            name: model.name().to_string(),
            dir: b.dir.to_string(),
            runner,
        }
    }
}

/// `backup.sh` for `runner`; the metrics file only where node-exporter exports it.
pub(crate) fn backup_script(
    model: &Model,
    b: &Backup,
    runner: &Runner,
    metrics: Option<String>,
    r: &Renderer,
) -> Result<String, RenderError> {
    let ctx = BackupScript {
        common: RestoreScript::of(model, b, runner),
        database: model.database.name.to_string(),
        tenant_databases: model.tenancy.isolation == Isolation::Database,
        retention_days: b.retention.as_days_ceil(),
        s3: b.s3.as_ref().map(ToString::to_string),
        full: b.full_schedule.is_some(),
        metrics,
        last_success: metrics::BACKUP_LAST_SUCCESS,
        size: metrics::BACKUP_SIZE,
    };
    r.render("backup/backup.sh.j2", &ctx)
}

/// `restore.sh` for `runner`.
pub(crate) fn restore_script(
    model: &Model,
    b: &Backup,
    runner: &Runner,
    r: &Renderer,
) -> Result<String, RenderError> {
    r.render("backup/restore.sh.j2", &RestoreScript::of(model, b, runner))
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

    fn backup(
        &self,
        model: &Model,
        b: &Backup,
        runner: &Runner,
        r: &Renderer,
    ) -> Result<Artifact, TargetError> {
        let metrics = layout::exports_textfiles(model).then(|| layout::backup_metrics(model));
        let text = backup_script(model, b, runner, metrics, r)?;
        Ok(self.script(model, BACKUP_SCRIPT, text))
    }

    fn restore(
        &self,
        model: &Model,
        b: &Backup,
        runner: &Runner,
        r: &Renderer,
    ) -> Result<Artifact, TargetError> {
        let text = restore_script(model, b, runner, r)?;
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
        let runner = Runner::host(model);
        Ok(vec![
            self.backup(model, backup, &runner, renderer)?,
            self.restore(model, backup, &runner, renderer)?,
        ])
    }
}
