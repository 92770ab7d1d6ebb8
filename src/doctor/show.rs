//! A doctor report for people (each check on a line, its fix under it, coloured on a
//! terminal, and a summary line) and as JSON for CI (the [`Report`] itself, with its
//! `format_version`).

use super::report::{Phase, Report, Status};
use std::fmt::Write as _;

/// The terminal view. `place` says where the checks ran (`this host`).
pub fn text(report: &Report, place: &str, color: bool) -> String {
    let paint = |code: &str, text: &str| match color {
        true => format!("\x1b[{code}m{text}\x1b[0m"),
        false => text.to_string(),
    };
    let mut out = String::new();
    if !report.project.is_empty() {
        let _ = writeln!(out, "scf doctor: {} on {place}", report.project);
    }
    for section in &report.sections {
        let title = match section.phase {
            Phase::Pre => "Before deployment",
            Phase::Post => "After deployment",
        };
        let _ = writeln!(out, "\n{title}:");
        for check in &section.checks {
            let mark = match check.status {
                Status::Pass => paint("32", "pass"),
                Status::Warn => paint("33", "warn"),
                Status::Fail => paint("31", "FAIL"),
            };
            let _ = writeln!(out, "  {mark}  {}: {}", check.name, check.evidence);
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "        fix: {fix}");
            }
        }
    }
    let s = report.summary;
    let _ = writeln!(
        out,
        "\nDoctor: {} passed, {} warned, {} failed.",
        s.pass, s.warn, s.fail
    );
    out
}

/// The report as JSON.
pub fn json(report: &Report) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(report).map(|mut s| {
        s.push('\n');
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::{Check, Section};

    fn report() -> Report {
        Report::new(
            "acme",
            vec![
                Section {
                    phase: Phase::Pre,
                    checks: vec![Check::pass("framework.toml", "valid, no warnings")],
                },
                Section {
                    phase: Phase::Post,
                    checks: vec![
                        Check::fail(
                            "unit acme.service",
                            "inactive (dead)",
                            "`systemctl start acme.service`",
                        ),
                        Check::warn(
                            "restore drill",
                            "no restore drill has run on this host yet",
                            "run `scf backup verify`",
                        ),
                    ],
                },
            ],
        )
    }

    #[test]
    fn text_shows_each_check_its_fix_and_the_counts() {
        assert_eq!(
            text(&report(), "this host", false),
            "scf doctor: acme on this host\n\
             \nBefore deployment:\n  pass  framework.toml: valid, no warnings\n\
             \nAfter deployment:\n  FAIL  unit acme.service: inactive (dead)\n        fix: `systemctl start acme.service`\n\
             \x20 warn  restore drill: no restore drill has run on this host yet\n        fix: run `scf backup verify`\n\
             \nDoctor: 1 passed, 1 warned, 1 failed.\n"
        );
        assert!(text(&report(), "this host", true).contains("\x1b[31mFAIL\x1b[0m"));
    }

    #[test]
    fn json_carries_the_format_version_statuses_and_fixes() {
        let value: serde_json::Value = serde_json::from_str(&json(&report()).unwrap()).unwrap();
        assert_eq!(value["format_version"], 1);
        assert_eq!(
            value["summary"],
            serde_json::json!({"pass": 1, "warn": 1, "fail": 1})
        );
        let post = &value["sections"][1];
        assert_eq!(post["phase"], "post");
        assert_eq!(post["checks"][0]["status"], "fail");
        assert_eq!(post["checks"][0]["fix"], "`systemctl start acme.service`");
        assert!(
            value["sections"][0]["checks"][0].get("fix").is_none(),
            "a pass has no fix"
        );
    }
}
