//! The edge of an implementation run: demand history in the long format `sku,period,quantity`
//! (CSV or JSON), per-SKU parameters, the service target, and the limits that keep a
//! hostile upload from exhausting memory. Connector exports ([`super::connectors`]) feed
//! the same [`DemandTable`]. Everything here is validated; [`super::run_sku`] trusts it.

use super::period::{Period, Spacing};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Caps on one upload. The byte cap mirrors the server's body limit; the row and cell caps
/// bound what the parsed tables may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted file, in bytes (default 100 MiB, the server's `MAX_UPLOAD_MB`).
    pub max_bytes: usize,
    /// Most data rows in a file (default 5 000 000).
    pub max_rows: usize,
    /// Most SKU-periods once gaps are filled (default 20 000 000, 160 MB of history).
    pub max_cells: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_rows: 5_000_000,
            max_cells: 20_000_000,
        }
    }
}

/// The largest quantity one row may hold, in either direction: a trillion units. The
/// forecasting and inventory arithmetic (squares of demand, sums over histories) stays
/// exact to well under a unit below it; beyond it a run would fail or produce nonsense.
pub const MAX_QUANTITY: f64 = 1e12;

/// The longest SKU id, in characters (SAP's material number has 40; ids are stored and
/// shown in every result row).
pub const MAX_SKU_CHARS: usize = 100;

/// A SKU id within [`MAX_SKU_CHARS`], or an error at `place` quoting its start.
pub(crate) fn check_sku<'a>(
    sku: &'a str,
    file: &'static str,
    column: &str,
    place: Place,
) -> Result<&'a str, InputError> {
    if sku.chars().count() <= MAX_SKU_CHARS {
        return Ok(sku);
    }
    Err(InputError::BadValue {
        file,
        place,
        column: column.to_owned(),
        value: format!("{}…", sku.chars().take(20).collect::<String>()),
        expected: format!("a SKU id of at most {MAX_SKU_CHARS} characters"),
    })
}

/// Where in a file something is: a CSV line (1-based, header = 1) or a JSON record
/// (1-based position in the array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A CSV line.
    Line(u64),
    /// A JSON record.
    Record(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(l) => write!(f, "line {l}"),
            Self::Record(r) => write!(f, "record {r}"),
        }
    }
}

/// Why an upload was refused. Each message names the file, the place and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// The file is over the byte cap.
    #[error("the {file} file is {size} bytes, over the {limit}-byte limit; split it by SKU")]
    TooLarge {
        /// Which file.
        file: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// More rows than the row cap.
    #[error("{file} {place}: more than {limit} rows; split the upload by SKU")]
    TooManyRows {
        /// Which file.
        file: &'static str,
        /// The first row over the cap.
        place: Place,
        /// The cap.
        limit: usize,
    },
    /// The gap-filled history is over the cell cap.
    #[error(
        "the demand spans {cells} SKU-periods once gaps are filled, over the limit of {limit}; \
         use coarser periods (weeks or months) or split the upload by SKU"
    )]
    TooManyCells {
        /// SKU-periods needed.
        cells: usize,
        /// The cap.
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error("the {file} file is not UTF-8 text; export it as UTF-8 CSV or JSON")]
    NotText {
        /// Which file.
        file: &'static str,
    },
    /// Malformed CSV.
    #[error("{file} {place}: {message}")]
    Csv {
        /// Which file.
        file: &'static str,
        /// Where.
        place: Place,
        /// The parser's complaint.
        message: String,
    },
    /// Malformed JSON.
    #[error("{file}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// Which file.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's complaint.
        message: String,
    },
    /// A required column is absent from the header.
    #[error("{file} line {line}: no `{column}` column in the header; expected {expected}")]
    MissingColumn {
        /// Which file.
        file: &'static str,
        /// The header's line.
        line: u64,
        /// The column.
        column: String,
        /// What a good header looks like.
        expected: &'static str,
    },
    /// A value that does not parse or is out of range.
    #[error("{file} {place}, column `{column}`: `{value}` is not {expected}")]
    BadValue {
        /// Which file.
        file: &'static str,
        /// Where.
        place: Place,
        /// The column.
        column: String,
        /// The text found.
        value: String,
        /// What was expected, with the fix.
        expected: String,
    },
    /// Periods mixing integers and dates.
    #[error(
        "{file} {place}: period `{value}` is a {kind} but earlier periods are {first}s; \
         use one kind (integers or YYYY-MM-DD dates) throughout"
    )]
    MixedPeriods {
        /// Which file.
        file: &'static str,
        /// Where.
        place: Place,
        /// The text found.
        value: String,
        /// Its kind.
        kind: &'static str,
        /// The kind of the first period.
        first: &'static str,
    },
    /// A header naming one column twice.
    #[error(
        "{file} line 1: the header has two `{column}` columns (columns {first} and {second}); keep one"
    )]
    DuplicateColumn {
        /// Which file.
        file: &'static str,
        /// The column.
        column: String,
        /// The first one's position, from 1.
        first: usize,
        /// The second one's position, from 1.
        second: usize,
    },
    /// A SKU listed twice in the parameters.
    #[error("parameters {place}: SKU `{sku}` is listed twice; give one row per SKU")]
    DuplicateSku {
        /// Where the second one is.
        place: Place,
        /// The SKU.
        sku: String,
    },
    /// No demand rows at all.
    #[error("the {file} file has no demand rows; expected rows of sku,period,quantity")]
    Empty {
        /// Which file.
        file: &'static str,
    },
    /// The connector is not enabled for this tenant.
    #[error(
        "connector `{0}` is not enabled; add it to `connectors` under [framework] in \
         framework.toml (CONNECTORS on the server) or upload CSV/JSON instead"
    )]
    ConnectorDisabled(String),
    /// An invalid option (service target, horizon, …).
    #[error("{0}")]
    Option(String),
}

