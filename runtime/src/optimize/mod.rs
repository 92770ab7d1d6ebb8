//! One implementation run's computation, pure: demand history in, a per-SKU forecast and
//! inventory policy out. No queue, no HTTP: the agents and `/v1/implementations` call
//! this API, and `scf optimize` runs it in batch.
//!
//! # API
//! - [`parse_upload`]`(&Upload, enabled_connectors: &[String], &Limits) -> Result<Request,
//!   InputError>`: reads demand in [`Format::Csv`] / [`Format::Json`] (long format
//!   `sku,period,quantity`) or a connector export ([`Format::Connector`]; refused unless
//!   its name is in `enabled_connectors`, i.e. `settings.connectors`), plus an optional
//!   parameters file. The [`Request`] holds the SKUs (sorted by id, gap-free histories)
//!   and the run's [`Options`] (target, horizon, review period, season, backtest).
//! - [`run_sku`]`(&SkuInput, &Options, &dyn Forecaster) -> Result<SkuResult,
//!   OptimizeError>`: one SKU, pure and deterministic, so a redelivered job recomputes
//!   the same result. [`EngineForecaster`] is the default [`Forecaster`].
//! - [`run_request`]`(&Request, &dyn Forecaster) -> Vec<Result<SkuResult, OptimizeError>>`:
//!   every SKU in parallel, in request order (batch mode).
//! - [`summarize`]`(&[SkuResult], accuracy_floor) -> Summary`: pooled accuracy
//!   (1 − WAPE of the rolling-origin backtest) and the success flag.
//! - [`to_csv`]`(&[SkuResult]) -> Result<String, CsvError>` (the `csv` writer, SKUs
//!   neutralised against spreadsheet formulas); JSON through serde ([`SkuResult`] and
//!   [`Summary`] are `Serialize + Deserialize`). Results sorted by SKU, numbers rounded
//!   to 4 decimals, policy levels whole units.
//!
//! # Modules
//! [`input`] and [`period`] validate and lay out the upload (with [`long`] and
//! [`connectors`] as readers); [`forecaster`] is the seam to `scf-forecast`;
//! [`inventory`] holds the formulas; [`backtest`] scores accuracy; [`simulate`] replays
//! demand through a policy; [`result`] is one SKU's result and [`output`] writes them.

pub mod backtest;
pub mod connectors;
pub mod forecaster;
pub mod input;
pub mod inventory;
pub mod long;
pub mod output;
pub mod period;
pub mod result;
pub mod simulate;

pub use backtest::{BacktestOptions, Score};
pub use connectors::{Connector, ensure_enabled};
pub use forecaster::{DemandClass, EngineForecaster, Forecaster, ForecasterError, Prediction};
pub use input::{InputError, Limits, SkuInput, SkuParams, Target};
pub use output::{CsvError, Summary, summarize, to_csv};
pub use period::{Bucket, Spacing};
pub use result::SkuResult;

use input::DemandTable;
use inventory::{Costs, DemandModel};
use serde::{Deserialize, Serialize};

/// The layout of an uploaded demand file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Long-format CSV `sku,period,quantity`.
    Csv,
    /// Long-format JSON records, or `{"demand": [...], "parameters": [...]}`.
    Json,
    /// A connector's export file.
    #[serde(untagged)]
    Connector(Connector),
}

impl Format {
    /// Every format name: csv, json, then the connectors.
    pub const NAMES: [&'static str; 5] = ["csv", "json", "sap", "oracle", "quickbooks"];
}

impl std::str::FromStr for Format {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => other.parse().map(Self::Connector).map_err(|_| {
                InputError::Option(format!(
                    "unknown format `{s}`; expected one of {}",
                    Self::NAMES.join(", ")
                ))
            }),
        }
    }
}

/// Settings of a run that the upload does not carry; `None` takes the default named.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Overrides {
    /// Periods to forecast (default 12).
    pub horizon: Option<usize>,
    /// Review period `R` of the (R,S) policy, in periods (default 1).
    pub review_period: Option<usize>,
    /// Periods per season (default from the spacing: 12 months, 52 weeks, 7 days, else 1).
    pub season_length: Option<usize>,
    /// Periods per year, for yearly holding costs (default from the spacing; 52 for
    /// integer periods).
    pub periods_per_year: Option<f64>,
    /// Backtest origins (default 3).
    pub backtest_windows: Option<usize>,
    /// Accuracy floor for success (default 0.5).
    pub accuracy_floor: Option<f64>,
}

