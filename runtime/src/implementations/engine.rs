//! The seam between implementations and the optimization domain: parse an upload into
//! per-SKU inputs, forecast one SKU, compute one SKU's policy, summarize, and render
//! results. Everything crossing it is JSON text, as stored per SKU.
//!
//! PLACEHOLDER until `crate::optimize` lands: a last-value forecaster on `sku,period,quantity` CSV.

use serde_json::{Value, json};

use crate::settings::Settings;
use crate::tenancy::implementations::SkuRow;

/// An implementation's summary.
pub struct Summary {
    /// 1 − WAPE of the backtest.
    pub accuracy: Option<f64>,
    /// The floor it had to reach.
    pub floor: f64,
    /// Summary JSON.
    pub json: String,
}

/// Parses an upload into `(sku, input JSON)` in a stable order.
pub fn parse(
    format: &str,
    body: &[u8],
    _settings: &Settings,
) -> Result<Vec<(String, String)>, String> {
    if format != "csv" {
        return Err(format!("unsupported format {format}"));
    }
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8".to_owned())?;
    let mut series: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let [sku, _period, qty] = cols[..] else {
            return Err(format!("line {}: expected sku,period,quantity", n + 1));
        };
        let q: f64 = qty
            .trim()
            .parse()
            .map_err(|_| format!("line {}: bad quantity", n + 1))?;
        series.entry(sku.to_owned()).or_default().push(q);
    }
    if series.is_empty() {
        return Err("no rows".to_owned());
    }
    Ok(series
        .into_iter()
        .map(|(sku, h)| (sku.clone(), json!({"sku": sku, "history": h}).to_string()))
        .collect())
}

fn history(input: &str) -> Result<Vec<f64>, String> {
    let v: Value = serde_json::from_str(input).map_err(|e| e.to_string())?;
    Ok(v["history"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default())
}

/// Forecasts one SKU.
pub fn forecast(input: &str) -> Result<String, String> {
    let h = history(input)?;
    let last = *h.last().ok_or("empty history")?;
    let prev = if h.len() > 1 { h[h.len() - 2] } else { last };
    Ok(
        json!({"mean": [last, last, last], "abs_error": (last - prev).abs(), "actual": last.abs()})
            .to_string(),
    )
}

/// One SKU's policy from its input and forecast.
pub fn policy(_input: &str, forecast: &str) -> Result<String, String> {
    let f: Value = serde_json::from_str(forecast).map_err(|e| e.to_string())?;
    let mean = f["mean"][0].as_f64().unwrap_or(0.0);
    Ok(json!({"reorder_point": mean * 2.0}).to_string())
}

/// The summary of finished rows.
pub fn summarize(rows: &[SkuRow]) -> Result<Summary, String> {
    let (mut err, mut act) = (0.0, 0.0);
    for r in rows {
        let f: Value = serde_json::from_str(r.forecast.as_deref().unwrap_or("{}"))
            .map_err(|e| e.to_string())?;
        err += f["abs_error"].as_f64().unwrap_or(0.0);
        act += f["actual"].as_f64().unwrap_or(0.0);
    }
    let accuracy = (act > 0.0).then(|| 1.0 - err / act);
    Ok(Summary {
        accuracy,
        floor: 0.0,
        json: json!({"skus": rows.len(), "accuracy": accuracy}).to_string(),
    })
}

/// Results as JSON.
pub fn results_json(rows: &[SkuRow]) -> Value {
    Value::Array(rows.iter().map(|r| json!({"sku": r.sku, "forecast": r.forecast.as_deref().and_then(|f| serde_json::from_str::<Value>(f).ok()), "policy": r.policy.as_deref().and_then(|f| serde_json::from_str::<Value>(f).ok())})).collect())
}

/// Results as CSV.
pub fn results_csv(rows: &[SkuRow]) -> String {
    let mut out = String::from("sku,reorder_point\n");
    for r in rows {
        let p: Value =
            serde_json::from_str(r.policy.as_deref().unwrap_or("{}")).unwrap_or_default();
        out.push_str(&format!("{},{}\n", r.sku, p["reorder_point"]));
    }
    out
}
