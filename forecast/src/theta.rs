//! The Theta method in its state-space forms (Fiorucci et al. 2016): standard (STM,
//! θ = 2), optimised (OTM), and their dynamic variants (DSTM, DOTM) whose trend line is
//! re-estimated at each step. [`auto`] deseasonalises when the lag-m autocorrelation is
//! significant, fits the four and keeps the one with the smallest in-sample MSE, as
//! statsforecast's AutoTheta does.

use crate::decompose::{self, Kind};
use crate::optim::NelderMead;

/// One of the four Theta variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Standard Theta method (θ = 2, fixed trend line).
    Stm,
    /// Optimised θ, fixed trend line.
    Otm,
    /// Standard θ, trend line updated each step.
    Dstm,
    /// Optimised θ, trend line updated each step.
    Dotm,
}

impl Variant {
    fn dynamic(self) -> bool {
        matches!(self, Variant::Dstm | Variant::Dotm)
    }
    fn optimised(self) -> bool {
        matches!(self, Variant::Otm | Variant::Dotm)
    }
    /// The variant's short name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Stm => "STM",
            Variant::Otm => "OTM",
            Variant::Dstm => "DSTM",
            Variant::Dotm => "DOTM",
        }
    }
}

/// Recursion state: smoothed level, running mean, trend line intercept and slope.
#[derive(Debug, Clone, Copy)]
struct State {
    level: f64,
    mean: f64,
    a: f64,
    b: f64,
}

impl State {
    /// The forecast for time `i` (0-based) made at time `i - 1`; `decay` is `(1 - α)^i`,
    /// which callers carry from step to step.
    fn predict(&self, decay: f64, alpha: f64, theta: f64) -> f64 {
        self.level
            + (1.0 - 1.0 / theta)
                * (self.a * decay + self.b * (1.0 - decay * (1.0 - alpha)) / alpha)
    }

    fn update(&mut self, i: usize, alpha: f64, y: f64, dynamic: bool) {
        self.level = alpha * y + (1.0 - alpha) * self.level;
        self.update_line(i, y, dynamic);
    }

    /// The running mean and, for the dynamic variants, the trend line, having observed
    /// `y` at time `i`: they do not depend on α or θ.
    fn update_line(&mut self, i: usize, y: f64, dynamic: bool) {
        let fi = i as f64;
        let old_mean = self.mean;
        self.mean = (fi * old_mean + y) / (fi + 1.0);
        if dynamic {
            self.b = ((fi - 1.0) * self.b + 6.0 * (y - old_mean) / (fi + 1.0)) / (fi + 2.0);
            self.a = self.mean - self.b * (fi + 2.0) / 2.0;
        }
    }
}

/// A fitted Theta model (on the deseasonalised scale when `seasonal` is set).
#[derive(Debug, Clone)]
pub struct ThetaFit {
    /// Variant chosen.
    pub variant: Variant,
    /// Smoothing weight.
    pub alpha: f64,
    /// θ coefficient.
    pub theta: f64,
    /// Initial smoothed level.
    pub initial_level: f64,
    /// In-sample MSE criterion (sum of squared errors after three burn-in steps, over mean |y|).
    pub mse: f64,
    /// One-step in-sample forecasts, on the original scale.
    pub fitted: Vec<f64>,
    /// Standard deviation of the one-step errors after burn-in (deseasonalised scale).
    pub sigma: f64,
    /// Seasonal factors (multiplicative) or terms (additive) for each future step's
    /// position in the season, if the series was deseasonalised.
    pub seasonal: Option<(Kind, Vec<f64>)>,
    last: State,
    n: usize,
}

struct Run {
    errors: Vec<f64>,
    last: State,
}

/// The running mean and trend line after each observation: entry `t - 1` holds the
/// state's `mean`, `a` and `b` after observing `y[..t]` (its level is unused). The line
/// starts as the series' least-squares line for the static variants, the first value and
/// no slope for the dynamic ones. None of it depends on the parameters, so an
/// optimisation computes it once, not at every evaluation.
fn lines(y: &[f64], variant: Variant) -> Vec<State> {
    let (a, b) = if variant.dynamic() {
        (y[0], 0.0)
    } else {
        decompose::linear_trend(y)
    };
    let mut state = State {
        level: 0.0,
        mean: y[0],
        a,
        b,
    };
    let mut lines = Vec::with_capacity(y.len());
    lines.push(state);
    for (i, &obs) in y.iter().enumerate().skip(1) {
        state.update_line(i, obs, variant.dynamic());
        lines.push(state);
    }
    lines
}

