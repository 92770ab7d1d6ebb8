//! The restore-drill metrics file, in Prometheus's text format, which node-exporter's
//! textfile collector exports with the host's metrics (`scf backup verify --metrics FILE`;
//! on a host, `NAME-restore-drill.prom` in the collector's directory). It is written after
//! every drill, passed or failed, whole or not at all; a failed drill keeps the time of the
//! last one that passed, read back from the file it replaces. The names are the ones the
//! alert rules and `backup.sh` use.

use std::path::Path;

use crate::files::{Existing, write_atomic};

/// When the last drill ran (unix seconds).
pub const LAST_RUN: &str = "scf_restore_drill_last_run_timestamp_seconds";
/// 1 when the last drill passed, else 0.
pub const SUCCESS: &str = "scf_restore_drill_success";
/// When a drill last passed (unix seconds).
pub const LAST_SUCCESS: &str = "scf_restore_drill_last_success_timestamp_seconds";
/// How long the last drill took.
pub const DURATION: &str = "scf_restore_drill_duration_seconds";
/// When a backup of a kind (`daily`, `full`) last completed (unix seconds); `backup.sh`.
pub const BACKUP_LAST_SUCCESS: &str = "scf_backup_last_success_timestamp_seconds";
/// The size of the last backup set of a kind; `backup.sh`.
pub const BACKUP_SIZE: &str = "scf_backup_size_bytes";

/// How a drill went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// When it started (unix seconds).
    pub started: f64,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// Whether it passed.
    pub passed: bool,
}

/// The file's text for `outcome`, with `last_success` the time a drill last passed.
pub fn render(outcome: Outcome, last_success: Option<f64>) -> String {
    let last_success = match outcome.passed {
        true => Some(outcome.started + outcome.seconds),
        false => last_success,
    };
    let mut text = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        ));
    };
    gauge(
        LAST_RUN,
        "When the last restore drill ran (unix time).",
        outcome.started,
    );
    gauge(
        SUCCESS,
        "Whether the last restore drill passed (1) or failed (0).",
        f64::from(u8::from(outcome.passed)),
    );
    if let Some(at) = last_success {
        gauge(
            LAST_SUCCESS,
            "When a restore drill last passed (unix time).",
            at,
        );
    }
    gauge(
        DURATION,
        "How long the last restore drill took.",
        outcome.seconds,
    );
    text
}

/// The time of the last passed drill that the file at `path` records, if any.
pub fn last_success(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == LAST_SUCCESS).then(|| value.trim().parse().ok())?
    })
}

/// Writes the file for `outcome` at `path` (mode 0644: node-exporter runs as another user).
pub fn write(path: &Path, outcome: Outcome) -> std::io::Result<()> {
    let text = render(outcome, last_success(path));
    write_atomic(path, text.as_bytes(), 0o644, Existing::Replace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_drill_keeps_the_time_of_the_last_one_that_passed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x-restore-drill.prom");
        assert_eq!(last_success(&path), None, "never ran");
        let passed = Outcome {
            started: 1_000.0,
            seconds: 2.5,
            passed: true,
        };
        write(&path, passed).expect("write");
        assert_eq!(last_success(&path), Some(1_002.5));
        let failed = Outcome {
            started: 9_000.0,
            seconds: 1.0,
            passed: false,
        };
        write(&path, failed).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        for line in [
            "scf_restore_drill_last_run_timestamp_seconds 9000\n",
            "scf_restore_drill_success 0\n",
            "scf_restore_drill_last_success_timestamp_seconds 1002.5\n",
            "scf_restore_drill_duration_seconds 1\n",
        ] {
            assert!(text.contains(line), "{line}in\n{text}");
        }
        let never = render(failed, None);
        assert!(!never.contains(LAST_SUCCESS), "{never}");
    }
}
