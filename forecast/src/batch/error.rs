//! What went wrong in a batch run, with the input line it happened on.

use crate::ForecastError;

/// What went wrong in a batch run; input errors name the line (1-based, header = 1).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Malformed CSV.
    #[error("line {line}: {source}")]
    Csv {
        /// Line number.
        line: u64,
        /// Parser error.
        source: csv::Error,
    },
    /// A required column is absent from the header.
    #[error("line 1: the header has no `{0}` column (expected unique_id,ds,y)")]
    MissingColumn(&'static str),
    /// A value that does not parse.
    #[error("line {line}: `{value}` in column {column} is not {expected}")]
    BadValue {
        /// Line number.
        line: u64,
        /// Column name.
        column: &'static str,
        /// The text found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// `ds` mixes integers and dates.
    #[error("line {line}: ds `{value}` is not of the same kind (integer or date) as the first row")]
    MixedIndex {
        /// Line number.
        line: u64,
        /// The text found.
        value: String,
    },
    /// The same `(unique_id, ds)` twice.
    #[error("line {line}: series `{id}` already has a value at ds {ds}")]
    Duplicate {
        /// Line number.
        line: u64,
        /// Series id.
        id: String,
        /// The repeated index.
        ds: String,
    },
    /// `ds` of a series is not evenly spaced.
    #[error(
        "line {line}: series `{id}` is not evenly spaced at ds {ds} (fill gaps with zeros first)"
    )]
    Irregular {
        /// Line number of the first offending row.
        line: u64,
        /// Series id.
        id: String,
        /// The offending index.
        ds: String,
    },
    /// Invalid options.
    #[error("invalid option: {0}")]
    Options(String),
    /// A series that cannot be forecast.
    #[error("series `{id}`: {source}")]
    Forecast {
        /// Series id.
        id: String,
        /// Why.
        source: ForecastError,
    },
    /// Writing the output failed.
    #[error("writing the forecasts: {0}")]
    Write(#[from] csv::Error),
}