/// An upload as the API or the CLI receives it.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// Layout of `demand`.
    pub format: Format,
    /// The demand file.
    pub demand: &'a [u8],
    /// The per-SKU parameters file (CSV or JSON), if any.
    pub parameters: Option<&'a [u8]>,
    /// Bucket of connector transactions (ignored for long formats).
    pub bucket: Bucket,
    /// The service target.
    pub target: Target,
    /// Everything else.
    pub overrides: Overrides,
}

/// The run-wide settings every SKU job needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Service target.
    pub target: Target,
    /// Periods to forecast.
    pub horizon: usize,
    /// Review period of the (R,S) policy.
    pub review_period: usize,
    /// Periods per season.
    pub season_length: usize,
    /// Periods per year.
    pub periods_per_year: f64,
    /// Backtest settings.
    pub backtest: BacktestOptions,
}

impl Options {
    /// Defaults for a spacing, with `overrides` applied and checked.
    pub fn new(target: Target, spacing: Spacing, o: &Overrides) -> Result<Self, InputError> {
        let bad = |what: &str, fix: &str| Err(InputError::Option(format!("{what}: {fix}")));
        let defaults = BacktestOptions::default();
        let options = Self {
            target: target.validated()?,
            horizon: o.horizon.unwrap_or(12),
            review_period: o.review_period.unwrap_or(1),
            season_length: o.season_length.unwrap_or_else(|| spacing.season_length()),
            periods_per_year: o
                .periods_per_year
                .unwrap_or_else(|| spacing.periods_per_year()),
            backtest: BacktestOptions {
                windows: o.backtest_windows.unwrap_or(defaults.windows),
                accuracy_floor: o.accuracy_floor.unwrap_or(defaults.accuracy_floor),
            },
        };
        if !(1..=1000).contains(&options.horizon) {
            return bad("horizon", "give 1 to 1000 periods");
        }
        if !(1..=1000).contains(&options.review_period) {
            return bad("review period", "give 1 to 1000 periods");
        }
        if !(1..=1000).contains(&options.season_length) {
            return bad("season length", "give 1 (none) to 1000 periods");
        }
        if !(options.periods_per_year > 0.0 && options.periods_per_year <= 366.0 * 24.0) {
            return bad("periods per year", "give a number > 0, e.g. 52 for weeks");
        }
        if options.backtest.windows > 100 {
            return bad("backtest windows", "give 0 to 100");
        }
        if options.backtest.accuracy_floor.is_nan() || options.backtest.accuracy_floor > 1.0 {
            return bad("accuracy floor", "give a number ≤ 1, e.g. 0.5");
        }
        Ok(options)
    }
}

/// A validated run: every SKU and the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// SKUs sorted by id.
    pub skus: Vec<SkuInput>,
    /// How the periods are spaced.
    pub spacing: Spacing,
    /// Run-wide settings.
    pub options: Options,
}

/// Validates an upload into a [`Request`]. Connector formats are refused unless named in
/// `enabled_connectors` (the settings' `connectors`).
pub fn parse_upload(
    upload: &Upload<'_>,
    enabled_connectors: &[String],
    limits: &Limits,
) -> Result<Request, InputError> {
    let text = input::text("demand", upload.demand, limits)?;
    let mut table = DemandTable::new("demand", *limits);
    let (embedded, forced) = match upload.format {
        Format::Csv => (long::read_demand(text, false, &mut table)?, None),
        Format::Json => (long::read_demand(text, true, &mut table)?, None),
        Format::Connector(c) => {
            ensure_enabled(c, enabled_connectors)?;
            connectors::import(c, text, upload.bucket, &mut table)?;
            (Default::default(), Some(upload.bucket.spacing()))
        }
    };
    let params = match upload.parameters {
        Some(bytes) => long::read_params(input::text("parameters", bytes, limits)?)?,
        None => embedded,
    };
    let (spacing, skus) = table.finish(forced, &params)?;
    let options = Options::new(upload.target, spacing, &upload.overrides)?;
    Ok(Request {
        skus,
        spacing,
        options,
    })
}

/// Why one SKU could not be optimized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    /// The forecaster failed.
    #[error("SKU `{sku}`: the forecast failed: {source}")]
    Forecast {
        /// The SKU.
        sku: String,
        /// Why.
        source: ForecasterError,
    },
    /// No history to work from.
    #[error("SKU `{sku}` has no demand history; give it at least one period")]
    EmptyHistory {
        /// The SKU.
        sku: String,
    },
}

