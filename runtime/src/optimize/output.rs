//! What a run reports: the per-SKU results as CSV (one row per SKU, the forecast path in
//! `forecast_1..forecast_H` columns) and the run [`Summary`] with its pooled accuracy and
//! success flag. JSON is serde's rendering of the same types.

use super::backtest::Score;
use super::result::SkuResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
const COLUMNS: &str = "sku,demand_class,model,history_periods,last_period,target,target_value,\
lead_time_mean,lead_time_sd,mean_demand,error_sd,accuracy,safety_stock,reorder_point,eoq,\
order_quantity,review_period,periodic_safety_stock,order_up_to";

/// The results as CSV, sorted by SKU, numbers in a fixed format.
pub fn to_csv(results: &[SkuResult]) -> String {
    let mut sorted: Vec<&SkuResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
    let horizon = sorted.iter().map(|r| r.forecast.len()).max().unwrap_or(0);
    let mut out = String::from(COLUMNS);
    for h in 1..=horizon {
        let _ = write!(out, ",forecast_{h}");
    }
    out.push('\n');
    for r in sorted {
        let fields = [
            quote(&r.sku),
            r.demand_class.name().to_owned(),
            quote(&r.model),
            r.history_periods.to_string(),
            quote(&r.last_period),
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
        out.push_str(&fields.join(","));
        for h in 0..horizon {
            out.push(',');
            if let Some(v) = r.forecast.get(h) {
                out.push_str(&number(*v));
            }
        }
        out.push('\n');
    }
    out
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

/// A CSV field, quoted when it holds a delimiter, quote or line break.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_a_fixed_shape() {
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-0.00001), "0");
        assert_eq!(number(1.23456), "1.2346");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(
            quote("Ensemble(mean: \"x\")"),
            "\"Ensemble(mean: \"\"x\"\")\""
        );
    }
}
