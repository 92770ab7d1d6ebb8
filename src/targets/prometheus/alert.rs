//! One alert rule and the test series that prove it: what [`super::rules`] and
//! [`super::backup_alerts`] build, and the rule and test files are made of; and the
//! labels and annotations every alert carries, in both files.

use crate::config::values::HttpUrl;
use std::collections::BTreeMap;

/// node-exporter's address in the test series.
pub const NODE: &str = "127.0.0.1:9100";

/// One alert and the data that proves it.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The alert's name.
    pub name: &'static str,
    /// `vertical` or `horizontal`: the kind of scaling it calls for (or `availability`, or
    /// `backup`).
    pub scaling: &'static str,
    /// The PromQL condition.
    pub expr: String,
    /// Minutes the condition must hold.
    pub minutes: u32,
    /// One line for the notification; may use `{{ $labels.NAME }}`.
    pub summary: String,
    /// What to do about it.
    pub description: String,
    /// Series under which the alert must fire after `minutes`.
    pub firing: Vec<(String, String)>,
    /// The same series, with values that must not fire it.
    pub calm: Vec<(String, String)>,
    /// The labels the alert carries in the test, besides the rule's own.
    pub labels: Vec<(&'static str, String)>,
}

/// Samples per test series: enough for `for` plus the 5m rate windows.
pub fn len(minutes: u32) -> u32 {
    minutes + 15
}

/// An alert's annotations: its summary and description as given (expanded in tests), and
/// the URL of its section in the runbooks document (`docs/runbooks.md`: `## NAME`).
pub fn annotations(
    a: &Alert,
    summary: &str,
    description: &str,
    runbooks: &HttpUrl,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("summary".into(), summary.into()),
        ("description".into(), description.into()),
        (
            "runbook_url".into(),
            format!("{runbooks}#{}", a.name.to_ascii_lowercase()),
        ),
    ])
}

/// An alert's labels: `severity` (a scrape target down is `critical`, a scaling trigger or
/// a backup alert a `warning`), by which Alertmanager routes it, and its kind of `scaling`.
pub fn rule_labels(scaling: &str) -> BTreeMap<String, String> {
    let severity = if scaling == "availability" {
        "critical"
    } else {
        "warning"
    };
    BTreeMap::from([
        ("severity".into(), severity.into()),
        ("scaling".into(), scaling.into()),
    ])
}