/// The service target of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Probability of no stockout in a replenishment cycle.
    CycleServiceLevel(f64),
    /// Fraction of demand met from stock.
    FillRate(f64),
}

impl Target {
    /// A cycle service level in (0, 1).
    pub fn cycle_service_level(value: f64) -> Result<Self, InputError> {
        check_unit("service level", value).map(Self::CycleServiceLevel)
    }

    /// A fill rate in (0, 1).
    pub fn fill_rate(value: f64) -> Result<Self, InputError> {
        check_unit("fill rate", value).map(Self::FillRate)
    }

    /// Checks a deserialized target (e.g. from a JSON body).
    pub fn validated(self) -> Result<Self, InputError> {
        match self {
            Self::CycleServiceLevel(v) => Self::cycle_service_level(v),
            Self::FillRate(v) => Self::fill_rate(v),
        }
    }

    /// The target value.
    pub fn value(&self) -> f64 {
        match *self {
            Self::CycleServiceLevel(v) | Self::FillRate(v) => v,
        }
    }

    /// `cycle_service_level` or `fill_rate`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CycleServiceLevel(_) => "cycle_service_level",
            Self::FillRate(_) => "fill_rate",
        }
    }
}

fn check_unit(what: &str, value: f64) -> Result<f64, InputError> {
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(InputError::Option(format!(
            "the {what} must be strictly between 0 and 1, e.g. 0.95; got {value}"
        )))
    }
}

/// One SKU's replenishment parameters. Lead times are in periods of the demand history;
/// the holding cost rate is per year, as a fraction of the unit cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SkuParams {
    /// Mean lead time, in periods (default 1).
    pub lead_time_mean: f64,
    /// Standard deviation of the lead time, in periods (default 0).
    pub lead_time_sd: f64,
    /// Cost of one unit (default 1).
    pub unit_cost: f64,
    /// Yearly holding cost as a fraction of the unit cost (default 0.25).
    pub holding_cost_rate: f64,
    /// Fixed cost of one order (default 50).
    pub ordering_cost: f64,
    /// Minimum order quantity; orders are multiples of it (default 1).
    pub moq: f64,
}

impl Default for SkuParams {
    fn default() -> Self {
        Self {
            lead_time_mean: 1.0,
            lead_time_sd: 0.0,
            unit_cost: 1.0,
            holding_cost_rate: 0.25,
            ordering_cost: 50.0,
            moq: 1.0,
        }
    }
}

/// A parameter column: its name, the check its values must pass, and what that asks for.
pub(crate) struct ParamColumn {
    /// Header name.
    pub name: &'static str,
    valid: fn(f64) -> bool,
    expected: &'static str,
}

/// The parameter columns, in [`SkuParams::set`] order.
pub(crate) const PARAM_COLUMNS: [ParamColumn; 6] = [
    ParamColumn {
        name: "lead_time_mean",
        valid: |v| v >= 0.0,
        expected: "a number of periods ≥ 0",
    },
    ParamColumn {
        name: "lead_time_sd",
        valid: |v| v >= 0.0,
        expected: "a number of periods ≥ 0",
    },
    ParamColumn {
        name: "unit_cost",
        valid: |v| v > 0.0,
        expected: "a cost > 0",
    },
    ParamColumn {
        name: "holding_cost_rate",
        valid: |v| v > 0.0,
        expected: "a yearly rate > 0, e.g. 0.25",
    },
    ParamColumn {
        name: "ordering_cost",
        valid: |v| v >= 0.0,
        expected: "a cost ≥ 0",
    },
    ParamColumn {
        name: "moq",
        valid: |v| v >= 0.0,
        expected: "a quantity ≥ 0",
    },
];

impl SkuParams {
    /// Sets parameter column `index` of [`PARAM_COLUMNS`].
    pub(crate) fn set(&mut self, index: usize, value: f64) {
        let field = match index {
            0 => &mut self.lead_time_mean,
            1 => &mut self.lead_time_sd,
            2 => &mut self.unit_cost,
            3 => &mut self.holding_cost_rate,
            4 => &mut self.ordering_cost,
            _ => &mut self.moq,
        };
        *field = value;
    }
}

