//! The backup alerts, from the metrics `backup.sh` and `scf backup verify` write to
//! node-exporter's textfile directory: a backup of a kind older than its schedule allows,
//! a failed restore drill, and no drill passed for over a week. Each comes with the series
//! that fire it and keep it quiet, as every alert of [`super::rules`] does.

use super::alert::{Alert, NODE, len};
use crate::config::Backup;
use crate::config::values::Cron;
use scf_runtime::backup::metrics as m;

/// Minutes each condition must hold.
const MINUTES: u32 = 10;
/// The drill runs weekly: a pass within a week and a day is on time.
const DRILL_MAX_AGE_HOURS: u64 = 8 * 24;

/// The alerts of the backups `backup` schedules.
pub fn alerts(backup: &Backup) -> Vec<Alert> {
    let kinds = [
        ("daily", "BackupDailyOverdue", Some(&backup.schedule)),
        ("full", "BackupFullOverdue", backup.full_schedule.as_ref()),
    ];
    let mut out: Vec<Alert> = kinds
        .into_iter()
        .filter_map(|(kind, name, cron)| overdue(kind, name, cron?))
        .collect();
    out.extend([drill_failed(), drill_overdue()]);
    out
}

/// The labels node-exporter gives the textfile metrics in the test series.
fn node(extra: &str) -> String {
    format!("instance=\"{NODE}\",job=\"node\"{extra}")
}

/// A series whose timestamp is `hours` and an hour old all along (firing), and one that
/// keeps up with the clock (calm).
fn timestamps(alert: &mut Alert, series: String, hours: u64) {
    let n = len(alert.minutes);
    let stale = -i64::try_from((hours + 1) * 3600).unwrap_or(i64::MAX);
    alert.firing = vec![(series.clone(), format!("{stale}x{n}"))];
    alert.calm = vec![(series, format!("0+60x{n}"))];
}

/// A set of `kind` older than the longest gap between its runs, and a quarter of it more
/// (at least an hour) for the backup itself to run.
fn overdue(kind: &'static str, name: &'static str, cron: &Cron) -> Option<Alert> {
    let hours = cron.overdue_after()?.as_secs() / 3600;
    let mut alert = Alert {
        name,
        scaling: "backup",
        expr: format!(
            "time() - {}{{kind=\"{kind}\"}} > {}",
            m::BACKUP_LAST_SUCCESS,
            hours * 3600
        ),
        minutes: MINUTES,
        summary: format!(
            "No {kind} backup on {{{{ $labels.instance }}}} for {hours} hours (schedule `{cron}`)"
        ),
        description: format!(
            "The {kind} backup has not completed on schedule: see its unit's journal (journalctl -u NAME-backup{}.service), the free space of backup.dir, and `scf doctor`.",
            if kind == "daily" { "" } else { "-full" }
        ),
        firing: Vec::new(),
        calm: Vec::new(),
        labels: vec![
            ("instance", NODE.into()),
            ("job", "node".into()),
            ("kind", kind.into()),
        ],
    };
    let series = format!(
        "{}{{{}}}",
        m::BACKUP_LAST_SUCCESS,
        node(&format!(",kind=\"{kind}\""))
    );
    timestamps(&mut alert, series, hours);
    Some(alert)
}

fn drill_failed() -> Alert {
    let n = len(MINUTES);
    let series = format!("{}{{{}}}", m::SUCCESS, node(""));
    Alert {
        name: "RestoreDrillFailed",
        scaling: "backup",
        expr: format!("{} == 0", m::SUCCESS),
        minutes: MINUTES,
        summary: "The last restore drill on {{ $labels.instance }} failed".into(),
        description: "The newest backup set did not restore or did not pass the database checks: see journalctl -u NAME-backup-verify.service, which names the damaged file or the failed check; rerun with systemctl start NAME-backup-verify.service.".into(),
        firing: vec![(series.clone(), format!("0x{n}"))],
        calm: vec![(series, format!("1x{n}"))],
        labels: vec![("instance", NODE.into()), ("job", "node".into())],
    }
}

fn drill_overdue() -> Alert {
    let mut alert = Alert {
        name: "RestoreDrillOverdue",
        scaling: "backup",
        expr: format!(
            "time() - {} > {}",
            m::LAST_SUCCESS,
            DRILL_MAX_AGE_HOURS * 3600
        ),
        minutes: MINUTES,
        summary: format!(
            "No restore drill passed on {{{{ $labels.instance }}}} for {} days",
            DRILL_MAX_AGE_HOURS / 24
        ),
        description: "The weekly restore drill has not passed: check that NAME-backup-verify.timer is active (systemctl list-timers) and the drill's journal.".into(),
        firing: Vec::new(),
        calm: Vec::new(),
        labels: vec![("instance", NODE.into()), ("job", "node".into())],
    };
    let series = format!("{}{{{}}}", m::LAST_SUCCESS, node(""));
    timestamps(&mut alert, series, DRILL_MAX_AGE_HOURS);
    alert
}