fn run(y: &[f64], variant: Variant, level0: f64, alpha: f64, theta: f64) -> Run {
    let mut errors = Vec::with_capacity(y.len());
    let last = recurse(
        y,
        variant,
        &lines(y, variant),
        (level0, alpha, theta),
        |e| errors.push(e),
        |_, _| (),
    );
    Run { errors, last }
}

/// The recursion over `y` along its [`lines`] with the initial level, α and θ of
/// `params`: calls `error(e)` with each one-step error and `visit(t, state)` with the
/// state after observing `y[..t]`, and returns the last state.
fn recurse(
    y: &[f64],
    variant: Variant,
    lines: &[State],
    (level0, alpha, theta): (f64, f64, f64),
    mut error: impl FnMut(f64),
    mut visit: impl FnMut(usize, &State),
) -> State {
    let at = |t: usize, level: f64| State {
        level,
        ..lines[t - 1]
    };
    let mu0 = if variant.dynamic() {
        y[0]
    } else {
        level0 + (1.0 - 1.0 / theta) * (lines[0].a + lines[0].b)
    };
    let mut level = alpha * y[0] + (1.0 - alpha) * level0;
    error(y[0] - mu0);
    visit(1, &at(1, level));
    let mut decay = 1.0;
    for (i, &obs) in y.iter().enumerate().skip(1) {
        decay *= 1.0 - alpha;
        error(obs - at(i, level).predict(decay, alpha, theta));
        level = alpha * obs + (1.0 - alpha) * level;
        visit(i + 1, &at(i + 1, level));
    }
    at(y.len(), level)
}

/// When a variant's Nelder-Mead stops, besides its iteration budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// statsforecast's: the simplex's criterion values spread by under 10⁻⁴. The
    /// criterion is in the data's units, so on data in the thousands this asks for a
    /// relative precision of about 10⁻⁹.
    Reference,
    /// The values spread by under this fraction of the criterion at the start: the same
    /// precision whatever the data's scale.
    Relative(f64),
}

/// Where a variant's optimisation starts (the initial level, α and θ), how many
/// Nelder-Mead iterations it gets and when it stops.
#[derive(Debug, Clone, Copy)]
struct Start {
    level: f64,
    alpha: f64,
    theta: f64,
    iterations: usize,
    tolerance: Tolerance,
}

impl Start {
    /// The heuristic start of a fit from nothing, with the full budget.
    fn cold(y: &[f64], tolerance: Tolerance) -> Self {
        Self {
            level: y[0] / 2.0,
            alpha: 0.5,
            theta: 2.0,
            iterations: NelderMead::default().max_iter,
            tolerance,
        }
    }
}

