//! Maximum-likelihood fit of one ETS model, and the AICc search over the model space.

use super::core::{self, State};
use super::init::{self, Bounds};
use super::model::{EtsFit, residual_df};
use super::spec::{ErrorType, Params, SeasonType, Spec, TrendType};
use crate::optim::{NelderMead, Simplex};

/// Which models the automatic search may consider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidates {
    /// Try multiplicative errors (only used when the data are positive).
    pub multiplicative_error: bool,
    /// Try multiplicative seasonality (only used when the data are positive).
    pub multiplicative_season: bool,
    /// Try undamped trends as well as damped ones.
    pub undamped_trend: bool,
    /// Optimise every model briefly and only the best few fully (`None`: all fully).
    pub screening: Option<Screening>,
}

/// The two-stage search: a short optimisation of every model, then the rest of the
/// budget, from where it stopped, for the `keep` models with the smallest AICc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Screening {
    /// Nelder-Mead iterations of the first pass.
    pub iterations: usize,
    /// Models carried into the second pass.
    pub keep: usize,
    /// Where the first pass may drop models early (`None`: every model runs it all).
    pub cut: Option<Cut>,
}

/// A cut part-way through the first pass: after `after` iterations, a model whose AICc
/// exceeds the `keep`-th smallest by more than `margin` stops there. The models that go
/// on do exactly as without the cut, so it changes the search only where a model so far
/// behind would have caught up within the pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    /// Iterations before the cut.
    pub after: usize,
    /// AICc margin behind the `keep`-th best model.
    pub margin: f64,
}

impl Candidates {
    /// Hyndman's and statsforecast's default search: every admissible model, fully fitted.
    pub const FULL: Self = Self {
        multiplicative_error: true,
        multiplicative_season: true,
        undamped_trend: true,
        screening: None,
    };
}

impl Default for Candidates {
    fn default() -> Self {
        Self::FULL
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
        Self {
            spec,
            m,
            n_smoothing,
        }
    }

    /// The parameter vector of smoothing weights `p` and initial state `state`, the
    /// inverse of [`Layout::decode`].
    fn encode(&self, p: &Params, state: &State) -> Vec<f64> {
        let spec = self.spec;
        let mut x = vec![p.alpha];
        if spec.trend != TrendType::None {
            x.push(p.beta);
        }
        if spec.season != SeasonType::None {
            x.push(p.gamma);
        }
        if spec.trend == TrendType::Damped {
            x.push(p.phi);
        }
        x.push(state.level);
        if spec.trend != TrendType::None {
            x.push(state.slope);
        }
        if spec.season != SeasonType::None {
            let newest_first = state.seasonal_newest_first();
            x.extend_from_slice(&newest_first[..newest_first.len() - 1]);
        }
        x
    }

    /// Splits a parameter vector into smoothing weights and the initial state (written
    /// into `state`); `None` when a multiplicative season would need a negative factor.
    fn decode(&self, x: &[f64], state: &mut State) -> Option<Params> {
        let mut it = x.iter().copied();
        let mut next = |used: bool, default: f64| {
            if used {
                it.next().unwrap_or(default)
            } else {
                default
            }
        };
        let alpha = next(true, 0.5);
        let beta = next(self.spec.trend != TrendType::None, 0.0);
        let gamma = next(self.spec.season != SeasonType::None, 0.0);
        let phi = next(self.spec.trend == TrendType::Damped, 1.0);
        let states = &x[self.n_smoothing..];
        let has_slope = self.spec.trend != TrendType::None;
        let slope = if has_slope { states[1] } else { 0.0 };
        let partial = &states[1 + usize::from(has_slope)..];
        let season = match self.spec.season {
            SeasonType::None => None,
            SeasonType::Additive => Some((partial, -partial.iter().sum::<f64>())),
            SeasonType::Multiplicative => {
                let last = self.m as f64 - partial.iter().sum::<f64>();
                if last < 0.0 || partial.iter().any(|&s| s < 0.0) {
                    return None;
                }
                Some((partial, last))
            }
        };
        state.reset(states[0], slope, season);
        Some(Params {
            alpha,
            beta,
            gamma,
            phi,
        })
    }
}

