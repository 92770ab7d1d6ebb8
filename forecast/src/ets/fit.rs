//! Maximum-likelihood fit of one ETS model, and the AICc search over the model space.

use super::core::{self, State};
use super::init::{self, Bounds};
use super::{ErrorType, EtsFit, Params, SeasonType, Spec, TrendType};
use crate::optim::NelderMead;

/// Which models the automatic search may consider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidates {
    /// Try multiplicative errors (only used when the data are positive).
    pub multiplicative_error: bool,
    /// Try multiplicative seasonality (only used when the data are positive).
    pub multiplicative_season: bool,
    /// Try undamped trends as well as damped ones.
    pub undamped_trend: bool,
}

impl Default for Candidates {
    fn default() -> Self {
        Self { multiplicative_error: true, multiplicative_season: true, undamped_trend: true }
    }
}

/// Which entries of the parameter vector are smoothing weights.
struct Layout {
    spec: Spec,
    m: usize,
    n_smoothing: usize,
}

impl Layout {
    fn new(spec: Spec, m: usize) -> Self {
        let n_smoothing = 1
            + usize::from(spec.trend != TrendType::None)
            + usize::from(spec.season != SeasonType::None)
            + usize::from(spec.trend == TrendType::Damped);
        Self { spec, m, n_smoothing }
    }

    /// Splits a parameter vector into smoothing weights and the initial state.
    fn decode(&self, x: &[f64]) -> Option<(Params, State)> {
        let mut it = x.iter().copied();
        let mut next = |used: bool, default: f64| if used { it.next().unwrap_or(default) } else { default };
        let alpha = next(true, 0.5);
        let beta = next(self.spec.trend != TrendType::None, 0.0);
        let gamma = next(self.spec.season != SeasonType::None, 0.0);
        let phi = next(self.spec.trend == TrendType::Damped, 1.0);
        let states = &x[self.n_smoothing..];
        let has_slope = self.spec.trend != TrendType::None;
        let slope = if has_slope { states[1] } else { 0.0 };
        let partial = &states[1 + usize::from(has_slope)..];
        let state = init::complete_state(self.spec, self.m, states[0], slope, partial)?;
        Some((Params { alpha, beta, gamma, phi }, state))
    }
}

/// Fits one ETS model to `y` with season length `m` (ignored for non-seasonal specs).
/// `None` when the model cannot be fitted (too short a series, or non-positive data for a
/// multiplicative component).
pub fn fit(y: &[f64], m: usize, spec: Spec) -> Option<EtsFit> {
    fit_within(y, m, spec, &mut Bounds::default())
}

fn fit_within(y: &[f64], m: usize, spec: Spec, bounds: &mut Bounds) -> Option<EtsFit> {
    let positive = y.iter().all(|&v| v > 0.0);
    let needs_positive = spec.error == ErrorType::Multiplicative || spec.season == SeasonType::Multiplicative;
    if needs_positive && !positive {
        return None;
    }
    let m = if spec.season == SeasonType::None { 1 } else { m };
    if m > 1 && y.len() <= m {
        return None;
    }
    let layout = Layout::new(spec, m);
    let start = init::start_params(spec, m, bounds);
    let (level, slope, partial) = init::start_state(y, m, spec)?;
    let mut x0 = Vec::with_capacity(layout.n_smoothing + 2 + m);
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    for (i, used) in [true, spec.trend != TrendType::None, spec.season != SeasonType::None, spec.trend == TrendType::Damped]
        .into_iter()
        .enumerate()
    {
        if used {
            x0.push(start[i]);
            lower.push(bounds.lower[i]);
            upper.push(bounds.upper[i]);
        }
    }
    x0.push(level);
    if spec.trend != TrendType::None {
        x0.push(slope);
    }
    x0.extend_from_slice(&partial);
    lower.resize(x0.len(), f64::NEG_INFINITY);
    upper.resize(x0.len(), f64::INFINITY);
    if x0.len() >= y.len().saturating_sub(1) {
        return None;
    }
    let objective = |x: &[f64]| match layout.decode(x) {
        Some((p, state)) => {
            let lik = core::neg2_loglik(spec, &p, state, y).max(-1e10);
            if lik.is_nan() { f64::INFINITY } else { lik }
        }
        None => f64::INFINITY,
    };
    let best = NelderMead::default().minimize(objective, &x0, &lower, &upper);
    let (params, initial) = layout.decode(&best.x)?;
    Some(evaluate(y, m, spec, params, initial, x0.len()))
}

