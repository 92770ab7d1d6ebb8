//! The Prometheus file formats scf writes, as serde structs: the server config
//! (`prometheus.yml`), an alerting rule file, and a `promtool test rules` file. Only the
//! fields scf sets are modelled; each serializes to Prometheus's own key names.

use crate::targets::error::TargetError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `prometheus.yml`.
#[derive(Debug, Serialize)]
pub struct Config {
    /// Defaults for every job.
    pub global: Global,
    /// Where firing alerts are sent.
    pub alerting: Alerting,
    /// Rule files, relative to this file's directory.
    pub rule_files: Vec<String>,
    /// What is scraped.
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// `alerting:`.
#[derive(Debug, Serialize)]
pub struct Alerting {
    /// The Alertmanagers alerts are sent to.
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One set of Alertmanagers.
#[derive(Debug, Serialize)]
pub struct AlertmanagerConfig {
    /// Their `host:port`s.
    pub static_configs: Vec<StaticConfig>,
}

/// `global:`.
#[derive(Debug, Serialize)]
pub struct Global {
    /// How often targets are scraped.
    pub scrape_interval: String,
    /// How often rules are evaluated.
    pub evaluation_interval: String,
}

/// One scrape job.
#[derive(Debug, Serialize)]
pub struct ScrapeConfig {
    /// The `job` label.
    pub job_name: String,
    /// The job's own interval, when it differs from the global one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<String>,
    /// The HTTP path of the metrics.
    pub metrics_path: String,
    /// The targets.
    pub static_configs: Vec<StaticConfig>,
}

/// A fixed list of `host:port` targets.
#[derive(Debug, Serialize)]
pub struct StaticConfig {
    /// `host:port` of each target.
    pub targets: Vec<String>,
}

/// A rule file.
#[derive(Debug, Serialize)]
pub struct RuleFile {
    /// Its groups.
    pub groups: Vec<RuleGroup>,
}

/// A group of rules evaluated together; also the `groups` of a `PrometheusRule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// The group's name.
    pub name: String,
    /// Its rules.
    pub rules: Vec<AlertRule>,
}

/// An alerting rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// The alert's name.
    pub alert: String,
    /// The PromQL condition.
    pub expr: String,
    /// How long the condition must hold, e.g. `15m`.
    #[serde(rename = "for")]
    pub for_: String,
    /// Labels added to the alert.
    pub labels: BTreeMap<String, String>,
    /// Text for humans; may use `{{ $labels.NAME }}`.
    pub annotations: BTreeMap<String, String>,
}

/// A `promtool test rules` file.
#[derive(Debug, Serialize)]
pub struct TestFile {
    /// Rule files under test, relative to this file's directory.
    pub rule_files: Vec<String>,
    /// The rule evaluation interval of the tests.
    pub evaluation_interval: String,
    /// The test groups.
    pub tests: Vec<TestGroup>,
}

/// One test: input series and what the alerts must be at given times.
#[derive(Debug, Serialize)]
pub struct TestGroup {
    /// The test's name, shown by promtool on failure.
    pub name: String,
    /// The interval between input samples.
    pub interval: String,
    /// The input series.
    pub input_series: Vec<InputSeries>,
    /// The expected alerts.
    pub alert_rule_test: Vec<AlertTest>,
}

/// One input series in promtool's expanding notation.
#[derive(Debug, Serialize)]
pub struct InputSeries {
    /// `name{label="value",…}`.
    pub series: String,
    /// Samples, e.g. `0+6x40` or `45x40`.
    pub values: String,
}

/// The firing alerts of one name at one time.
#[derive(Debug, Serialize)]
pub struct AlertTest {
    /// When, from the start of the series, e.g. `25m`.
    pub eval_time: String,
    /// The alert's name.
    pub alertname: String,
    /// The alerts expected to fire; empty when none may.
    pub exp_alerts: Vec<ExpectedAlert>,
}

/// One expected firing alert.
#[derive(Debug, Serialize)]
pub struct ExpectedAlert {
    /// Its labels, rule labels included.
    pub exp_labels: BTreeMap<String, String>,
    /// Its annotations, templates expanded.
    pub exp_annotations: BTreeMap<String, String>,
}

/// A YAML document with a comment header. Serializing these plain structs cannot fail; if
/// it ever did, the error names the file as a bug in scf.
pub fn to_yaml(file: &str, header: &str, value: &impl Serialize) -> Result<String, TargetError> {
    // One line per expression, as people write them; no folded `>-` blocks.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    let body = serde_saphyr::to_string_with_options(value, options)
        .map_err(|e| TargetError::serialize(file, e))?;
    let comments: String = header.lines().map(|l| format!("# {l}\n")).collect();
    Ok(format!("{comments}{body}"))
}
