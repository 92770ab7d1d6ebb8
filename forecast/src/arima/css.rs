//! Conditional-sum-of-squares (CSS) estimation of one seasonal ARMA model on the
//! differenced series, by Levenberg-Marquardt ([`super::lm`]).
//!
//! CSS conditions on the first `p + m·P` values and sets earlier innovations to zero, as
//! R's `arima(method = "CSS")`. It is cheap (one pass over the series per evaluation),
//! so the stepwise search fits every candidate this way.

use super::lm::{self, Problem};
use super::order::Order;
use std::cell::RefCell;

/// Non-zero terms of a lag polynomial, as `(lag, coefficient)`.
pub(super) type Lags = Vec<(usize, f64)>;

/// The expanded autoregressive and moving-average lag polynomials of a parameter vector
/// laid out as `[φ_1..φ_p, θ_1..θ_q, Φ_1..Φ_P, Θ_1..Θ_Q, (μ)]`, in
/// `w_t - μ = Σ ar_k (w_(t-k) - μ) + e_t + Σ ma_k e_(t-k)`. The buffers are kept between
/// [`Expansion::set`]s, so the fits' residual functions expand each trial point without
/// allocating.
#[derive(Debug, Default)]
pub(super) struct Expansion {
    /// The autoregressive lags.
    pub ar: Lags,
    /// The moving-average lags.
    pub ma: Lags,
    dense: Vec<f64>,
}

impl Expansion {
    /// The expansion of `x` under `order`.
    pub fn of(order: &Order, x: &[f64]) -> Self {
        let mut expansion = Self::default();
        expansion.set(order, x);
        expansion
    }

    /// Expands `x` under `order` in place.
    pub fn set(&mut self, order: &Order, x: &[f64]) {
        let (p, q, sp, sq, m) = (order.p, order.q, order.sp, order.sq, order.m);
        let (phi, rest) = x.split_at(p);
        let (theta, rest) = rest.split_at(q);
        let (sphi, rest) = rest.split_at(sp);
        let stheta = &rest[..sq];
        // The seasonal product's cross terms enter the AR side negated, the MA side not.
        expand(&mut self.dense, phi, sphi, m, -1.0, &mut self.ar);
        expand(&mut self.dense, theta, stheta, m, 1.0, &mut self.ma);
    }
}

/// The non-zero lags of [`product`] into `lags`; without a seasonal factor, those of `a`
/// directly.
fn expand(dense: &mut Vec<f64>, a: &[f64], s: &[f64], m: usize, cross: f64, lags: &mut Lags) {
    if s.is_empty() {
        lags.clear();
        lags.extend(
            a.iter()
                .enumerate()
                .map(|(i, &c)| (i + 1, c))
                .filter(|(_, c)| *c != 0.0),
        );
        return;
    }
    product(dense, a, s, m, cross);
    nonzero(dense, lags);
}

/// The coefficients of `(1 + Σ a_i B^i)(1 + Σ s_j B^(jm))` - 1, with the cross terms
/// `a_i s_j` multiplied by `cross`, in `dense` (index = lag).
fn product(dense: &mut Vec<f64>, a: &[f64], s: &[f64], m: usize, cross: f64) {
    dense.clear();
    dense.resize(a.len() + m * s.len() + 1, 0.0);
    for (i, &f) in a.iter().enumerate() {
        dense[i + 1] += f;
    }
    for (j, &g) in s.iter().enumerate() {
        dense[(j + 1) * m] += g;
        for (i, &f) in a.iter().enumerate() {
            dense[(j + 1) * m + i + 1] += cross * f * g;
        }
    }
}

/// The non-zero lags of `dense` (lag 0 excluded) into `lags`.
fn nonzero(dense: &[f64], lags: &mut Lags) {
    lags.clear();
    lags.extend(
        dense
            .iter()
            .copied()
            .enumerate()
            .skip(1)
            .filter(|(_, c)| *c != 0.0),
    );
}

/// Innovations of `w` under the model (zero for the first `start` values); returns their
/// sum of squares. Before the longest MA lag, a lag reaching before the series is left
/// out; past it every lag is in, and the loop runs without that test.
pub(super) fn innovations(
    w: &[f64],
    ar: &Lags,
    ma: &Lags,
    mu: f64,
    start: usize,
    e: &mut [f64],
) -> f64 {
    let n = w.len();
    let start = start.min(n);
    e[..start].fill(0.0);
    let warm = ma.last().map_or(0, |&(k, _)| k).clamp(start, n);
    let step = |t: usize, e: &[f64], ma: &[(usize, f64)]| {
        let mut v = w[t] - mu;
        for &(k, c) in ar {
            v -= c * (w[t - k] - mu);
        }
        for &(k, c) in ma {
            v -= c * e[t - k];
        }
        v
    };
    let mut ssr = 0.0;
    for t in start..warm {
        let reach = ma.partition_point(|&(k, _)| k <= t);
        let v = step(t, e, &ma[..reach]);
        e[t] = v;
        ssr += v * v;
    }
    for t in warm..n {
        let v = step(t, e, ma);
        e[t] = v;
        ssr += v * v;
    }
    ssr
}

