//! The Grafana dashboard JSON model, as serde structs: only the fields scf sets, each
//! serialized under Grafana's own key names.

use serde::Serialize;

/// A dashboard, as Grafana's file provisioning reads it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Stable id in URLs.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Tags for search.
    pub tags: Vec<String>,
    /// Dashboard JSON schema version.
    pub schema_version: u32,
    /// Provisioned dashboards are not edited in the UI.
    pub editable: bool,
    /// Auto-refresh period.
    pub refresh: String,
    /// Default time range.
    pub time: TimeRange,
    /// Variables.
    pub templating: Templating,
    /// Panels.
    pub panels: Vec<Panel>,
}

/// A relative time range.
#[derive(Debug, Serialize)]
pub struct TimeRange {
    /// Start, e.g. `now-6h`.
    pub from: String,
    /// End.
    pub to: String,
}

/// `templating`.
#[derive(Debug, Serialize)]
pub struct Templating {
    /// The variables.
    pub list: Vec<Variable>,
}

/// A data-source variable.
#[derive(Debug, Serialize)]
pub struct Variable {
    /// Name, used as `${name}`.
    pub name: String,
    /// Shown label.
    pub label: String,
    /// `datasource`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The data source type offered.
    pub query: String,
    /// The default selection.
    pub current: Current,
}

/// A variable's selection.
#[derive(Debug, Serialize)]
pub struct Current {
    /// Shown text.
    pub text: String,
    /// Value: the data source uid.
    pub value: String,
}

/// A data source reference.
#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    /// `prometheus`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its uid, here the dashboard variable.
    pub uid: String,
}

/// A panel.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    /// Unique within the dashboard.
    pub id: u32,
    /// `stat` or `timeseries`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Title.
    pub title: String,
    /// Tooltip text.
    pub description: String,
    /// Position.
    pub grid_pos: GridPos,
    /// Where the queries go.
    pub datasource: DataSource,
    /// The queries.
    pub targets: Vec<Query>,
    /// Unit and thresholds.
    pub field_config: FieldConfig,
}

/// A panel's position on the 24-column grid.
#[derive(Debug, Serialize)]
pub struct GridPos {
    /// Height.
    pub h: u32,
    /// Width.
    pub w: u32,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

/// One PromQL query.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    /// `A`, `B`, …
    pub ref_id: String,
    /// The PromQL expression.
    pub expr: String,
    /// Series name template, e.g. `{{instance}}`.
    pub legend_format: String,
    /// Where the query goes.
    pub datasource: DataSource,
}

/// `fieldConfig`.
#[derive(Debug, Serialize)]
pub struct FieldConfig {
    /// Defaults of every field.
    pub defaults: FieldDefaults,
    /// No per-field overrides.
    pub overrides: Vec<()>,
}

/// Unit and thresholds.
#[derive(Debug, Serialize)]
pub struct FieldDefaults {
    /// Grafana unit id, e.g. `percentunit`.
    pub unit: String,
    /// Threshold colours.
    pub thresholds: Thresholds,
}

/// Absolute thresholds.
#[derive(Debug, Serialize)]
pub struct Thresholds {
    /// `absolute`.
    pub mode: String,
    /// Steps, the first with no value.
    pub steps: Vec<Step>,
}

/// A threshold step.
#[derive(Debug, Serialize)]
pub struct Step {
    /// Colour from this value up.
    pub color: String,
    /// Lower bound; `null` for the base step.
    pub value: Option<f64>,
}
