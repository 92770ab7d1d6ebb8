//! What a run reports: the per-SKU results as CSV (one row per SKU, the forecast path in
//! `forecast_1..forecast_H` columns) and the run [`Summary`] with its pooled accuracy and
//! success flag. JSON is serde's rendering of the same types.

use super::backtest::Score;
use super::result::SkuResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcome of a whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// SKUs optimized.
    pub skus: usize,
    /// Pooled backtest accuracy, 1 − WAPE over every scored SKU (`None`: nothing scored).
    pub accuracy: Option<f64>,
    /// The floor it was held to.
    pub accuracy_floor: f64,
    /// The run completed and its accuracy met the floor.
    pub success: bool,
    /// SKUs per demand class.
    pub demand_classes: BTreeMap<String, usize>,
}

/// Pools the results' backtests into the run's accuracy and success.
pub fn summarize(results: &[SkuResult], accuracy_floor: f64) -> Summary {
    let pooled = results
        .iter()
        .fold(Score::default(), |acc, r| acc + r.backtest);
    let accuracy = pooled.accuracy().map(|a| (a * 1e4).round() / 1e4);
    let mut demand_classes = BTreeMap::new();
    for r in results {
        *demand_classes
            .entry(r.demand_class.name().to_owned())
            .or_insert(0) += 1;
    }
    Summary {
        skus: results.len(),
        accuracy,
        accuracy_floor,
        success: accuracy.is_some_and(|a| a >= accuracy_floor),
        demand_classes,
    }
}

/// The CSV columns before the forecast path.
const COLUMNS: [&str; 19] = [
    "sku",
    "demand_class",
    "model",
    "history_periods",
    "last_period",
    "target",
    "target_value",
    "lead_time_mean",
    "lead_time_sd",
    "mean_demand",
    "error_sd",
    "accuracy",
    "safety_stock",
    "reorder_point",
    "eoq",
    "order_quantity",
    "review_period",
    "periodic_safety_stock",
    "order_up_to",
];

/// Results could not be written as CSV (a bug: they are plain values written to memory).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the results as CSV (a bug): {0}")]
pub struct CsvError(String);

/// The results as CSV, sorted by SKU, numbers in a fixed format, free text (the SKU)
/// neutralised against spreadsheet formulas.
pub fn to_csv(results: &[SkuResult]) -> Result<String, CsvError> {
    let fail = |e: &dyn std::fmt::Display| CsvError(e.to_string());
    let mut sorted: Vec<&SkuResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
    let horizon = sorted.iter().map(|r| r.forecast.len()).max().unwrap_or(0);
    let mut out = csv::Writer::from_writer(Vec::new());
    let forecast_columns = (1..=horizon).map(|h| format!("forecast_{h}"));
    let header: Vec<String> = COLUMNS
        .map(str::to_owned)
        .into_iter()
        .chain(forecast_columns)
        .collect();
    out.write_record(&header).map_err(|e| fail(&e))?;
    for r in sorted {
        out.write_record(row(r, horizon)).map_err(|e| fail(&e))?;
    }
    let bytes = out.into_inner().map_err(|e| fail(e.error()))?;
    String::from_utf8(bytes).map_err(|e| fail(&e))
}

/// One result's fields, in [`COLUMNS`] order, then `horizon` forecast fields.
fn row(r: &SkuResult, horizon: usize) -> Vec<String> {
    let mut fields = vec![
        neutralise(&r.sku),
        r.demand_class.name().to_owned(),
        r.model.clone(),
        r.history_periods.to_string(),
        r.last_period.clone(),
        r.target.kind().to_owned(),
        number(r.target.value()),
        number(r.params.lead_time_mean),
        number(r.params.lead_time_sd),
        number(r.mean_demand),
        number(r.error_sd),
        r.accuracy.map(number).unwrap_or_default(),
        number(r.safety_stock),
        number(r.reorder_point),
        number(r.eoq),
        number(r.order_quantity),
        r.review_period.to_string(),
        number(r.periodic_safety_stock),
        number(r.order_up_to),
    ];
    fields.extend((0..horizon).map(|h| r.forecast.get(h).map(|v| number(*v)).unwrap_or_default()));
    fields
}

/// A number with at most 4 decimals and no trailing zeros (`12.5`, `3`, `-0.25`).
fn number(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// Free text a spreadsheet would read as a formula (a leading `=`, `+`, `-`, `@`, tab or
/// carriage return) gets a leading `'`, as OWASP's CSV-injection guidance recommends, so
/// it opens as text.
fn neutralise(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::forecaster::DemandClass;
    use crate::optimize::input::{SkuParams, Target};

    #[test]
    fn numbers_have_a_fixed_shape() {
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-0.00001), "0");
        assert_eq!(number(1.23456), "1.2346");
    }

    fn result(sku: &str, model: &str, forecast: &[f64]) -> SkuResult {
        SkuResult {
            sku: sku.to_owned(),
            demand_class: DemandClass::Smooth,
            model: model.to_owned(),
            history_periods: 24,
            last_period: "2024-12-01".to_owned(),
            forecast: forecast.to_vec(),
            mean_demand: 10.0,
            error_sd: 2.5,
            backtest: Score::default(),
            accuracy: None,
            target: Target::CycleServiceLevel(0.95),
            params: SkuParams::default(),
            safety_stock: 4.0,
            reorder_point: 24.0,
            eoq: 31.6,
            order_quantity: 32.0,
            review_period: 1,
            periodic_safety_stock: 5.0,
            order_up_to: 26.0,
        }
    }

    fn read(csv: &str) -> Vec<Vec<String>> {
        csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(|r| r.expect("record").iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn skus_that_a_spreadsheet_would_run_as_formulas_open_as_text() {
        let hostile = [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\tx",
            "\rx",
        ];
        let results: Vec<SkuResult> = hostile.iter().map(|s| result(s, "ets", &[1.0])).collect();
        let rows = read(&to_csv(&results).expect("csv"));
        let mut skus: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        skus.sort_unstable();
        let mut expected: Vec<String> = hostile.iter().map(|s| format!("'{s}")).collect();
        expected.sort_unstable();
        assert_eq!(skus, expected);
    }

    #[test]
    fn fields_are_quoted_and_the_forecast_path_is_padded() {
        let results = [
            result("b,1", "Ensemble(mean: \"x\")", &[1.25, 2.0]),
            result("SKU-1", "ets", &[3.0]),
        ];
        let csv = to_csv(&results).expect("csv");
        let header = csv.lines().next().expect("header");
        assert!(header.starts_with("sku,demand_class,model,"), "{header}");
        assert!(
            header.ends_with(",order_up_to,forecast_1,forecast_2"),
            "{header}"
        );
        assert!(
            csv.contains("\"b,1\",smooth,\"Ensemble(mean: \"\"x\"\")\""),
            "{csv}"
        );
        let rows = read(&csv);
        assert_eq!(rows[0][0], "SKU-1", "sorted by SKU");
        assert_eq!(rows[1][2], "Ensemble(mean: \"x\")");
        assert_eq!(rows[0][COLUMNS.len()..], ["3", ""]);
        assert_eq!(rows[1][COLUMNS.len()..], ["1.25", "2"]);
    }
}
