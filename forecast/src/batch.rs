//! Batch forecasting over CSV in the long format `unique_id,ds,y`, the engine half of
//! `scf forecast` (the binary owns arguments and files; this module only sees a reader
//! and a writer). `ds` is an integer index or an ISO date (`YYYY-MM-DD`). The output has
//! statsforecast's layout: `unique_id,ds,<model>,<model>-lo-<level>…,<model>-hi-<level>…`,
//! series sorted by id, horizons in order.

mod dates;
mod error;

pub use error::BatchError;

use crate::{Combine, Method, Spec, forecast_many};
use dates::{Index, Stamp};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt::Write as _;
use std::io::{Read, Write};

/// Options of one batch run.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    /// Periods to forecast.
    pub horizon: usize,
    /// Periods per seasonal cycle (1 for none).
    pub season_length: usize,
    /// Method.
    pub method: Method,
    /// Prediction-interval levels in percent, e.g. `[80.0, 95.0]`.
    pub levels: Vec<f64>,
    /// How the ensemble combines its members.
    pub combine: Combine,
}

/// Counts of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Series forecast.
    pub series: usize,
    /// Rows written (series × horizon).
    pub rows: usize,
}

/// One input row kept with its line for error messages.
struct Row {
    line: u64,
    ds: Stamp,
    y: f64,
}

/// Reads the long CSV, forecasts every series, and writes the forecasts.
pub fn run(
    input: impl Read,
    output: impl Write,
    options: &BatchOptions,
) -> Result<Summary, BatchError> {
    validate(options)?;
    let series = read_series(input)?;
    let mut ids = Vec::with_capacity(series.len());
    let mut values = Vec::with_capacity(series.len());
    let mut indices = Vec::with_capacity(series.len());
    for (id, mut rows) in series {
        rows.sort_by(|a, b| a.ds.cmp(&b.ds).then(a.line.cmp(&b.line)));
        if let Some(w) = rows.windows(2).find(|w| w[0].ds == w[1].ds) {
            return Err(BatchError::Duplicate {
                line: w[1].line,
                id,
                ds: w[1].ds.to_string(),
            });
        }
        indices.push(Index::infer(
            &id,
            &rows.iter().map(|r| (r.line, r.ds)).collect::<Vec<_>>(),
        )?);
        values.push(rows.iter().map(|r| r.y).collect::<Vec<f64>>());
        ids.push(id);
    }
    let spec = Spec {
        horizon: options.horizon,
        season_length: options.season_length,
        method: options.method,
        combine: options.combine,
    };
    let results = forecast_many(&values, &spec);
    let mut writer = csv::Writer::from_writer(output);
    writer.write_record(header(options))?;
    let mut rows = 0;
    let mut cell = String::new();
    for ((id, index), result) in ids.iter().zip(&indices).zip(results) {
        let f = result.map_err(|source| BatchError::Forecast {
            id: id.clone(),
            source,
        })?;
        let bands: Vec<(Vec<f64>, Vec<f64>)> =
            options.levels.iter().map(|&l| f.interval(l)).collect();
        for k in 0..options.horizon {
            writer.write_field(id)?;
            writer.write_field(index.future(k + 1))?;
            let values = std::iter::once(f.mean[k])
                .chain(bands.iter().rev().map(|(lo, _)| lo[k]))
                .chain(bands.iter().map(|(_, hi)| hi[k]));
            for v in values {
                // Formatted as `to_string` does, into one buffer for the whole file (writing
                // into a `String` cannot fail).
                cell.clear();
                let _ = write!(cell, "{v}");
                writer.write_field(&cell)?;
            }
            writer.write_record(None::<&[u8]>)?;
            rows += 1;
        }
    }
    writer.flush().map_err(|e| BatchError::Write(e.into()))?;
    Ok(Summary {
        series: ids.len(),
        rows,
    })
}

fn validate(options: &BatchOptions) -> Result<(), BatchError> {
    if options.horizon == 0 {
        return Err(BatchError::Options("the horizon must be at least 1".into()));
    }
    if options.season_length == 0 {
        return Err(BatchError::Options(
            "the season length must be at least 1".into(),
        ));
    }
    if let Some(l) = options.levels.iter().find(|l| !(**l > 0.0 && **l < 100.0)) {
        return Err(BatchError::Options(format!(
            "level {l} is not strictly between 0 and 100"
        )));
    }
    Ok(())
}

/// Column names; levels are sorted so the layout is stable.
fn header(options: &BatchOptions) -> Vec<String> {
    let name = options.method.to_string();
    let mut cols = vec!["unique_id".to_owned(), "ds".to_owned(), name.clone()];
    cols.extend(
        options
            .levels
            .iter()
            .rev()
            .map(|l| format!("{name}-lo-{l}")),
    );
    cols.extend(options.levels.iter().map(|l| format!("{name}-hi-{l}")));
    cols
}

fn read_series(input: impl Read) -> Result<BTreeMap<String, Vec<Row>>, BatchError> {
    // Fields are trimmed as they are read (`str::trim`, as `csv::Trim::All` does), into
    // one record for the whole file: the reader's own trimming copies every record.
    let mut reader = csv::Reader::from_reader(input);
    let headers = reader
        .headers()
        .map_err(|source| BatchError::Csv { line: 1, source })?
        .clone();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(BatchError::MissingColumn(name))
    };
    let (id_col, ds_col, y_col) = (column("unique_id")?, column("ds")?, column("y")?);
    let mut series: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    // The series being read and its rows so far.
    let mut current: Option<(String, Vec<Row>)> = None;
    let mut first_kind: Option<bool> = None;
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|source| BatchError::Csv {
            line: source.position().map_or(0, |p| p.line()),
            source,
        })?
    {
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let ds_text = field(ds_col);
        let ds = Stamp::parse(ds_text).ok_or_else(|| BatchError::BadValue {
            line,
            column: "ds",
            value: ds_text.to_owned(),
            expected: "an integer or a YYYY-MM-DD date",
        })?;
        if *first_kind.get_or_insert(ds.is_date()) != ds.is_date() {
            return Err(BatchError::MixedIndex {
                line,
                value: ds_text.to_owned(),
            });
        }
        let y_text = field(y_col);
        let y = y_text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| BatchError::BadValue {
                line,
                column: "y",
                value: y_text.to_owned(),
                expected: "a finite number",
            })?;
        let id = field(id_col);
        if current.as_ref().is_none_or(|(last, _)| last != id) {
            file(&mut series, current.replace((id.to_owned(), Vec::new())));
        }
        if let Some((_, rows)) = &mut current {
            rows.push(Row { line, ds, y });
        }
    }
    file(&mut series, current);
    Ok(series)
}

/// Files a run of consecutive rows of one series under its id, after any rows of it
/// filed before: the rows of a series usually come together, and the map is then searched
/// once per series rather than once per row.
fn file(series: &mut BTreeMap<String, Vec<Row>>, run: Option<(String, Vec<Row>)>) {
    if let Some((id, mut rows)) = run {
        match series.entry(id) {
            Entry::Vacant(slot) => {
                slot.insert(rows);
            }
            Entry::Occupied(mut slot) => slot.get_mut().append(&mut rows),
        }
    }
}

#[cfg(test)]
mod tests;