/// Forecasts one SKU, backtests it, and computes its (s,Q) and (R,S) policies.
pub fn run_sku(
    sku: &SkuInput,
    options: &Options,
    forecaster: &dyn Forecaster,
) -> Result<SkuResult, OptimizeError> {
    if sku.history.is_empty() {
        return Err(OptimizeError::EmptyHistory {
            sku: sku.sku.clone(),
        });
    }
    let failed = |source| OptimizeError::Forecast {
        sku: sku.sku.clone(),
        source,
    };
    let p = &sku.params;
    let review = options.review_period as f64;
    let protection = ((review + p.lead_time_mean).ceil() as usize).max(1);
    let prediction = forecaster
        .forecast(
            &sku.history,
            options.horizon.max(protection),
            options.season_length,
        )
        .map_err(failed)?;
    let score = backtest::backtest(
        &sku.history,
        options.horizon,
        options.season_length,
        options.backtest.windows,
        forecaster,
    )
    .map_err(failed)?;
    let mean_over = |k: usize| {
        let k = k.min(prediction.mean.len()).max(1);
        prediction.mean.iter().take(k).sum::<f64>() / k as f64
    };
    let demand = DemandModel {
        mean: mean_over(protection),
        error_sd: prediction.error_sd,
        lead_time_mean: p.lead_time_mean,
        lead_time_sd: p.lead_time_sd,
    };
    let costs = Costs {
        ordering_cost: p.ordering_cost,
        holding_per_period: p.unit_cost * p.holding_cost_rate / options.periods_per_year,
        moq: p.moq,
    };
    // Orders are sized for the horizon's average demand, not just the next periods'.
    let (eoq, order_quantity) = inventory::order_quantity(&costs, mean_over(options.horizon));
    let sq = inventory::reorder_policy(
        &demand,
        options.target,
        demand.per_period_undershoot(),
        order_quantity,
    );
    let rs = inventory::order_up_to_policy(&demand, options.target, review);
    Ok(SkuResult {
        sku: sku.sku.clone(),
        demand_class: DemandClass::of(&sku.history),
        model: prediction.model.clone(),
        history_periods: sku.history.len(),
        last_period: sku.last_period.clone(),
        forecast: prediction
            .mean
            .iter()
            .take(options.horizon)
            .map(|v| round4(*v))
            .collect(),
        mean_demand: round4(demand.mean),
        error_sd: round4(demand.error_sd),
        backtest: score,
        accuracy: score.accuracy().map(round4),
        target: options.target,
        params: sku.params,
        safety_stock: round4(sq.safety_stock),
        reorder_point: whole(sq.reorder_point),
        eoq: round4(eoq),
        order_quantity,
        review_period: options.review_period,
        periodic_safety_stock: round4(rs.safety_stock),
        order_up_to: whole(rs.order_up_to),
    })
}

/// Runs every SKU of a request in parallel (rayon); results keep the request's SKU order
/// and do not depend on the thread count.
pub fn run_request(
    request: &Request,
    forecaster: &dyn Forecaster,
) -> Vec<Result<SkuResult, OptimizeError>> {
    use rayon::prelude::*;
    request
        .skus
        .par_iter()
        .map(|sku| run_sku(sku, &request.options, forecaster))
        .collect()
}

