//! The seam between an implementation run and the forecasting engine: the [`Forecaster`]
//! trait, what the inventory agent needs from a forecast ([`Prediction`]), the default
//! [`EngineForecaster`] over `scf_forecast` with `Method::Auto`, and the Syntetos-Boylan
//! [`DemandClass`] that the results report.

use scf_forecast::intermittent::{self, Pattern};
use scf_forecast::{Method, Spec};
use serde::{Deserialize, Serialize};

/// A forecast as the inventory agent uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The model that produced it, e.g. `ETS(A,N,N)`.
    pub model: String,
    /// Mean demand for periods 1..=horizon.
    pub mean: Vec<f64>,
    /// Standard deviation of the one-step forecast errors (`σ_e`), as the forecast's own
    /// prediction intervals state it (`upper_tail_sd`).
    pub error_sd: f64,
}

/// Why a forecaster failed on a series.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ForecasterError(pub String);

impl From<scf_forecast::ForecastError> for ForecasterError {
    fn from(e: scf_forecast::ForecastError) -> Self {
        Self(e.to_string())
    }
}

/// Forecasts one SKU's demand. Implementations must be deterministic: a redelivered job
/// recomputes the same result.
pub trait Forecaster: Send + Sync {
    /// Forecasts `horizon` periods after `history` (oldest first, no gaps), with
    /// `season_length` periods per seasonal cycle (1 for none).
    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        season_length: usize,
    ) -> Result<Prediction, ForecasterError>;
}

/// The default forecaster: `scf_forecast::forecast` with [`Method::Auto`], which sends
/// intermittent series to the intermittent methods and the rest to the ensemble.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineForecaster;

impl Forecaster for EngineForecaster {
    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        season_length: usize,
    ) -> Result<Prediction, ForecasterError> {
        // Seasonal models need two full cycles; shorter histories are fitted without.
        let season_length = if history.len() >= 2 * season_length {
            season_length
        } else {
            1
        };
        let spec = Spec {
            method: Method::Auto,
            ..Spec::new(horizon, season_length.max(1))
        };
        let f = scf_forecast::forecast(history, &spec)?;
        Ok(Prediction {
            error_sd: upper_tail_sd(&f),
            mean: f.mean.iter().map(|v| v.max(0.0)).collect(),
            model: f.model,
        })
    }
}

/// The quantile whose distance from the mean sets `σ_e`: the upper tail, where safety
/// stock protects, at the usual service level.
const SAFETY_QUANTILE: f64 = 0.95;

/// `σ_e` read from the forecast's first-step [`SAFETY_QUANTILE`] quantile: the error
/// distribution its intervals are calibrated on (validated out of sample and widened
/// where the members' own spread was too narrow, `scf_forecast::combine`), not the
/// in-sample residuals, which understate it. Falls back to the residuals' sd when the
/// quantile says nothing (a flat forecast).
fn upper_tail_sd(f: &scf_forecast::Forecast) -> f64 {
    let spread =
        f.first_quantile(SAFETY_QUANTILE).unwrap_or(0.0) - f.mean.first().copied().unwrap_or(0.0);
    let sd = spread / scf_forecast::normal::quantile(SAFETY_QUANTILE);
    if sd.is_finite() && sd > 0.0 {
        sd
    } else {
        f.residual_sd()
    }
}

/// The Syntetos-Boylan demand class of a history (ADI 1.32, CV² 0.49 cut-offs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    /// Frequent demand of steady size.
    Smooth,
    /// Frequent demand of variable size.
    Erratic,
    /// Infrequent demand of steady size.
    Intermittent,
    /// Infrequent demand of variable size.
    Lumpy,
    /// No demand in the history.
    NoDemand,
}

impl DemandClass {
    /// Classifies a history.
    pub fn of(history: &[f64]) -> Self {
        match intermittent::classify(history) {
            Some(Pattern::Smooth) => Self::Smooth,
            Some(Pattern::Erratic) => Self::Erratic,
            Some(Pattern::Intermittent) => Self::Intermittent,
            Some(Pattern::Lumpy) => Self::Lumpy,
            None => Self::NoDemand,
        }
    }

    /// The snake_case name used in CSV and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Smooth => "smooth",
            Self::Erratic => "erratic",
            Self::Intermittent => "intermittent",
            Self::Lumpy => "lumpy",
            Self::NoDemand => "no_demand",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_adi_and_cv2() {
        assert_eq!(
            DemandClass::of(&[10.0, 11.0, 9.0, 10.0]),
            DemandClass::Smooth
        );
        assert_eq!(
            DemandClass::of(&[1.0, 30.0, 2.0, 25.0]),
            DemandClass::Erratic
        );
        assert_eq!(
            DemandClass::of(&[0.0, 5.0, 0.0, 0.0, 5.0, 0.0, 6.0]),
            DemandClass::Intermittent
        );
        assert_eq!(
            DemandClass::of(&[0.0, 1.0, 0.0, 0.0, 40.0, 0.0, 2.0]),
            DemandClass::Lumpy
        );
        assert_eq!(DemandClass::of(&[0.0, 0.0]), DemandClass::NoDemand);
    }

    #[test]
    fn engine_sends_intermittent_series_to_intermittent_methods() {
        let sparse: Vec<f64> = (0..40)
            .map(|t| if t % 4 == 0 { 6.0 } else { 0.0 })
            .collect();
        let p = EngineForecaster.forecast(&sparse, 4, 12).expect("forecast");
        assert_eq!(p.mean.len(), 4);
        assert!(!p.model.starts_with("Ensemble"), "{}", p.model);
        assert!((p.mean[0] - 1.5).abs() < 0.5, "{:?}", p.mean);
        assert!(p.error_sd > 0.0);
    }
}
