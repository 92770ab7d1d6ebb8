//! The seam between implementations and the optimization domain ([`crate::optimize`]).
//! What crosses it is JSON text, as stored: the run's `Options`, one `SkuInput` per SKU,
//! each SKU's recorded forecasts, then its `SkuResult`.
//!
//! The two agents split [`optimize::run_sku`] through its [`Forecaster`] seam: the
//! forecasting agent runs it with a [`Recording`] forecaster (the engine, every call and
//! its prediction kept: the forecast itself and each backtest window), and stores the
//! recordings; the inventory agent runs it again with a [`Replay`] of them, so the
//! expensive part runs once and the policy is computed by the domain's own code, the
//! same as `scf optimize` would.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::optimize::{
    self, Bucket, EngineForecaster, Forecaster, ForecasterError, Format, Limits, Options,
    Overrides, Prediction, SkuInput, SkuResult, Target,
};
use crate::settings::Settings;

/// How a run is asked for, besides its file.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunSpec<'a> {
    /// `csv`, `json`, `sap`, `oracle` or `quickbooks`.
    pub format: &'a str,
    /// Target cycle service level (default 0.95 when no fill rate is given).
    pub service_level: Option<f64>,
    /// Target fill rate.
    pub fill_rate: Option<f64>,
    /// Periods to forecast.
    pub horizon: Option<usize>,
    /// Bucket of connector transactions: `day`, `week` or `month`.
    pub period: Option<&'a str>,
}

/// A parsed upload.
pub struct Parsed {
    /// The run's options (JSON).
    pub options: String,
    /// `(sku, SkuInput JSON)`, sorted by SKU.
    pub skus: Vec<(String, String)>,
}

/// The default target cycle service level.
pub const DEFAULT_SERVICE_LEVEL: f64 = 0.95;

/// Validates an upload: format, enabled connectors, size limits, target and horizon.
pub fn parse(spec: &RunSpec<'_>, body: &[u8], settings: &Settings) -> Result<Parsed, String> {
    let format: Format = spec
        .format
        .parse()
        .map_err(|e: optimize::InputError| e.to_string())?;
    let target = match (spec.service_level, spec.fill_rate) {
        (Some(_), Some(_)) => return Err("give service_level or fill_rate, not both".to_owned()),
        (_, Some(beta)) => Target::fill_rate(beta),
        (alpha, None) => Target::cycle_service_level(alpha.unwrap_or(DEFAULT_SERVICE_LEVEL)),
    }
    .map_err(|e| e.to_string())?;
    let bucket: Bucket = match spec.period {
        Some(p) => p.parse()?,
        None => Bucket::default(),
    };
    let upload = optimize::Upload {
        format,
        demand: body,
        parameters: None,
        bucket,
        target,
        overrides: Overrides {
            horizon: spec.horizon,
            ..Overrides::default()
        },
    };
    let limits = Limits {
        max_bytes: settings.max_upload_bytes,
        ..Limits::default()
    };
    let request = optimize::parse_upload(&upload, &settings.connectors, &limits)
        .map_err(|e| e.to_string())?;
    let skus = request
        .skus
        .iter()
        .map(|s| Ok((s.sku.clone(), to_json(s)?)))
        .collect::<Result<_, String>>()?;
    Ok(Parsed {
        options: to_json(&request.options)?,
        skus,
    })
}

/// The accuracy floor of a run's options.
pub fn accuracy_floor(options: &str) -> Result<f64, String> {
    Ok(from_json::<Options>(options)?.backtest.accuracy_floor)
}

/// A forecaster call and its prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Recorded {
    history_len: usize,
    horizon: usize,
    season_length: usize,
    #[serde(flatten)]
    prediction: Prediction,
}

/// The engine forecaster, recording each call.
#[derive(Default)]
pub struct Recording(Mutex<Vec<Recorded>>);

impl Forecaster for Recording {
    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        season_length: usize,
    ) -> Result<Prediction, ForecasterError> {
        let p = EngineForecaster.forecast(history, horizon, season_length)?;
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Recorded {
                history_len: history.len(),
                horizon,
                season_length,
                prediction: p.clone(),
            });
        Ok(p)
    }
}

/// Recorded predictions, served again.
pub struct Replay(Vec<Recorded>);

impl Forecaster for Replay {
    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        season_length: usize,
    ) -> Result<Prediction, ForecasterError> {
        self.0
            .iter()
            .find(|r| {
                (r.history_len, r.horizon, r.season_length)
                    == (history.len(), horizon, season_length)
            })
            .map(|r| r.prediction.clone())
            .ok_or_else(|| {
                ForecasterError(format!(
                    "no recorded forecast for {} periods of history (horizon {horizon}); the forecasting job must run first",
                    history.len()
                ))
            })
    }
}

/// The forecasting agent's work on one SKU: every forecast its run needs (JSON).
pub fn forecast(options: &str, sku: &str) -> Result<String, String> {
    let options: Options = from_json(options)?;
    let sku: SkuInput = from_json(sku)?;
    let recording = Recording::default();
    optimize::run_sku(&sku, &options, &recording).map_err(|e| e.to_string())?;
    to_json(&recording.0.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// The inventory agent's work on one SKU: its result (JSON) from the recorded forecasts.
pub fn policy(options: &str, sku: &str, forecasts: &str) -> Result<String, String> {
    let options: Options = from_json(options)?;
    let sku: SkuInput = from_json(sku)?;
    let replay = Replay(from_json(forecasts)?);
    to_json(&optimize::run_sku(&sku, &options, &replay).map_err(|e| e.to_string())?)
}

/// Results from their JSON.
pub fn results(stored: &[&str]) -> Result<Vec<SkuResult>, String> {
    stored.iter().map(|s| from_json(s)).collect()
}

/// A run's summary: pooled accuracy, its floor, and whether it met it.
pub fn summarize(results: &[SkuResult], floor: f64) -> optimize::Summary {
    optimize::summarize(results, floor)
}

/// Results as CSV, as `scf optimize` writes them.
pub fn to_csv(results: &[SkuResult]) -> Result<String, String> {
    optimize::to_csv(results).map_err(|e| e.to_string())
}

/// JSON text of a value.
pub fn to_json<T: Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| format!("cannot encode: {e}"))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_str(s).map_err(|e| format!("stored data does not decode: {e}"))
}
