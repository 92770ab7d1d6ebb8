//! Seasonal ARIMA with automatic order selection, as R's `forecast::auto.arima` and
//! statsforecast's `AutoARIMA` (Hyndman & Khandakar 2008): the seasonal difference from
//! the seasonal strength, the ordinary differences from repeated KPSS tests, then a
//! stepwise search over the ARMA orders by AICc, with a constant (a mean, or a drift
//! when one difference is taken) when `d + D ≤ 1`.
//!
//! The search estimates every candidate by conditional sum of squares (CSS, module `css`),
//! which statsforecast does only on long series (`approximation`); the chosen model is
//! then refitted by exact maximum likelihood (module `kalman`), as statsforecast does after an
//! approximate search. Forecast errors are linear in future innovations, with the ψ
//! weights of [`ArimaFit::psi_weights`].

mod css;
mod diff;
mod kalman;
mod lm;
mod order;
mod search;

pub use order::Order;

use kalman::Effort;
use search::Limits;

/// A fitted ARIMA model.
#[derive(Debug, Clone)]
pub struct ArimaFit {
    /// The chosen orders.
    pub order: Order,
    /// Coefficients `[φ_1..φ_p, θ_1..θ_q, Φ_1..Φ_P, Θ_1..Θ_Q, (μ)]`, with
    /// `w_t - μ = Σ φ_i (w_(t-i) - μ) + e_t + Σ θ_j e_(t-j)` (seasonal factors multiplied
    /// in) for the differenced series `w`. `μ` is the mean of `w`: the series mean with no
    /// difference, the drift per period after one ordinary difference, `m` times it after
    /// one seasonal difference.
    pub coef: Vec<f64>,
    /// Innovation variance: the standardised squared one-step errors summed over
    /// `n - d - m·D - k` (`k` coefficients), as statsforecast.
    pub sigma2: f64,
    /// Degrees of freedom of `sigma2`: `n - d - m·D - k`.
    pub df: f64,
    /// Corrected Akaike information criterion of the exact likelihood.
    pub aicc: f64,
    /// One-step in-sample forecasts (`NaN` for the first `d + m·D` values).
    pub fitted: Vec<f64>,
    /// The history (needed to undo the differences).
    y: Vec<f64>,
    /// Kalman-filter state predicted for the step after the history.
    next: Vec<f64>,
}

/// Models (in CSS AICc order) tried for the maximum-likelihood refit.
const ML_ATTEMPTS: usize = 3;

/// Orders the search may reach: statsforecast's defaults (5, 5, 2, 2), capped by a third
/// of the series (in seasons for the seasonal ones) and by `m - 1` for seasonal data.
fn limits(n: usize, m: usize) -> Limits {
    let cap = |max: usize| if m > 1 { max.min(m - 1) } else { max };
    let seasonal = |max: usize| if m > 1 { max.min(n / 3 / m) } else { 0 };
    Limits {
        p: cap(5.min(n / 3)),
        q: cap(5.min(n / 3)),
        sp: seasonal(2),
        sq: seasonal(2),
    }
}

/// Selects and fits an ARIMA model for `y` with season length `m`; `None` when the series
/// is too short for any model.
pub fn auto(y: &[f64], m: usize) -> Option<ArimaFit> {
    let m = m.max(1);
    let sd = if m > 1 { diff::seasonal_diffs(y, m) } else { 0 };
    let dx = diff::difference(y, m, sd);
    let d = diff::diffs(&dx, 2);
    let w = diff::difference(&dx, 1, d);
    if w.len() < 2 {
        return None;
    }
    let base = Order {
        p: 0,
        d,
        q: 0,
        sp: 0,
        sd,
        sq: 0,
        m,
        constant: d + sd <= 1,
    };
    if diff::is_constant(&w) {
        // A polynomial trend or a fixed pattern: nothing to estimate but the constant.
        let order = Order {
            constant: base.constant && w[0] != 0.0,
            ..base
        };
        let coef = if order.constant { vec![w[0]] } else { vec![] };
        return ArimaFit::new(y, &w, order, coef);
    }
    let ranked = search::stepwise(&w, base, limits(y.len(), m));
    // Refit by exact maximum likelihood, best CSS model first, as statsforecast does
    // after an approximate search; keep the CSS estimates if no refit is admissible.
    let refit = ranked
        .iter()
        .take(ML_ATTEMPTS)
        .find_map(|c| maximum_likelihood(y, &w, c.order, &c.css.x, Effort::QUICK));
    refit.or_else(|| {
        let best = ranked.into_iter().next()?;
        ArimaFit::new(y, &w, best.order, best.css.x)
    })
}

