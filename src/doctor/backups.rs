//! Post-deployment: the last backup of each kind is younger than its schedule allows,
//! and the last restore drill passed, by the metrics files the backup script and
//! `scf backup verify` write for node-exporter ([`crate::model::layout::backup_metrics`],
//! [`crate::model::layout::restore_drill_metrics`]). A missing file means it never ran:
//! a warning on a new host, not a failure. (The timers themselves are units.)

use super::observe;
use super::report::Check;
use crate::config::values::Cron;
use crate::model::{Model, layout};
use scf_runtime::backup::metrics as m;
use scf_runtime::exposition::{self as textfile, Sample};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The backups' and the restore drill's checks, where this host runs the backups.
pub fn checks(model: &Model, now: SystemTime) -> Vec<Check> {
    let Some(backup) = model.backup.as_ref().filter(|_| model.runs_backups()) else {
        return Vec::new();
    };
    let name = model.name().as_str();
    let kinds = [
        ("daily", Some(&backup.schedule)),
        ("full", backup.full_schedule.as_ref()),
    ];
    let metrics = read(&layout::backup_metrics(model));
    let mut checks: Vec<Check> = kinds
        .iter()
        .filter_map(|(kind, schedule)| Some((*kind, (*schedule)?)))
        .map(|(kind, schedule)| {
            let service = match kind {
                "daily" => format!("{name}-backup.service"),
                _ => format!("{name}-backup-{kind}.service"),
            };
            match &metrics {
                Ok(samples) => judge_backup(kind, schedule, &service, samples.as_deref(), now),
                Err(e) => Check::fail(
                    format!("{kind} backup"),
                    e.clone(),
                    "run scf doctor as root",
                ),
            }
        })
        .collect();
    checks.push(match read(&layout::restore_drill_metrics(model)) {
        Ok(samples) => judge_drill(samples.as_deref(), now),
        Err(e) => Check::fail("restore drill", e, "run scf doctor as root"),
    });
    checks
}

/// The samples of a metrics file; `None` when it does not exist.
fn read(path: &str) -> Result<Option<Vec<Sample>>, String> {
    match observe::read(path)? {
        None => Ok(None),
        Some(text) => textfile::parse(&text)
            .map(Some)
            .map_err(|e| format!("{path}: {e}")),
    }
}

/// Whether the last `kind` backup, per `samples` (`None`: no metrics file), is recent
/// enough for `schedule`; `service` takes one.
fn judge_backup(
    kind: &str,
    schedule: &Cron,
    service: &str,
    samples: Option<&[Sample]>,
    now: SystemTime,
) -> Check {
    let name = format!("{kind} backup");
    let take = format!(
        "`systemctl start {service}` takes one now; `journalctl -u {service}` says how the last went"
    );
    let last = samples.and_then(|s| textfile::value(s, m::BACKUP_LAST_SUCCESS, &[("kind", kind)]));
    let Some(last) = last else {
        return Check::warn(
            name,
            format!("no {kind} backup has succeeded on this host yet (schedule `{schedule}`)"),
            take,
        );
    };
    let size = samples
        .and_then(|s| textfile::value(s, m::BACKUP_SIZE, &[("kind", kind)]))
        .map(|b| format!(", {:.1} MiB", b / f64::from(1 << 20)))
        .unwrap_or_default();
    recent(&name, schedule, at(last), &size, &take, now)
}

/// Whether a job on `schedule` whose last success was `last` is overdue at `now`, as the
/// backup alert judges ([`Cron::overdue_after`]); `detail` follows the evidence, `take`
/// is the fix.
pub(super) fn recent(
    name: &str,
    schedule: &Cron,
    last: SystemTime,
    detail: &str,
    take: &str,
    now: SystemTime,
) -> Check {
    let age = now.duration_since(last).unwrap_or_default();
    let Some(limit) = schedule.overdue_after() else {
        return Check::pass(name, format!("last succeeded {}{detail}", when(last)));
    };
    if age > limit {
        Check::fail(
            name,
            format!(
                "last succeeded {}, {} ago; on `{schedule}` one is overdue after {} (as the backup alert judges)",
                when(last),
                humantime::format_duration(whole_minutes(age)),
                humantime::format_duration(limit)
            ),
            take,
        )
    } else {
        Check::pass(
            name,
            format!(
                "last succeeded {}, {} ago{detail}",
                when(last),
                humantime::format_duration(whole_minutes(age))
            ),
        )
    }
}

