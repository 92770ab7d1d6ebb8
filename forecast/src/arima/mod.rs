//! Seasonal ARIMA with automatic order selection, as R's `forecast::auto.arima` and
//! statsforecast's `AutoARIMA` (Hyndman & Khandakar 2008): the seasonal difference from
//! the seasonal strength, the ordinary differences from repeated KPSS tests, then a
//! stepwise search over the ARMA orders by AICc, with a constant (a mean, or a drift
//! when one difference is taken) when `d + D ≤ 1`.
//!
//! Every model is estimated by conditional sum of squares (CSS, [`css`]); statsforecast
//! uses CSS in its search on long series (`approximation`) and the exact likelihood
//! otherwise. Forecast errors are linear in future innovations, with the ψ weights of
//! [`ArimaFit::psi_weights`].

mod css;
mod diff;
mod lm;
mod search;

use search::Limits;
use std::fmt;

/// The orders of a seasonal ARIMA(p,d,q)(P,D,Q)[m] model, and whether it has a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    /// Autoregressive order.
    pub p: usize,
    /// Ordinary differences.
    pub d: usize,
    /// Moving-average order.
    pub q: usize,
    /// Seasonal autoregressive order.
    pub sp: usize,
    /// Seasonal differences.
    pub sd: usize,
    /// Seasonal moving-average order.
    pub sq: usize,
    /// Season length (1 when non-seasonal).
    pub m: usize,
    /// A mean (no difference) or a drift (one difference) is estimated.
    pub constant: bool,
}

impl Order {
    /// Number of estimated coefficients (σ² excluded).
    pub fn n_coef(&self) -> usize {
        self.p + self.q + self.sp + self.sq + usize::from(self.constant)
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ARIMA({},{},{})", self.p, self.d, self.q)?;
        if self.m > 1 {
            write!(f, "({},{},{})[{}]", self.sp, self.sd, self.sq, self.m)?;
        }
        match (self.constant, self.d + self.sd) {
            (false, _) => Ok(()),
            (true, 0) => f.write_str(" with non-zero mean"),
            (true, _) => f.write_str(" with drift"),
        }
    }
}

/// A fitted ARIMA model.
#[derive(Debug, Clone)]
pub struct ArimaFit {
    /// The chosen orders.
    pub order: Order,
    /// Coefficients `[φ_1..φ_p, θ_1..θ_q, Φ_1..Φ_P, Θ_1..Θ_Q, (μ)]`, with
    /// `w_t - μ = Σ φ_i (w_(t-i) - μ) + e_t + Σ θ_j e_(t-j)` (seasonal factors multiplied
    /// in) for the differenced series `w`; `μ` is the mean of `w` (the drift per
    /// differenced step).
    pub coef: Vec<f64>,
    /// Innovation variance (sum of squares over `n - d - mD - k + 1`, as statsforecast).
    pub sigma2: f64,
    /// Corrected Akaike information criterion of the CSS likelihood.
    pub aicc: f64,
    /// One-step in-sample forecasts (`NaN` for the values the model conditions on).
    pub fitted: Vec<f64>,
    /// The history (needed to undo the differences).
    y: Vec<f64>,
    /// Innovations of the differenced series.
    innovations: Vec<f64>,
}

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
        return Some(ArimaFit::new(y, &w, order, coef, f64::NEG_INFINITY));
    }
    let best = search::stepwise(&w, base, limits(y.len(), m))?;
    Some(ArimaFit::new(y, &w, best.order, best.css.x, best.aicc))
}

impl ArimaFit {
    fn new(y: &[f64], w: &[f64], order: Order, coef: Vec<f64>, aicc: f64) -> Self {
        let (ar, ma) = css::expand(&order, &coef);
        let mu = if order.constant {
            coef[coef.len() - 1]
        } else {
            0.0
        };
        let start = order.p + order.m * order.sp;
        let mut innovations = vec![0.0; w.len()];
        let ssr = css::innovations(w, &ar, &ma, mu, start, &mut innovations);
        let dof = (w.len() as f64 - coef.len() as f64).max(1.0);
        let offset = y.len() - w.len();
        let fitted = (0..y.len())
            .map(|t| {
                if t < offset + start {
                    f64::NAN
                } else {
                    y[t] - innovations[t - offset]
                }
            })
            .collect();
        Self {
            order,
            sigma2: ssr / dof,
            aicc,
            fitted,
            coef,
            y: y.to_vec(),
            innovations,
        }
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
        let o = &self.order;
        // The differencing stages, outermost first: y, then seasonal, then ordinary.
        let mut stages = vec![(self.y.clone(), 0)];
        for lag in std::iter::repeat_n(o.m, o.sd).chain(std::iter::repeat_n(1, o.d)) {
            let next = diff::difference(&stages[stages.len() - 1].0, lag, 1);
            stages.push((next, lag));
        }
        let Some((w, _)) = stages.last() else {
            return vec![];
        };
        let (ar, ma) = css::expand(o, &self.coef);
        let mu = self.mean_term();
        let n = w.len();
        let mut ext = w.clone();
        let mut e = self.innovations.clone();
        for t in n..n + h {
            let mut v = mu;
            for &(k, c) in &ar {
                v += c * (ext[t - k] - mu);
            }
            for &(k, c) in ma
                .iter()
                .filter(|(k, _)| t.checked_sub(*k).is_some_and(|i| i < n))
            {
                v += c * e[t - k];
            }
            ext.push(v);
            e.push(0.0);
        }
        let mut future = ext[n..].to_vec();
        for i in (1..stages.len()).rev() {
            let lag = stages[i].1;
            let mut prev = stages[i - 1].0.clone();
            let len = prev.len();
            for (j, v) in future.iter().enumerate() {
                let back = prev[len + j - lag];
                prev.push(v + back);
            }
            future = prev[len..].to_vec();
        }
        future
    }

    /// The ψ weights `ψ_0 = 1, ψ_1, …, ψ_(h-1)` of the model written as an infinite moving
    /// average of innovations (differences included): the `h`-step error is
    /// `Σ_j ψ_j ε_(h-j)`.
    pub fn psi_weights(&self, h: usize) -> Vec<f64> {
        let o = &self.order;
        let (ar, ma) = css::expand(o, &self.coef);
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
