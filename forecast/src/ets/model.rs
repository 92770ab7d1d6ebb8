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

impl EtsFit {
    /// Degrees of freedom of `sigma2`: the observations less the estimated parameters
    /// and one.
    pub fn df(&self) -> f64 {
        (self.fitted.len() as f64 - self.n_params as f64 - 1.0).max(1.0)
    }

    /// Point forecasts for `h` steps.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        self.last.forecast(self.spec, self.params.phi, h)
    }
}
