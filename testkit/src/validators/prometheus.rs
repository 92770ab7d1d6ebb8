//! Prometheus: `promtool check config`, `check rules`, `test rules`, and a PromQL parse check
//! for bare expressions (Grafana panel queries) done by wrapping them as recording rules.
//! Lint findings are fatal and any `WARNING` fails.

use std::path::Path;

use super::{Findings, Ran, Report, run, scratch, tool, write};

/// Grafana's built-in interval variables, which are not PromQL; replaced by a fixed range.
const GRAFANA_INTERVALS: &[&str] = &[
    "${__rate_interval}",
    "${__interval}",
    "${__range}",
    "$__rate_interval",
    "$__interval",
    "$__range",
];

/// `promtool check config` (which also parses the rule files the config names).
pub fn check_config(config: &Path) -> Result<Report, Findings> {
    let ran = run(tool("promtool")?
        .args(["check", "config", "--lint-fatal"])
        .arg(config))?;
    clean(ran)
}

/// `promtool check rules` on rule files.
pub fn check_rules(rule_files: &[&Path]) -> Result<Report, Findings> {
    let ran = run(tool("promtool")?
        .args(["check", "rules", "--lint-fatal"])
        .args(rule_files))?;
    clean(ran)
}

/// `promtool test rules` on rule test files (each names its rule files).
pub fn test_rules(test_files: &[&Path]) -> Result<Report, Findings> {
    let ran = run(tool("promtool")?.args(["test", "rules"]).args(test_files))?;
    clean(ran)
}

/// Checks that each expression parses as PromQL. Grafana's `$__rate_interval`,
/// `$__interval` and `$__range` become `5m`, so panel queries can be passed as they are.
/// A failure lists the expressions by rule number (`rule N` in promtool's output).
pub fn check_promql(exprs: &[&str]) -> Result<Report, Findings> {
    let dir = scratch("scf-promql-")?;
    let file = dir.path().join("exprs.rules.yml");
    let mut rules = String::from("groups:\n  - name: scf_testkit_exprs\n    rules:\n");
    for (index, expr) in exprs.iter().enumerate() {
        let expr = GRAFANA_INTERVALS
            .iter()
            .fold((*expr).to_owned(), |e, var| e.replace(var, "5m"));
        // A JSON string is a valid YAML double-quoted scalar: no escaping rules of our own.
        let quoted = serde_json::Value::String(expr).to_string();
        rules.push_str(&format!(
            "      - record: scf_expr_{}\n        expr: {quoted}\n",
            index + 1
        ));
    }
    write(&file, rules)?;
    check_rules(&[&file]).map_err(|findings| match findings {
        Findings::Rejected {
            tool,
            command,
            status,
            output,
        } => {
            let listed: String = exprs
                .iter()
                .enumerate()
                .map(|(index, expr)| format!("rule {}: {expr}\n", index + 1))
                .collect();
            Findings::Rejected {
                tool,
                command,
                status,
                output: format!("{output}\n{listed}"),
            }
        }
        other => other,
    })
}

fn clean(ran: Ran) -> Result<Report, Findings> {
    let quiet = !ran.output.contains("WARNING") && !ran.output.contains("FAILED");
    ran.judge(quiet, "reported a warning")
}
