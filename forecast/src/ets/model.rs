//! A fitted ETS model: its components, estimates, states and fit statistics, and its
//! point forecasts (its uncertainty is in `predict`).

use super::core::State;
use super::spec::{Params, Spec};

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

/// Degrees of freedom of the innovation variance of `n` observations fitted with
/// `n_params` parameters (σ² included): `n - n_params - 1`, at least 1, statsforecast's
/// denominator.
pub(crate) fn residual_df(n: usize, n_params: usize) -> f64 {
    (n as f64 - n_params as f64 - 1.0).max(1.0)
}

impl EtsFit {
    /// Degrees of freedom of `sigma2`: `n - n_params - 1`, at least 1.
    pub fn df(&self) -> f64 {
        residual_df(self.fitted.len(), self.n_params)
    }

    /// Point forecasts for `h` steps.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        self.last.forecast(self.spec, self.params.phi, h)
    }
}
