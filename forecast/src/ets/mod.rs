//! Exponential smoothing in innovations state-space form (Hyndman, Koehler, Ord & Snyder
//! 2008): additive or multiplicative error; no, additive or damped trend; no, additive or
//! multiplicative seasonality. Parameters and initial states are fitted by maximum
//! likelihood inside bounds, and [`auto`] picks the model by AICc as Hyndman's `ets()`
//! and statsforecast's AutoETS do.

mod core;
mod fit;
mod init;
mod predict;

pub use self::core::State;
pub use fit::{Candidates, Screening, auto, fit};
pub use predict::Simulation;

use std::fmt;

/// Error term: added to the forecast, or proportional to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `y = f + e`.
    Additive,
    /// `y = f (1 + e)`.
    Multiplicative,
}

/// Trend component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendType {
    /// No trend.
    None,
    /// Linear trend.
    Additive,
    /// Linear trend damped by φ.
    Damped,
}

/// Seasonal component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeasonType {
    /// No seasonality.
    None,
    /// Seasonal terms added.
    Additive,
    /// Seasonal factors multiplied.
    Multiplicative,
}

/// The three components that name an ETS model, e.g. ETS(M,Ad,M).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    /// Error type.
    pub error: ErrorType,
    /// Trend type.
    pub trend: TrendType,
    /// Season type.
    pub season: SeasonType,
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self.error {
            ErrorType::Additive => "A",
            ErrorType::Multiplicative => "M",
        };
        let t = match self.trend {
            TrendType::None => "N",
            TrendType::Additive => "A",
            TrendType::Damped => "Ad",
        };
        let s = match self.season {
            SeasonType::None => "N",
            SeasonType::Additive => "A",
            SeasonType::Multiplicative => "M",
        };
        write!(f, "ETS({e},{t},{s})")
    }
}

/// Smoothing parameters. Unused ones hold neutral values (β = γ = 0, φ = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Level smoothing.
    pub alpha: f64,
    /// Slope smoothing.
    pub beta: f64,
    /// Seasonal smoothing.
    pub gamma: f64,
    /// Damping.
    pub phi: f64,
}

/// A fitted ETS model.
#[derive(Debug, Clone)]
pub struct EtsFit {
    /// Components.
    pub spec: Spec,
    /// Season length used (1 when non-seasonal).
    pub m: usize,
    /// Estimated smoothing parameters.
    pub params: Params,
    /// Estimated initial state.
    pub initial: State,
    /// State after the last observation.
    pub last: State,
    /// One-step in-sample forecasts.
    pub fitted: Vec<f64>,
    /// Innovations (absolute or relative, per the error type).
    pub innovations: Vec<f64>,
    /// `-2 log L` (concentrated).
    pub neg2_loglik: f64,
    /// Number of estimated parameters, σ² included.
    pub n_params: usize,
    /// Innovation variance.
    pub sigma2: f64,
    /// Corrected Akaike information criterion.
    pub aicc: f64,
}

impl EtsFit {
    /// Point forecasts for `h` steps.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        self.last.forecast(self.spec, self.params.phi, h)
    }
}