/// Fits one model of the given orders: CSS estimates, refined by exact maximum
/// likelihood (R's `method = "CSS-ML"`). `None` when the series is too short or no
/// admissible estimate is found.
pub fn fit(y: &[f64], order: Order) -> Option<ArimaFit> {
    let w = differenced(y, &order);
    let start = css::fit(&w, &order)?;
    maximum_likelihood(y, &w, order, &start.x, Effort::FULL).or_else(|| {
        css::admissible(&order, &start.x, search::ROOT_MARGIN)
            .then(|| ArimaFit::new(y, &w, order, start.x))?
    })
}

/// Fits `fit`'s orders again on `y`, a series that begins or ends like the one it was
/// fitted on, by conditional sum of squares started from its coefficients: no order
/// search and no exact likelihood, whose Kalman filter costs `O(r²)` per value for a
/// state of `r` (13 or more for a monthly seasonal model) where CSS costs the number of
/// coefficients. Its roots need only be outside the unit circle, not beyond the margin
/// the search demands: such a model still filters and forecasts. `None` when the history
/// is too short or the filter fails.
pub fn refit(y: &[f64], fit: &ArimaFit) -> Option<ArimaFit> {
    let order = fit.order;
    let w = differenced(y, &order);
    let css = css::fit_from(&w, &order, Some(&fit.coef))?;
    ArimaFit::new(y, &w, order, css.x)
}

/// The exact-likelihood refit from CSS estimates `x0`, if it ends admissible.
fn maximum_likelihood(
    y: &[f64],
    w: &[f64],
    order: Order,
    x0: &[f64],
    effort: Effort,
) -> Option<ArimaFit> {
    let x = kalman::fit(w, &order, x0, effort)?;
    css::admissible(&order, &x, search::ROOT_MARGIN).then(|| ArimaFit::new(y, w, order, x))?
}

/// `y` after `order`'s seasonal and ordinary differences: the series the ARMA part
/// models.
fn differenced(y: &[f64], order: &Order) -> Vec<f64> {
    diff::difference(&diff::difference(y, order.m, order.sd), 1, order.d)
}

/// The differencing stages of `y` under `order`, outermost first: `y`, then each seasonal
/// and each ordinary difference, with its lag.
fn stages(y: &[f64], order: &Order) -> Vec<(Vec<f64>, usize)> {
    let mut stages = vec![(y.to_vec(), 0)];
    for lag in std::iter::repeat_n(order.m, order.sd).chain(std::iter::repeat_n(1, order.d)) {
        let next = diff::difference(&stages[stages.len() - 1].0, lag, 1);
        stages.push((next, lag));
    }
    stages
}

impl ArimaFit {
    /// Filters the history under the final coefficients; `None` if the filter fails.
    fn new(y: &[f64], w: &[f64], order: Order, coef: Vec<f64>) -> Option<Self> {
        let filtered = kalman::run(w, &order, &coef, |_, _| {})?;
        let (n, k) = (w.len() as f64, coef.len() as f64);
        let npar = k + 1.0;
        let aicc = filtered.neg2_loglik()
            + 2.0 * npar
            + if n - npar - 1.0 > 0.0 {
                2.0 * npar * (npar + 1.0) / (n - npar - 1.0)
            } else {
                f64::INFINITY
            };
        let df = (n - k).max(1.0);
        let offset = y.len() - w.len();
        let fitted = (0..y.len())
            .map(|t| {
                if t < offset {
                    f64::NAN
                } else {
                    y[t] - filtered.innovations[t - offset]
                }
            })
            .collect();
        Some(Self {
            order,
            sigma2: filtered.sum_sq / df,
            df,
            aicc,
            fitted,
            coef,
            y: y.to_vec(),
            next: filtered.next,
        })
    }

    fn mean_term(&self) -> f64 {
        if self.order.constant {
            self.coef[self.coef.len() - 1]
        } else {
            0.0
        }
    }