/// Fits one ETS model to `y` with season length `m` (ignored for non-seasonal specs).
/// `None` when the model cannot be fitted (too short a series, or non-positive data for a
/// multiplicative component).
pub fn fit(y: &[f64], m: usize, spec: Spec) -> Option<EtsFit> {
    let problem = Problem::new(y, m, spec, &mut Bounds::default())?;
    let x = problem.optimise(y, &problem.x0, FULL_ITERATIONS);
    problem.finish(y, &x)
}

/// Fits `fit`'s model again on `y`, a series that begins or ends like the one it was
/// fitted on, starting from its estimates: `iterations` Nelder-Mead iterations instead of
/// a search from the heuristic start. `None` as [`fit`].
pub fn refit(y: &[f64], fit: &EtsFit, iterations: usize) -> Option<EtsFit> {
    let problem = Problem::new(y, fit.m, fit.spec, &mut Bounds::default())?;
    let start = problem.layout.encode(&fit.params, &fit.initial);
    let x = problem.optimise(y, &start, iterations);
    problem.finish(y, &x)
}

/// Nelder-Mead iterations of a full fit (statsforecast's budget).
const FULL_ITERATIONS: usize = 1_000;

/// One model's likelihood maximisation: parameter layout, start and bounds.
struct Problem {
    layout: Layout,
    x0: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Problem {
    fn new(y: &[f64], m: usize, spec: Spec, bounds: &mut Bounds) -> Option<Self> {
        let positive = y.iter().all(|&v| v > 0.0);
        let needs_positive =
            spec.error == ErrorType::Multiplicative || spec.season == SeasonType::Multiplicative;
        if needs_positive && !positive {
            return None;
        }
        let m = if spec.season == SeasonType::None {
            1
        } else {
            m
        };
        if m > 1 && y.len() <= m {
            return None;
        }
        let layout = Layout::new(spec, m);
        let start = init::start_params(spec, m, bounds);
        let (level, slope, partial) = init::start_state(y, m, spec)?;
        let mut x0 = Vec::with_capacity(layout.n_smoothing + 2 + m);
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        let used = [
            true,
            spec.trend != TrendType::None,
            spec.season != SeasonType::None,
            spec.trend == TrendType::Damped,
        ];
        for i in (0..4).filter(|&i| used[i]) {
            x0.push(start[i]);
            lower.push(bounds.lower[i]);
            upper.push(bounds.upper[i]);
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
        Some(Self {
            layout,
            x0,
            lower,
            upper,
        })
    }

    /// `-2 log L` at a parameter vector, infinite where it is undefined.
    fn objective<'a>(&'a self, y: &'a [f64]) -> impl FnMut(&[f64]) -> f64 + 'a {
        let spec = self.layout.spec;
        let mut scratch = State::new(0.0, 0.0, &[]);
        move |x: &[f64]| match self.layout.decode(x, &mut scratch) {
            Some(p) => {
                let lik = core::neg2_loglik(spec, &p, &mut scratch, y).max(-1e10);
                if lik.is_nan() { f64::INFINITY } else { lik }
            }
            None => f64::INFINITY,
        }
    }

    /// A simplex started at `start` and run for `iterations` Nelder-Mead iterations.
    fn run(&self, y: &[f64], start: &[f64], iterations: usize) -> Simplex<'_> {
        let mut objective = self.objective(y);
        let mut simplex =
            NelderMead::default().start(&mut objective, start, &self.lower, &self.upper);
        simplex.advance(&mut objective, iterations);
        simplex
    }

    /// Minimises `-2 log L` from `start`; returns the arg-min.
    fn optimise(&self, y: &[f64], start: &[f64], iterations: usize) -> Vec<f64> {
        self.run(y, start, iterations).best().x
    }

    /// The AICc of the best vertex of `simplex`.
    fn aicc(&self, simplex: &Simplex, n: usize) -> f64 {
        aicc(simplex.best().fx, self.x0.len(), n)
    }

    fn finish(&self, y: &[f64], x: &[f64]) -> Option<EtsFit> {
        let mut initial = State::new(0.0, 0.0, &[]);
        let params = self.layout.decode(x, &mut initial)?;
        Some(evaluate(
            y,
            self.layout.m,
            self.layout.spec,
            params,
            initial,
            self.x0.len(),
        ))
    }
}

/// AICc from `-2 log L`, the number of estimated parameters (σ² excluded) and `n`.
fn aicc(neg2_loglik: f64, n_estimated: usize, n: usize) -> f64 {
    let (n, k) = (n as f64, (n_estimated + 1) as f64);
    let aic = neg2_loglik + 2.0 * k;
    let value = if n - k - 1.0 > 0.0 {
        aic + 2.0 * k * (k + 1.0) / (n - k - 1.0)
    } else {
        f64::INFINITY
    };
    if value.is_nan() { f64::INFINITY } else { value }
}

/// The fit statistics of a model with known parameters and initial state.
pub(crate) fn evaluate(
    y: &[f64],
    m: usize,
    spec: Spec,
    params: Params,
    initial: State,
    n_estimated: usize,
) -> EtsFit {
    let mut fitted = Vec::with_capacity(y.len());
    let mut innovations = Vec::with_capacity(y.len());
    let last = core::filter(spec, &params, initial.clone(), y, |_, f, e| {
        fitted.push(f);
        innovations.push(e);
    });
    let neg2_loglik = core::neg2_loglik(spec, &params, &mut initial.clone(), y);
    let sse: f64 = innovations.iter().map(|e| e * e).sum();
    let sigma2 = sse / residual_df(y.len(), n_estimated + 1);
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
        aicc: aicc(neg2_loglik, n_estimated, y.len()),
    }
}