/// The fit statistics of a model with known parameters and initial state.
pub(crate) fn evaluate(y: &[f64], m: usize, spec: Spec, params: Params, initial: State, n_estimated: usize) -> EtsFit {
    let mut fitted = Vec::with_capacity(y.len());
    let mut innovations = Vec::with_capacity(y.len());
    let last = core::filter(spec, &params, initial.clone(), y, |_, f, e| {
        fitted.push(f);
        innovations.push(e);
    });
    let neg2_loglik = core::neg2_loglik(spec, &params, initial.clone(), y);
    let n = y.len() as f64;
    let k = (n_estimated + 1) as f64;
    let aic = neg2_loglik + 2.0 * k;
    let aicc = if n - k - 1.0 > 0.0 { aic + 2.0 * k * (k + 1.0) / (n - k - 1.0) } else { f64::INFINITY };
    let sse: f64 = innovations.iter().map(|e| e * e).sum();
    let sigma2 = sse / (n - k - 1.0).max(1.0);
    EtsFit {
        spec,
        m,
        params,
        initial,
        last,
        fitted,
        innovations,
        neg2_loglik,
        n_params: n_estimated + 1,
        sigma2,
        aicc: if aicc.is_nan() { f64::INFINITY } else { aicc },
    }
}

/// The model specs the search visits, in statsforecast's order (which matters: the
/// bounds tightened by one start carry over to the next).
fn search_order(m: usize, positive: bool, c: Candidates) -> Vec<Spec> {
    let mut specs = Vec::new();
    for error in [ErrorType::Additive, ErrorType::Multiplicative] {
        if error == ErrorType::Multiplicative && !(positive && c.multiplicative_error) {
            continue;
        }
        let trends: &[TrendType] = if c.undamped_trend {
            &[TrendType::None, TrendType::Damped, TrendType::Additive]
        } else {
            &[TrendType::None, TrendType::Damped]
        };
        for &trend in trends {
            for season in [SeasonType::None, SeasonType::Additive, SeasonType::Multiplicative] {
                let wrong_season = season != SeasonType::None && m < 2;
                let bad_mult = season == SeasonType::Multiplicative
                    && (error == ErrorType::Additive || !positive || !c.multiplicative_season);
                if !(wrong_season || bad_mult) {
                    specs.push(Spec { error, trend, season });
                }
            }
        }
    }
    specs.sort_by_key(|s| (s.error as u8, s.trend != TrendType::None, s.season as u8, s.trend != TrendType::Damped));
    specs
}

/// Fits every candidate model and returns the one with the smallest AICc; `None` if no
/// model could be fitted. A constant series gets simple exponential smoothing with α near
/// one, as in Hyndman's `ets`.
pub fn auto(y: &[f64], m: usize, candidates: Candidates) -> Option<EtsFit> {
    let first = *y.first()?;
    if y.iter().all(|&v| v == first) {
        let spec = Spec { error: ErrorType::Additive, trend: TrendType::None, season: SeasonType::None };
        let params = Params { alpha: 0.9999, beta: 0.0, gamma: 0.0, phi: 1.0 };
        return Some(evaluate(y, 1, spec, params, State::new(first, 0.0, &[]), 1));
    }
    let m = if y.len() <= m { 1 } else { m };
    let positive = y.iter().all(|&v| v > 0.0);
    let mut bounds = Bounds::default();
    let mut best: Option<EtsFit> = None;
    for spec in search_order(m, positive, candidates) {
        let Some(fit) = fit_within(y, m, spec, &mut bounds) else { continue };
        if fit.aicc < best.as_ref().map_or(f64::INFINITY, |b| b.aicc) {
            best = Some(fit);
        }
    }
    best
}