/// Whether `1 - sign · Σ c_i z^(i·lag)` has all roots outside the circle of radius
/// `margin` (the Schur-Cohn step-down recursion, in place: every partial
/// autocorrelation inside ±1).
fn stable(c: &[f64], sign: f64, lag: usize, margin: f64) -> bool {
    let rho = margin.powi(lag as i32);
    // The search's orders fit on the stack; longer polynomials (orders asked for) do not.
    let mut stack = [0.0; 8];
    let mut heap = Vec::new();
    let a = if c.len() <= stack.len() {
        &mut stack[..c.len()]
    } else {
        heap.resize(c.len(), 0.0);
        &mut heap[..]
    };
    for (i, (a, v)) in a.iter_mut().zip(c).enumerate() {
        *a = sign * v * rho.powi(i as i32 + 1);
    }
    for k in (0..a.len()).rev() {
        let r = a[k];
        if r.abs() >= 1.0 {
            return false;
        }
        let d = 1.0 - r * r;
        for i in 0..k.div_ceil(2) {
            let (lo, hi) = (a[i], a[k - 1 - i]);
            a[i] = (lo + r * hi) / d;
            a[k - 1 - i] = (hi + r * lo) / d;
        }
    }
    true
}

/// Whether the AR factors are stationary and the MA factors invertible, with every root
/// at least `margin` from the origin (R's `auto.arima` rejects models with a root inside
/// 1.01).
pub(super) fn admissible(order: &Order, x: &[f64], margin: f64) -> bool {
    let (p, q, sp, sq, m) = (order.p, order.q, order.sp, order.sq, order.m);
    stable(&x[..p], 1.0, 1, margin)
        && stable(&x[p..p + q], -1.0, 1, margin)
        && stable(&x[p + q..p + q + sp], 1.0, m, margin)
        && stable(&x[p + q + sp..p + q + sp + sq], -1.0, m, margin)
}

/// A CSS fit on the differenced series.
pub(super) struct Css {
    /// Parameters (layout of [`expand`]), with μ in the units of the series.
    pub x: Vec<f64>,
    /// Mean squared innovation over the non-conditioned values.
    pub sigma2: f64,
}

/// Relative sum-of-squares improvement at which a CSS fit stops. A step that gains less
/// moves the AICc by under `n · 10⁻³` (0.03 on a yearly series of 30 values), and the
/// steps before it gained more: the search's choices rest on larger differences. 1e-6
/// cost a third more CPU than 1e-4 for the same M3 MASE; 1e-3 takes 7 % off the
/// instructions of the ensemble on M3 yearly, every set's MASE within 0.003.
const CSS_TOL: f64 = 1e-3;

/// Fits `order` to `w` by CSS; `None` when there are too few values.
pub(super) fn fit(w: &[f64], order: &Order) -> Option<Css> {
    fit_from(w, order, None)
}

/// [`fit`], started at the coefficients `x0` (μ in the units of `w`) when given, at zero
/// and the mean of `w` otherwise. An `x0` one short of the order's coefficients lacks
/// the constant, which then starts at the mean of `w` too.
pub(super) fn fit_from(w: &[f64], order: &Order, x0: Option<&[f64]>) -> Option<Css> {
    let start = order.p + order.m * order.sp;
    let k = order.n_coef();
    if w.len() <= start + k + 1 {
        return None;
    }
    // Work on a unit-scale copy, so tolerances and the Marquardt damping are scale-free.
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    let sd = (w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
    let scale = if sd > 0.0 { sd } else { 1.0 };
    let z: Vec<f64> = w.iter().map(|v| v / scale).collect();
    let mut x0 = x0.map_or_else(
        || vec![0.0; k - usize::from(order.constant)],
        <[f64]>::to_vec,
    );
    if order.constant && x0.len() < k {
        x0.push(mean);
    }
    if order.constant {
        x0[k - 1] /= scale;
    }
    let scratch = RefCell::new((vec![0.0; w.len()], Expansion::default()));
    let residuals = |x: &[f64], out: &mut [f64]| {
        let mu = if order.constant { x[k - 1] } else { 0.0 };
        let (e, expansion) = &mut *scratch.borrow_mut();
        expansion.set(order, x);
        let ssr = innovations(&z, &expansion.ar, &expansion.ma, mu, start, e);
        out.copy_from_slice(&e[start..]);
        Some(ssr)
    };
    let admissible = |x: &[f64]| admissible(order, x, 1.0);
    let problem = Problem {
        len: w.len() - start,
        residuals: &residuals,
        admissible: &admissible,
        max_iter: 50,
        rel_tol: CSS_TOL,
    };
    let (mut x, ssr) = lm::minimize(&problem, x0)?;
    if order.constant {
        x[k - 1] *= scale;
    }
    Some(Css {
        x,
        sigma2: ssr / (w.len() - start) as f64 * scale * scale,
    })
}