/// The model specs the search visits, in statsforecast's order: by error, then without
/// before with trend, by season, damped before undamped. The order matters because the
/// bounds tightened by one model's start carry over to the next.
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
            for season in [
                SeasonType::None,
                SeasonType::Additive,
                SeasonType::Multiplicative,
            ] {
                let wrong_season = season != SeasonType::None && m < 2;
                let bad_mult = season == SeasonType::Multiplicative
                    && (error == ErrorType::Additive || !positive || !c.multiplicative_season);
                if !(wrong_season || bad_mult) {
                    specs.push(Spec {
                        error,
                        trend,
                        season,
                    });
                }
            }
        }
    }
    specs.sort_by_key(|s| {
        (
            s.error as u8,
            s.trend != TrendType::None,
            s.season as u8,
            s.trend != TrendType::Damped,
        )
    });
    specs
}

/// Fits every candidate model and returns the one with the smallest AICc; `None` if no
/// model could be fitted. A constant series gets simple exponential smoothing with α near
/// one, as in Hyndman's `ets`.
///
/// With `candidates.screening` set, every model first gets a short optimisation, and
/// only the best few by AICc are optimised to the end.
pub fn auto(y: &[f64], m: usize, candidates: Candidates) -> Option<EtsFit> {
    let first = *y.first()?;
    if y.iter().all(|&v| v == first) {
        let spec = Spec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::None,
        };
        let params = Params {
            alpha: 0.9999,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        return Some(evaluate(y, 1, spec, params, State::new(first, 0.0, &[]), 1));
    }
    let m = if y.len() <= m { 1 } else { m };
    let positive = y.iter().all(|&v| v > 0.0);
    let mut bounds = Bounds::default();
    let problems: Vec<Problem> = search_order(m, positive, candidates)
        .into_iter()
        .filter_map(|spec| Problem::new(y, m, spec, &mut bounds))
        .collect();
    let (first_pass, keep, cut) = match candidates.screening {
        Some(s) => (s.iterations.min(FULL_ITERATIONS), s.keep.max(1), s.cut),
        None => (FULL_ITERATIONS, problems.len(), None),
    };
    let before_cut = cut.map_or(first_pass, |c| c.after.min(first_pass));
    let mut runs: Vec<(usize, Simplex, f64)> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let simplex = p.run(y, &p.x0, before_cut);
            let ic = p.aicc(&simplex, y.len());
            (i, simplex, ic)
        })
        .collect();
    if let Some(cut) = cut.filter(|_| runs.len() > keep) {
        let mut ranked: Vec<f64> = runs.iter().map(|r| r.2).collect();
        ranked.sort_by(f64::total_cmp);
        let bar = ranked[keep - 1] + cut.margin;
        runs.retain(|r| r.2 <= bar);
        for (i, simplex, ic) in &mut runs {
            let p = &problems[*i];
            simplex.advance(&mut p.objective(y), first_pass - before_cut);
            *ic = p.aicc(simplex, y.len());
        }
    }
    if first_pass < FULL_ITERATIONS {
        // The best few carry on from where their screening stopped: their fits are
        // those of a full search.
        runs.sort_by(|a, b| a.2.total_cmp(&b.2));
        runs.truncate(keep);
        for (i, simplex, ic) in &mut runs {
            let p = &problems[*i];
            simplex.advance(&mut p.objective(y), FULL_ITERATIONS - first_pass);
            *ic = p.aicc(simplex, y.len());
        }
    }
    let (i, simplex, _) = runs
        .into_iter()
        .filter(|s| s.2 < f64::INFINITY)
        .min_by(|a, b| a.2.total_cmp(&b.2))?;
    problems[i].finish(y, &simplex.best().x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_with_no_margin_to_reach_changes_nothing() {
        let y: Vec<f64> = (0..30)
            .map(|t| 50.0 + 1.5 * t as f64 + ((t * 7) % 5) as f64)
            .collect();
        let screened = |cut| Candidates {
            screening: Some(Screening {
                iterations: 70,
                keep: 3,
                cut,
            }),
            ..Candidates::FULL
        };
        let plain = auto(&y, 1, screened(None)).expect("fits");
        let never = Some(Cut {
            after: 35,
            margin: f64::INFINITY,
        });
        let cut = auto(&y, 1, screened(never)).expect("fits");
        assert_eq!((cut.spec, cut.params), (plain.spec, plain.params));
        assert_eq!(cut.fitted, plain.fitted);
    }

    #[test]
    fn a_refit_starts_from_the_estimates_it_is_given() {
        let y: Vec<f64> = (0..48)
            .map(|t| 60.0 + 0.8 * t as f64 + [9.0, -3.0, 4.0, -8.0][t % 4] + ((t * 7) % 5) as f64)
            .collect();
        for (error, trend, season) in [
            (ErrorType::Additive, TrendType::None, SeasonType::None),
            (ErrorType::Additive, TrendType::Damped, SeasonType::Additive),
            (
                ErrorType::Multiplicative,
                TrendType::Additive,
                SeasonType::Multiplicative,
            ),
        ] {
            let spec = Spec {
                error,
                trend,
                season,
            };
            let fitted = fit(&y, 4, spec).expect("fits");
            // The parameter vector holds the estimates exactly.
            let layout = Layout::new(spec, fitted.m);
            let mut state = State::new(0.0, 0.0, &[]);
            let x = layout.encode(&fitted.params, &fitted.initial);
            assert_eq!(layout.decode(&x, &mut state), Some(fitted.params), "{spec}");
            assert_eq!(state, fitted.initial, "{spec}");
            // Nelder-Mead keeps its best point, so the refit is at least as likely.
            let again = refit(&y, &fitted, 30).expect("refits");
            assert!(again.neg2_loglik <= fitted.neg2_loglik + 1e-9, "{spec}");
            // On a shorter history it fits that history.
            assert_eq!(
                refit(&y[..40], &fitted, 30).expect("refits").fitted.len(),
                40
            );
        }
    }
}