/// Rounds to 4 decimals, so JSON and CSV carry the same stable numbers.
fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// A stock level in whole units: rounded up (tiny float noise aside), never negative.
fn whole(v: f64) -> f64 {
    (v - 1e-9).ceil().max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::new(
            Target::CycleServiceLevel(0.95),
            Spacing::Index { step: 1 },
            &Overrides::default(),
        )
        .expect("options")
    }

    fn sku(history: &[f64]) -> SkuInput {
        SkuInput {
            sku: "x".into(),
            first_period: "1".into(),
            last_period: history.len().to_string(),
            history: history.to_vec(),
            params: SkuParams::default(),
        }
    }

    #[test]
    fn degenerate_histories_give_finite_whole_policies() {
        for history in [&[0.0; 30][..], &[5.0], &[3.0, 0.0], &[7.0; 40]] {
            let r = run_sku(&sku(history), &options(), &EngineForecaster).expect("run");
            for v in [
                r.reorder_point,
                r.order_up_to,
                r.order_quantity,
                r.safety_stock,
            ] {
                assert!(v.is_finite() && v >= 0.0, "{history:?}: {r:?}");
            }
            assert_eq!(r.reorder_point.fract(), 0.0);
            assert!(r.order_quantity >= 1.0);
            assert_eq!(r.forecast.len(), 12);
        }
        let flat = run_sku(&sku(&[7.0; 40]), &options(), &EngineForecaster).expect("run");
        // No forecast error: exactly the demand over R + L = 2 periods for (R,S); (s,Q)
        // adds the review undershoot, 3.5 ± 2.02 units, at z = 1.645: 7 + 3.5 + 3.32.
        assert_eq!(flat.order_up_to, 14.0);
        assert_eq!(flat.reorder_point, 14.0);
        assert_eq!(flat.accuracy, Some(1.0));
        let e = run_sku(&sku(&[]), &options(), &EngineForecaster).expect_err("empty");
        assert!(e.to_string().contains("no demand history"), "{e}");
    }

    #[test]
    fn a_json_body_carries_parameters_and_a_bad_target_is_refused() {
        let body = br#"{"demand": [
            {"sku": "b", "period": "2024-01-01", "quantity": 4},
            {"sku": "a", "period": "2024-03-01", "quantity": 2},
            {"sku": "a", "period": "2024-01-01", "quantity": 1}],
          "parameters": [{"sku": "a", "lead_time_mean": 2, "moq": 10}]}"#;
        let mut upload = Upload {
            format: Format::Json,
            demand: body,
            parameters: None,
            bucket: Bucket::Week,
            target: Target::FillRate(0.97),
            overrides: Overrides {
                horizon: Some(4),
                ..Overrides::default()
            },
        };
        let r = parse_upload(&upload, &[], &Limits::default()).expect("upload");
        assert_eq!(r.spacing, Spacing::Months { step: 1 });
        assert_eq!(r.options.season_length, 12);
        assert_eq!(r.options.periods_per_year, 12.0);
        assert_eq!(r.options.horizon, 4);
        let ids: Vec<&str> = r.skus.iter().map(|s| s.sku.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(r.skus[0].history, [1.0, 0.0, 2.0]);
        assert_eq!(r.skus[0].params.moq, 10.0);
        assert_eq!(r.skus[1].history, [4.0, 0.0, 0.0]);
        assert_eq!(r.skus[1].last_period, "2024-03-01");
        upload.target = Target::FillRate(1.0);
        let e = parse_upload(&upload, &[], &Limits::default()).expect_err("target");
        assert!(e.to_string().contains("strictly between 0 and 1"), "{e}");
        upload.target = Target::FillRate(0.9);
        upload.format = Format::Connector(Connector::Sap);
        let e = parse_upload(&upload, &[], &Limits::default()).expect_err("disabled");
        assert_eq!(e, InputError::ConnectorDisabled("sap".into()));
        assert_eq!(
            "QuickBooks".parse::<Format>(),
            Ok(Format::Connector(Connector::Quickbooks))
        );
        assert!("xlsx".parse::<Format>().is_err());
        // The API names formats the same way in JSON.
        let names =
            serde_json::to_string(&[Format::Csv, Format::Connector(Connector::Sap)]).expect("json");
        assert_eq!(names, r#"["csv","sap"]"#);
        let back: Vec<Format> = serde_json::from_str(r#"["json","quickbooks"]"#).expect("parse");
        assert_eq!(
            back,
            [Format::Json, Format::Connector(Connector::Quickbooks)]
        );
    }

    #[test]
    fn summary_pools_volume_and_needs_a_scored_backtest() {
        let mut a = run_sku(&sku(&[10.0; 30]), &options(), &EngineForecaster).expect("run");
        let mut b = a.clone();
        a.backtest = Score {
            abs_error: 10.0,
            actual: 100.0,
            points: 5,
        };
        b.backtest = Score {
            abs_error: 90.0,
            actual: 100.0,
            points: 5,
        };
        b.demand_class = DemandClass::Lumpy;
        let s = summarize(&[a.clone(), b], 0.5);
        assert_eq!(s.accuracy, Some(0.5));
        assert!(s.success);
        assert_eq!(s.demand_classes.get("lumpy"), Some(&1));
        assert!(!summarize(&[a.clone()], 0.95).success);
        a.backtest = Score::default();
        let unscored = summarize(&[a], 0.0);
        assert_eq!(unscored.accuracy, None);
        assert!(!unscored.success);
    }
}