    /// Point forecasts for `h` steps.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        self.path(&stages(&self.y, &self.order), 0, &self.next, h)
    }

    /// The `h`-step forecasts from each origin `t` of `origins`, made after observing
    /// `y[..t]` with the fitted coefficients: the in-sample track record a combination
    /// weighs this model by (`y` is the fitted history, or a longer series it begins).
    /// One filter pass serves every origin, since the state after the differenced
    /// observations an origin has seen is the one a pass over `y[..t]` alone ends in.
    /// `NaN`s where the differenced history is empty or the filter fails.
    pub fn forecasts_from(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let o = &self.order;
        let stages = stages(y, o);
        let w = &stages[stages.len() - 1].0;
        let lost = y.len() - w.len();
        let mut wanted = vec![false; w.len() + 1];
        for k in origins.iter().filter_map(|t| t.checked_sub(lost)) {
            if let Some(slot) = wanted.get_mut(k) {
                *slot = true;
            }
        }
        let mut states: Vec<Option<Vec<f64>>> = vec![None; w.len() + 1];
        // A filter that fails part-way has still given the states before the failure.
        let _ = kalman::run(w, o, &self.coef, |seen, state| {
            if wanted[seen] {
                states[seen] = Some(state.to_vec());
            }
        });
        origins
            .iter()
            .map(|&t| {
                let state = t.checked_sub(lost).and_then(|k| states.get(k)?.as_ref());
                let Some(next) = state else {
                    return vec![f64::NAN; h];
                };
                self.path(&stages, y.len() - t, next, h)
            })
            .collect()
    }

    /// `h` forecasts after a history whose differencing stages are `stages` ([`stages`])
    /// without their last `cut` values, from the filter state `next` of the last stage.
    fn path(&self, stages: &[(Vec<f64>, usize)], cut: usize, next: &[f64], h: usize) -> Vec<f64> {
        let mu = self.mean_term();
        let mut future: Vec<f64> = kalman::forecast(&self.order, &self.coef, next, h)
            .into_iter()
            .map(|v| v + mu)
            .collect();
        for i in (1..stages.len()).rev() {
            let (lag, prev) = (stages[i].1, &stages[i - 1].0);
            let prev = &prev[..prev.len() - cut];
            // Each value of the outer stage is the inner one plus the outer value `lag`
            // steps back: in the history, or among the values just integrated.
            let mut outer: Vec<f64> = Vec::with_capacity(h);
            for (j, v) in future.iter().enumerate() {
                let back = if j >= lag {
                    outer[j - lag]
                } else {
                    prev[prev.len() + j - lag]
                };
                outer.push(v + back);
            }
            future = outer;
        }
        future
    }

    /// The ψ weights `ψ_0 = 1, ψ_1, …, ψ_(h-1)` of the model written as an infinite moving
    /// average of innovations (differences included): the `h`-step error is
    /// `Σ_j ψ_j ε_(h-j)`.
    pub fn psi_weights(&self, h: usize) -> Vec<f64> {
        let o = &self.order;
        let css::Expansion { ar, ma, .. } = css::Expansion::of(o, &self.coef);
        // Full autoregressive polynomial of y: φ(B)Φ(B^m)(1 - B)^d (1 - B^m)^D.
        let mut poly = vec![1.0];
        let multiply = |poly: &[f64], lag: usize, c: f64| -> Vec<f64> {
            let mut out = vec![0.0; poly.len() + lag];
            for (i, &a) in poly.iter().enumerate() {
                out[i] += a;
                out[i + lag] -= c * a;
            }
            out
        };
        for lag in std::iter::repeat_n(o.m, o.sd).chain(std::iter::repeat_n(1, o.d)) {
            poly = multiply(&poly, lag, 1.0);
        }
        let mut full = vec![0.0; poly.len() + ar.iter().map(|(k, _)| *k).max().unwrap_or(0)];
        full[..poly.len()].copy_from_slice(&poly);
        for &(k, c) in &ar {
            for (i, &a) in poly.iter().enumerate() {
                full[i + k] -= c * a;
            }
        }
        let mut psi = vec![0.0; h];
        for j in 0..h {
            let own = if j == 0 {
                1.0
            } else {
                ma.iter().find(|(k, _)| *k == j).map_or(0.0, |(_, c)| *c)
            };
            let carried: f64 = (1..=j.min(full.len() - 1))
                .map(|k| -full[k] * psi[j - k])
                .sum();
            psi[j] = own + carried;
        }
        psi
    }
}

#[cfg(test)]
mod tests;