/// Fits one variant to a (deseasonalised) series of at least four values.
fn fit_variant(y: &[f64], variant: Variant, start: Start) -> (f64, f64, f64, f64) {
    let mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
    let mut x0 = vec![start.level, start.alpha];
    let (mut lower, mut upper) = (vec![-1e10, 0.1], vec![1e10, 0.99]);
    if variant.optimised() {
        x0.push(start.theta);
        lower.push(1.0);
        upper.push(1e10);
    }
    let theta_of = |x: &[f64]| if variant.optimised() { x[2] } else { 2.0 };
    let lines = lines(y, variant);
    // The criterion: squared errors after three burn-in steps, over the mean |y|.
    let objective = |x: &[f64]| {
        let (mut seen, mut sse) = (0, 0.0);
        let sum = |e: f64| {
            if seen >= 3 {
                sse += e * e;
            }
            seen += 1;
        };
        recurse(
            y,
            variant,
            &lines,
            (x[0], x[1], theta_of(x)),
            sum,
            |_, _| (),
        );
        let v = sse / mean_abs.max(1e-10);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let reference = NelderMead::default().tol_std;
    let tol_std = match start.tolerance {
        Tolerance::Reference => reference,
        Tolerance::Relative(r) => Some(r * objective(&x0).abs())
            .filter(|t| t.is_finite())
            .unwrap_or(reference),
    };
    let nm = NelderMead {
        max_iter: start.iterations,
        tol_std,
        ..NelderMead::default()
    };
    let best = nm.minimize(objective, &x0, &lower, &upper);
    (best.x[0], best.x[1], theta_of(&best.x), best.fx)
}

/// Deseasonalises `y` if it passes the seasonality test; returns the adjusted series and
/// the seasonal index of each period.
fn deseasonalise(y: &[f64], m: usize) -> Option<(Vec<f64>, Kind, Vec<f64>)> {
    if !decompose::is_seasonal(y, m) {
        return None;
    }
    let positive = y.iter().all(|&v| v > 0.0);
    let mut kind = if positive {
        Kind::Multiplicative
    } else {
        Kind::Additive
    };
    let mut idx = decompose::seasonal_indices(y, m, kind);
    if kind == Kind::Multiplicative && idx.iter().any(|&s| s < 0.01) {
        kind = Kind::Additive;
        idx = decompose::seasonal_indices(y, m, kind);
    }
    let adjusted = y
        .iter()
        .enumerate()
        .map(|(t, &v)| deseason(kind, v, idx[t % m]))
        .collect();
    Some((adjusted, kind, idx))
}

fn deseason(kind: Kind, v: f64, s: f64) -> f64 {
    match kind {
        Kind::Additive => v - s,
        Kind::Multiplicative => v / s,
    }
}

fn reseason(kind: Kind, v: f64, s: f64) -> f64 {
    match kind {
        Kind::Additive => v + s,
        Kind::Multiplicative => v * s,
    }
}

/// Fits the given variants (all four for AutoTheta) to statsforecast's tolerance and
/// keeps the best by in-sample MSE. `None` for series shorter than four values.
pub fn auto(y: &[f64], m: usize, variants: &[Variant]) -> Option<ThetaFit> {
    fit_each(y, m, variants, Tolerance::Reference)?
        .into_iter()
        .min_by(|a, b| a.mse.total_cmp(&b.mse))
}

/// Fits each of the given variants on the same (deseasonalised) series, in order, each
/// to `tolerance`. `None` for series shorter than four values or no variant.
pub fn fit_each(
    y: &[f64],
    m: usize,
    variants: &[Variant],
    tolerance: Tolerance,
) -> Option<Vec<ThetaFit>> {
    fit_from(y, m, variants, |series| Start::cold(series, tolerance))
}

/// Fits `fit`'s variant again on `y`, a series that begins or ends like the one it was
/// fitted on, starting from its estimates with `iterations` Nelder-Mead iterations, to
/// `tolerance`. `None` as [`fit_each`].
pub fn refit(
    y: &[f64],
    m: usize,
    fit: &ThetaFit,
    iterations: usize,
    tolerance: Tolerance,
) -> Option<ThetaFit> {
    let start = |_: &[f64]| Start {
        level: fit.initial_level,
        alpha: fit.alpha,
        theta: fit.theta,
        iterations,
        tolerance,
    };
    fit_from(y, m, &[fit.variant], start)?.pop()
}

/// [`fit_each`], each variant's optimisation started at `start(series)`.
fn fit_from(
    y: &[f64],
    m: usize,
    variants: &[Variant],
    start: impl Fn(&[f64]) -> Start,
) -> Option<Vec<ThetaFit>> {
    if y.len() < 4 || variants.is_empty() {
        return None;
    }
    let seasonal = deseasonalise(y, m);
    let series = seasonal.as_ref().map_or(y, |(adj, _, _)| adj.as_slice());
    let future_seasonal: Option<(Kind, Vec<f64>)> = seasonal
        .as_ref()
        .map(|(_, kind, idx)| (*kind, (0..m).map(|j| idx[(y.len() + j) % m]).collect()));
    let fits = variants
        .iter()
        .map(|&variant| {
            let (level0, alpha, theta, mse) = fit_variant(series, variant, start(series));
            let run = run(series, variant, level0, alpha, theta);
            let tail = &run.errors[3.min(run.errors.len())..];
            let sigma = sample_sd(if tail.len() >= 2 { tail } else { &run.errors });
            let fitted = series
                .iter()
                .zip(&run.errors)
                .enumerate()
                .map(|(t, (v, e))| match &seasonal {
                    Some((_, kind, idx)) => reseason(*kind, v - e, idx[t % m]),
                    None => v - e,
                })
                .collect();
            ThetaFit {
                variant,
                alpha,
                theta,
                initial_level: level0,
                mse,
                fitted,
                sigma,
                seasonal: future_seasonal.clone(),
                last: run.last,
                n: y.len(),
            }
        })
        .collect();
    Some(fits)
}

fn sample_sd(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt()
}

impl ThetaFit {
    /// Point forecasts for `h` steps, reseasonalised.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        self.path(self.last, self.n, h)
    }

    /// The `h`-step forecasts from each origin `t` of `origins` (ascending, from 1 to
    /// `y.len()`), made after observing `y[..t]` with the fitted parameters and seasonal
    /// indices: the in-sample track record a combination weighs this model by.
    pub fn forecasts_from(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let series: Vec<f64> = match &self.seasonal {
            Some((kind, _)) => y
                .iter()
                .enumerate()
                .map(|(t, &v)| deseason(*kind, v, self.index_at(t)))
                .collect(),
            None => y.to_vec(),
        };
        let mut states = Vec::with_capacity(origins.len());
        let mut next = origins.iter().peekable();
        let visit = |t: usize, state: &State| {
            while next.next_if(|&&o| o == t).is_some() {
                states.push((t, *state));
            }
        };
        let params = (self.initial_level, self.alpha, self.theta);
        let lines = lines(&series, self.variant);
        recurse(&series, self.variant, &lines, params, |_| (), visit);
        states
            .into_iter()
            .map(|(t, state)| self.path(state, t, h))
            .collect()
    }

    /// `h` forecasts from `state`, the state after `t` observations, reseasonalised.
    fn path(&self, mut state: State, t: usize, h: usize) -> Vec<f64> {
        let mut decay = (1.0 - self.alpha).powi(t as i32);
        (0..h)
            .map(|j| {
                let i = t + j;
                let f = state.predict(decay, self.alpha, self.theta);
                decay *= 1.0 - self.alpha;
                state.update(i, self.alpha, f, self.variant.dynamic());
                match &self.seasonal {
                    Some((kind, _)) => reseason(*kind, f, self.index_at(i)),
                    None => f,
                }
            })
            .collect()
    }

    /// The seasonal index of period `t` (0-based from the first observation).
    fn index_at(&self, t: usize) -> f64 {
        match &self.seasonal {
            // The stored indices start at period n.
            Some((_, s)) => s[(t % s.len() + s.len() - self.n % s.len()) % s.len()],
            None => 1.0,
        }
    }

    /// Degrees of freedom of `sigma`: the errors it is computed from (all but the first
    /// three), less the level and α, θ when optimised, and the seasonal indices.
    pub fn df(&self) -> f64 {
        let fitted = 2 + usize::from(self.variant.optimised());
        let indices = self.seasonal.as_ref().map_or(0, |(_, s)| s.len() - 1);
        (self.n as f64 - 3.0 - (fitted + indices) as f64).max(1.0)
    }

    /// The seasonal factor (1 when additive or non-seasonal) applied to step `j`.
    pub fn scale(&self, j: usize) -> f64 {
        match &self.seasonal {
            Some((Kind::Multiplicative, s)) => s[j % s.len()],
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_theta_on_a_line_extrapolates_half_its_slope_plus_ses() {
        let y: Vec<f64> = (0..40).map(|t| 5.0 + 2.0 * t as f64).collect();
        let fit = auto(&y, 1, &[Variant::Stm]).expect("fits");
        let f = fit.forecast(3);
        assert!(f[1] > f[0] && f[2] > f[1], "{f:?}");
        assert!(
            (f[1] - f[0] - 1.0).abs() < 0.2,
            "slope of the theta line is b/2: {f:?}"
        );
    }

    #[test]
    fn forecasts_from_an_origin_replay_the_fit() {
        let pattern = [1.3, 0.8, 0.9, 1.0];
        let y: Vec<f64> = (0..41)
            .map(|t| (100.0 + t as f64 + ((t * 7) % 5) as f64) * pattern[t % 4])
            .collect();
        for variant in [Variant::Otm, Variant::Dotm] {
            let fit = auto(&y, 4, &[variant]).expect("fits");
            assert!(fit.seasonal.is_some());
            let origins = [10, 29, 41];
            let paths = fit.forecasts_from(&y, &origins, 5);
            // The first step from origin t is the in-sample one-step forecast of y[t].
            for (&o, path) in origins[..2].iter().zip(&paths) {
                assert!(
                    (path[0] - fit.fitted[o]).abs() < 1e-9,
                    "{variant:?} origin {o}"
                );
            }
            assert_eq!(paths[2], fit.forecast(5), "{variant:?}");
        }
    }

    #[test]
    fn seasonal_series_is_deseasonalised_and_reseasonalised() {
        let pattern = [1.3, 0.8, 0.9, 1.0];
        let y: Vec<f64> = (0..40).map(|t| 100.0 * pattern[t % 4]).collect();
        let fit = auto(&y, 4, &[Variant::Stm, Variant::Otm]).expect("fits");
        let f = fit.forecast(4);
        for (got, want) in f.iter().zip(pattern) {
            assert!((got - 100.0 * want).abs() < 1.0, "{f:?}");
        }
    }
}
