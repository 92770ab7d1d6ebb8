//! One alert rule and the test series that prove it: what [`super::rules`] and
//! [`super::backup_alerts`] build, and the rule and test files are made of.

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