/// Whether the last restore drill, per `samples` (`None`: none has run), passed.
fn judge_drill(samples: Option<&[Sample]>, now: SystemTime) -> Check {
    let name = "restore drill";
    let fix = "run `scf backup verify`: it restores the latest backup into a scratch database and says what failed";
    let Some(samples) = samples else {
        return Check::warn(name, "no restore drill has run on this host yet", fix);
    };
    let value = |metric: &str| textfile::value(samples, metric, &[]);
    let ran = value(m::LAST_RUN).map(at);
    let ago = |t: SystemTime| {
        humantime::format_duration(whole_minutes(now.duration_since(t).unwrap_or_default()))
    };
    match (value(m::SUCCESS), ran) {
        (Some(ok), Some(ran)) if ok >= 1.0 => {
            let took = value(m::DURATION)
                .map(|s| format!(" in {s:.0}s"))
                .unwrap_or_default();
            Check::pass(
                name,
                format!("passed {}, {} ago{took}", when(ran), ago(ran)),
            )
        }
        (Some(_), Some(ran)) => {
            let last_good = value(m::LAST_SUCCESS)
                .filter(|t| *t > 0.0)
                .map(|t| format!("; the last that passed ran {}", when(at(t))))
                .unwrap_or_else(|| "; none has passed yet".into());
            Check::fail(
                name,
                format!("the drill {} failed{last_good}", when(ran)),
                fix,
            )
        }
        _ => Check::fail(
            name,
            "the drill's metrics file has no scf_restore_drill_success or last-run time",
            fix,
        ),
    }
}

fn at(unix_seconds: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(unix_seconds.max(0.0))
}

/// `at 2026-12-04T02:00:00Z`.
pub(super) fn when(t: SystemTime) -> String {
    format!("at {}", humantime::format_rfc3339_seconds(t))
}

pub(super) fn whole_minutes(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() / 60 * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    const NOW: u64 = 1_796_400_000; // 2026-12-04T16:00:00Z

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn metrics(text: &str) -> Vec<Sample> {
        textfile::parse(text).unwrap()
    }

    fn backup(kind: &str, schedule: &str, samples: Option<&[Sample]>) -> Check {
        judge_backup(
            kind,
            &schedule.parse().unwrap(),
            "acme-backup.service",
            samples,
            now(),
        )
    }

    #[test]
    fn a_backup_older_than_its_schedule_fails() {
        let fresh = metrics(&format!(
            "scf_backup_last_success_timestamp_seconds{{kind=\"daily\"}} {}\nscf_backup_size_bytes{{kind=\"daily\"}} 3145728\n",
            NOW - 14 * 3600
        ));
        let ok = backup("daily", "0 2 * * *", Some(&fresh));
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
        assert_eq!(
            ok.evidence,
            "last succeeded at 2026-12-04T02:00:00Z, 14h ago, 3.0 MiB"
        );

        let old = metrics(&format!(
            "scf_backup_last_success_timestamp_seconds{{kind=\"daily\"}} {}\n",
            NOW - 3 * 86_400
        ));
        let stale = backup("daily", "0 2 * * *", Some(&old));
        assert_eq!(stale.status, Status::Fail);
        assert_eq!(
            stale.evidence,
            "last succeeded at 2026-12-01T16:00:00Z, 3days ago; on `0 2 * * *` one is overdue after 1day 6h (as the backup alert judges)"
        );
        assert!(
            stale
                .fix
                .unwrap()
                .starts_with("`systemctl start acme-backup.service`")
        );
        assert_eq!(
            backup("full", "0 1 * * 0", Some(&old)).status,
            Status::Warn,
            "no full backup recorded"
        );
        let weekly = metrics(&format!(
            "scf_backup_last_success_timestamp_seconds{{kind=\"full\"}} {}\n",
            NOW - 3 * 86_400
        ));
        assert_eq!(
            backup("full", "0 1 * * 0", Some(&weekly)).status,
            Status::Pass,
            "a week allowed"
        );
    }

    #[test]
    fn no_metrics_file_means_no_backup_yet() {
        let none = backup("daily", "0 2 * * *", None);
        assert_eq!(none.status, Status::Warn);
        assert_eq!(
            none.evidence,
            "no daily backup has succeeded on this host yet (schedule `0 2 * * *`)"
        );
    }

    #[test]
    fn the_last_drill_must_have_passed_and_none_yet_warns() {
        assert_eq!(judge_drill(None, now()).status, Status::Warn);
        let passed = metrics(&format!(
            "scf_restore_drill_last_run_timestamp_seconds {}\nscf_restore_drill_success 1\nscf_restore_drill_duration_seconds 42.2\n",
            NOW - 3600
        ));
        let ok = judge_drill(Some(&passed), now());
        assert_eq!(ok.status, Status::Pass);
        assert_eq!(ok.evidence, "passed at 2026-12-04T15:00:00Z, 1h ago in 42s");
        let failed = metrics(&format!(
            "scf_restore_drill_last_run_timestamp_seconds {}\nscf_restore_drill_success 0\nscf_restore_drill_last_success_timestamp_seconds {}\n",
            NOW - 3600,
            NOW - 8 * 86_400
        ));
        let bad = judge_drill(Some(&failed), now());
        assert_eq!(bad.status, Status::Fail);
        assert_eq!(
            bad.evidence,
            "the drill at 2026-12-04T15:00:00Z failed; the last that passed ran at 2026-11-26T16:00:00Z"
        );
        assert!(bad.fix.unwrap().contains("scf backup verify"));
        assert_eq!(judge_drill(Some(&[]), now()).status, Status::Fail);
    }
}