/// Parses a parameter value of column `index`, naming the place on failure.
pub(crate) fn param_value(
    index: usize,
    text: &str,
    place: Place,
) -> Result<Option<f64>, InputError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let column = &PARAM_COLUMNS[index];
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (column.valid)(v) => Ok(Some(v)),
        _ => Err(InputError::BadValue {
            file: "parameters",
            place,
            column: column.name.to_owned(),
            value: text.to_owned(),
            expected: column.expected.to_owned(),
        }),
    }
}

/// One SKU's gap-free history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuInput {
    /// SKU id.
    pub sku: String,
    /// Label of the first period of `history`.
    pub first_period: String,
    /// Label of the last period of `history`.
    pub last_period: String,
    /// Demand per period; gaps filled with zero.
    pub history: Vec<f64>,
    /// Replenishment parameters.
    pub params: SkuParams,
}

/// Demand rows collected from any reader: duplicates of `(sku, period)` are summed.
#[derive(Debug)]
pub struct DemandTable {
    file: &'static str,
    limits: Limits,
    rows: usize,
    first_kind: Option<&'static str>,
    series: BTreeMap<String, BTreeMap<Period, f64>>,
}

impl DemandTable {
    /// An empty table for `file` (used in messages), under `limits`.
    pub fn new(file: &'static str, limits: Limits) -> Self {
        Self {
            file,
            limits,
            rows: 0,
            first_kind: None,
            series: BTreeMap::new(),
        }
    }

    /// Adds one row; `quantity` may be negative only for connector corrections, which the
    /// caller vouches for.
    pub fn add(
        &mut self,
        place: Place,
        sku: &str,
        period: Period,
        quantity: f64,
    ) -> Result<(), InputError> {
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(InputError::TooManyRows {
                file: self.file,
                place,
                limit: self.limits.max_rows,
            });
        }
        let first = *self.first_kind.get_or_insert(period.kind());
        if first != period.kind() {
            return Err(InputError::MixedPeriods {
                file: self.file,
                place,
                value: period.to_string(),
                kind: period.kind(),
                first,
            });
        }
        let per_sku = match self.series.get_mut(sku) {
            Some(s) => s,
            None => self.series.entry(sku.to_owned()).or_default(),
        };
        *per_sku.entry(period).or_insert(0.0) += quantity;
        Ok(())
    }

    /// Lays each SKU out from its first period to the last period of the whole upload,
    /// gaps as zero (net negative periods, from connector returns, count as zero).
    /// `spacing` is inferred unless given.
    pub fn finish(
        self,
        spacing: Option<Spacing>,
        params: &BTreeMap<String, SkuParams>,
    ) -> Result<(Spacing, Vec<SkuInput>), InputError> {
        let mut all: Vec<Period> = self
            .series
            .values()
            .flat_map(|s| s.keys().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        let Some(&last) = all.last() else {
            return Err(InputError::Empty { file: self.file });
        };
        let spacing = spacing.unwrap_or_else(|| Spacing::infer(&all));
        let mut cells = 0usize;
        for s in self.series.values() {
            if let Some((&first, _)) = s.first_key_value() {
                let len = usize::try_from(spacing.position(first, last)).unwrap_or(usize::MAX);
                cells = cells.saturating_add(len.saturating_add(1));
            }
        }
        if cells > self.limits.max_cells {
            return Err(InputError::TooManyCells {
                cells,
                limit: self.limits.max_cells,
            });
        }
        let mut out = Vec::with_capacity(self.series.len());
        for (sku, rows) in self.series {
            let Some((&first, _)) = rows.first_key_value() else {
                continue;
            };
            let len = spacing.position(first, last) as usize + 1;
            let mut history = vec![0.0; len];
            for (period, q) in rows {
                history[spacing.position(first, period) as usize] += q.max(0.0);
            }
            let params = params.get(&sku).copied().unwrap_or_default();
            out.push(SkuInput {
                first_period: first.to_string(),
                last_period: spacing.advance(first, len as i64 - 1).to_string(),
                sku,
                history,
                params,
            });
        }
        Ok((spacing, out))
    }
}

/// Checks that a file is within the byte cap and is text.
pub(crate) fn text<'a>(
    file: &'static str,
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<&'a str, InputError> {
    if bytes.len() > limits.max_bytes {
        return Err(InputError::TooLarge {
            file,
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| InputError::NotText { file })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Whether a text holds JSON (its first non-blank character opens an array or object).
pub(crate) fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().chars().next(), Some('[' | '{'))
}

/// Maps a serde_json error to [`InputError::Json`].
pub(crate) fn json_error(file: &'static str, e: &serde_json::Error) -> InputError {
    InputError::Json {
        file,
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// Maps a csv error to [`InputError::Csv`].
pub(crate) fn csv_error(file: &'static str, e: &csv::Error) -> InputError {
    let line = e.position().map_or(0, csv::Position::line);
    InputError::Csv {
        file,
        place: Place::Line(line),
        message: match e.kind() {
            csv::ErrorKind::UnequalLengths { .. } => {
                "this row has a different number of fields than the header; quote values that contain the delimiter".to_owned()
            }
            _ => e.to_string(),
        },
    }
}
