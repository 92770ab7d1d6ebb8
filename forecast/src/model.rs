//! Model choice and dispatch: what a caller asks for ([`Spec`], [`Method`]) and how each
//! method's fit becomes a [`Forecast`].

use crate::arima::{self, ArimaFit};
use crate::combine::{self, Member, Refit, Validation};
use crate::ets::{self, Candidates, Cut, EtsFit, Screening};
use crate::intermittent::{self, Pattern};
use crate::predictive::{Combine, Forecast, Predictive};
use crate::theta::{self, ThetaFit, Tolerance, Variant};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// Which forecasting method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Intermittent series get [`Method::Intermittent`], the others [`Method::Ensemble`].
    Auto,
    /// ETS chosen by AICc.
    Ets,
    /// Theta variant chosen by in-sample MSE (AutoTheta).
    Theta,
    /// ARIMA chosen by a stepwise AICc search (AutoARIMA).
    Arima,
    /// Combination of ETS, the better of OTM and DOTM, DOTM and AutoARIMA, weighted by
    /// their in-sample validation errors.
    Ensemble,
    /// Croston, α = 0.1.
    Croston,
    /// Croston with both weights optimised.
    CrostonOptimized,
    /// Syntetos-Boylan approximation.
    Sba,
    /// Teunter-Syntetos-Babai.
    Tsb,
    /// Aggregate-disaggregate intermittent demand approach.
    Adida,
    /// Multiple aggregation levels.
    Imapa,
    /// Intermittent method chosen by the ADI/CV² class.
    Intermittent,
}

/// Every method with its command-line name.
pub const METHODS: [(&str, Method); 12] = [
    ("auto", Method::Auto),
    ("ets", Method::Ets),
    ("theta", Method::Theta),
    ("arima", Method::Arima),
    ("ensemble", Method::Ensemble),
    ("croston", Method::Croston),
    ("croston_optimized", Method::CrostonOptimized),
    ("sba", Method::Sba),
    ("tsb", Method::Tsb),
    ("adida", Method::Adida),
    ("imapa", Method::Imapa),
    ("intermittent", Method::Intermittent),
];

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = METHODS
            .iter()
            .find(|(_, m)| m == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

/// A method name that is not one of [`METHODS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown model `{0}`; expected one of auto, ets, theta, arima, ensemble, croston, croston_optimized, sba, tsb, adida, imapa, intermittent"
)]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_ascii_lowercase();
        METHODS
            .iter()
            .find(|(n, _)| *n == key)
            .map(|(_, m)| *m)
            .ok_or_else(|| UnknownMethod(s.to_owned()))
    }
}

/// What to forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    /// Number of periods ahead.
    pub horizon: usize,
    /// Periods per seasonal cycle (1 for none; 12 for monthly data).
    pub season_length: usize,
    /// Method.
    pub method: Method,
    /// How the ensemble combines its members.
    pub combine: Combine,
}

impl Spec {
    /// The default method ([`Method::Auto`], mean combination) for a horizon and season.
    pub fn new(horizon: usize, season_length: usize) -> Self {
        Self {
            horizon,
            season_length,
            method: Method::Auto,
            combine: Combine::Mean,
        }
    }
}

/// Why a series could not be forecast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// No observations.
    #[error("the series is empty")]
    Empty,
    /// A missing or infinite value.
    #[error("value {index} of the series is not a finite number")]
    NotFinite {
        /// 0-based position of the value.
        index: usize,
    },
    /// Horizon of zero.
    #[error("the horizon must be at least 1")]
    ZeroHorizon,
}

/// The ETS search inside the ensemble: every model gets 70 Nelder-Mead iterations and
/// the three best by AICc carry on to the full budget (bench/forecast: the ensemble's M3
/// monthly MASE moved by 0.003 against the full search with 100 iterations). With 70
/// instead of 100, the ensemble took 5 % fewer instructions on M3 yearly and no set's
/// MASE rose by more than 0.001; with 50, 9 % fewer, but M3 other's MASE rose by 0.005.
const SCREENING: Screening = Screening {
    iterations: 70,
    keep: 3,
    cut: None,
};

/// The ensemble's ETS search on seasonal data ([`SCREENING`]).
const FAST_ETS: Candidates = Candidates {
    screening: Some(SCREENING),
    ..Candidates::FULL
};

/// [`FAST_ETS`] for non-seasonal data, whose first pass stops after 35 iterations the
/// models more than 5 behind the third best AICc ([`ets::Cut`]): 5, 9 and 4 % fewer
/// instructions on M3 yearly, M3 other and M1 yearly (bench/forecast), M3 other's MASE
/// 1.773 -> 1.771, M3 yearly's 2.576 -> 2.577, M1 yearly's forecasts unchanged. With a
/// margin of 10: 2, 5 and 2 % fewer; cut after 25 iterations, M3 other's
/// MASE rose to 1.776 (margin 10) and 1.778 (margin 5). On the seasonal sets, with up
/// to 15 models to screen, the cut after 35 with a margin of 10 moved M3 quarterly's
/// MASE by +0.005 and M1 quarterly's by +0.003.
const FAST_ETS_NONSEASONAL: Candidates = Candidates {
    screening: Some(Screening {
        cut: Some(Cut {
            after: 35,
            margin: 5.0,
        }),
        ..SCREENING
    }),
    ..FAST_ETS
};

/// Forecasts one series. See the crate documentation for the contract.
pub fn forecast(series: &[f64], spec: &Spec) -> Result<Forecast, ForecastError> {
    if series.is_empty() {
        return Err(ForecastError::Empty);
    }
    if let Some(index) = series.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::NotFinite { index });
    }
    if spec.horizon == 0 {
        return Err(ForecastError::ZeroHorizon);
    }
    let (h, m) = (spec.horizon, spec.season_length.max(1));
    let method = match spec.method {
        Method::Auto if is_intermittent(series) => Method::Intermittent,
        Method::Auto => Method::Ensemble,
        other => other,
    };
    let forecast = match method {
        Method::Ets => ets_forecast(series, m, h, Candidates::default()),
        Method::Theta => theta_forecast(series, m, h),
        Method::Arima => arima_forecast(series, m, h),
        Method::Ensemble => ensemble(series, m, h, spec.combine),
        flat => flat_forecast(series, flat, m, h),
    };
    Ok(forecast.unwrap_or_else(|| fallback(series, h)))
}

/// Whether a series looks like intermittent demand: some zero periods and an average
/// inter-demand interval of 1.32 or more.
pub fn is_intermittent(series: &[f64]) -> bool {
    series.contains(&0.0) && intermittent::adi_cv2(series).is_none_or(|(adi, _)| adi >= 1.32)
}

fn nonnegative(y: &[f64]) -> bool {
    y.iter().all(|&v| v >= 0.0)
}

fn residuals(y: &[f64], fitted: &[f64]) -> Vec<f64> {
    y.iter().zip(fitted).map(|(v, f)| v - f).collect()
}

fn from_ets(y: &[f64], fit: EtsFit, h: usize) -> Forecast {
    let predictive = if fit.is_linear() {
        Predictive::Linear {
            sigma2: fit.sigma2,
            weights: fit.error_weights(h),
            scale: vec![1.0; h],
            df: fit.df(),
        }
    } else {
        Predictive::Nonlinear(Box::new(fit.clone()), OnceLock::new())
    };
    Forecast {
        model: fit.spec.to_string(),
        mean: fit.forecast(h),
        residuals: residuals(y, &fit.fitted),
        fitted: fit.fitted,
        predictive,
        nonnegative: nonnegative(y),
    }
}

fn ets_forecast(y: &[f64], m: usize, h: usize, candidates: Candidates) -> Option<Forecast> {
    ets::auto(y, m, candidates).map(|fit| from_ets(y, fit, h))
}

fn arima_forecast(y: &[f64], m: usize, h: usize) -> Option<Forecast> {
    arima::auto(y, m).map(|fit| from_arima(y, fit, h))
}

fn from_arima(y: &[f64], fit: ArimaFit, h: usize) -> Forecast {
    Forecast {
        model: fit.order.to_string(),
        mean: fit.forecast(h),
        residuals: residuals(y, &fit.fitted),
        predictive: Predictive::Linear {
            sigma2: fit.sigma2,
            weights: fit.psi_weights(h),
            scale: vec![1.0; h],
            df: fit.df,
        },
        fitted: fit.fitted,
        nonnegative: nonnegative(y),
    }
}

const THETA_VARIANTS: [Variant; 4] = [Variant::Stm, Variant::Otm, Variant::Dstm, Variant::Dotm];

fn theta_forecast(y: &[f64], m: usize, h: usize) -> Option<Forecast> {
    theta::auto(y, m, &THETA_VARIANTS).map(|fit| from_theta(y, &fit, h))
}

/// The ensemble: ETS, the better optimised Theta, DOTM and AutoARIMA, each with its validation
/// track, combined by [`combine::combine`]. A member is one `extend` here.
fn ensemble(y: &[f64], m: usize, h: usize, how: Combine) -> Option<Forecast> {
    let validation = Validation::of(y.len(), h, m);
    let v = validation.as_ref();
    let mut members: Vec<Member> = Vec::new();
    let candidates = if m > 1 {
        FAST_ETS
    } else {
        FAST_ETS_NONSEASONAL
    };
    members.extend(ets::auto(y, m, candidates).map(|fit| Member {
        track: track(
            v,
            y,
            &fit,
            |head| ets::refit(head, &fit, WARM_ITERATIONS),
            |f, y, o, s| f.forecasts_from(y, o, s),
        ),
        forecast: from_ets(y, fit, h),
    }));
    members.extend(theta_members(y, m, h, v));
    members.extend(arima::auto(y, m).map(|fit| Member {
        track: track(
            v,
            y,
            &fit,
            |head| arima::refit(head, &fit),
            |f, y, o, s| f.forecasts_from(y, o, s),
        ),
        forecast: from_arima(y, fit, h),
    }));
    combine::combine(y, v, members, how)
}

/// Nelder-Mead iterations of an ETS or Theta member's refit for its validation forecasts,
/// started from its estimates on the whole series. M3 quarterly's 80 / 95 % coverage was
/// 79.6 / 91.2 with fits from the heuristic start (a full search each), 79.4 / 90.9 with
/// 100 iterations from the estimates and 79.0 / 90.8 with 10.
const WARM_ITERATIONS: usize = 30;

/// A member's validation forecasts, empty without validation: `paths(fit, y, origins,
/// steps)` from fits of `full`'s form on the history the origins have seen
/// ([`Validation::refit`]). An origin where such a fit fails keeps the forecast of `full`,
/// the fit on all of `y`.
fn track<F>(
    v: Option<&Validation>,
    y: &[f64],
    full: &F,
    fit: impl Fn(&[f64]) -> Option<F>,
    paths: impl Fn(&F, &[f64], &[usize], usize) -> Vec<Vec<f64>>,
) -> Vec<Vec<f64>> {
    let Some(v) = v else {
        return Vec::new();
    };
    let filtered = || paths(full, y, &v.origins, v.steps);
    match v.refit {
        Refit::Once => match fit(&y[..v.origins[0]]) {
            Some(head) => paths(&head, y, &v.origins, v.steps),
            None => filtered(),
        },
        Refit::Each => {
            let refits: Vec<Option<Vec<f64>>> = v
                .origins
                .iter()
                .map(|&o| {
                    let head = &y[..o];
                    Some(paths(&fit(head)?, head, &[o], v.steps).swap_remove(0))
                })
                .collect();
            if refits.iter().all(Option::is_some) {
                return refits.into_iter().flatten().collect();
            }
            refits
                .into_iter()
                .zip(filtered())
                .map(|(refit, filter)| refit.unwrap_or(filter))
                .collect()
        }
    }
}

/// How closely the ensemble's Theta fits and refits minimise their criterion: to a
/// relative 10⁻⁵ rather than statsforecast's absolute 10⁻⁴, which on data in the
/// thousands polishes estimates far past what their forecasts show (bench/forecast: 6 %
/// fewer instructions on M3 yearly, every set's MASE within 0.001).
const THETA_TOLERANCE: Tolerance = Tolerance::Relative(1e-5);

/// The Theta variants the ensemble fits: the optimised ones. Each nests its standard
/// variant (θ = 2 is inside its bounds and where its optimisation starts), so STM or
/// DSTM wins AutoTheta's choice only where the optimiser stops short of that; leaving
/// them out moved every set's MASE by at most 0.002 (bench/forecast) for 4 % fewer
/// instructions on M3 yearly.
const ENSEMBLE_THETA: [Variant; 2] = [Variant::Otm, Variant::Dotm];

/// The better of OTM and DOTM by in-sample MSE (AutoTheta's choice but for the standard
/// variants, [`ENSEMBLE_THETA`]), and DOTM, the best single Theta variant on M3
/// (Fiorucci et al. 2016). Both join the ensemble: DOTM counts twice when it is the
/// better, and its validation refits are then run once.
fn theta_members(y: &[f64], m: usize, h: usize, v: Option<&Validation>) -> Vec<Member> {
    let Some(fits) = theta::fit_each(y, m, &ENSEMBLE_THETA, THETA_TOLERANCE) else {
        return vec![];
    };
    let member = |fit: &ThetaFit| Member {
        track: track(
            v,
            y,
            fit,
            |head| theta::refit(head, m, fit, WARM_ITERATIONS, THETA_TOLERANCE),
            |f, y, o, s| f.forecasts_from(y, o, s),
        ),
        forecast: from_theta(y, fit, h),
    };
    let Some(best) = fits.iter().min_by(|a, b| a.mse.total_cmp(&b.mse)) else {
        return vec![];
    };
    let first = member(best);
    let dotm = if best.variant == Variant::Dotm {
        Some(first.clone())
    } else {
        fits.iter().find(|f| f.variant == Variant::Dotm).map(member)
    };
    std::iter::once(first).chain(dotm).collect()
}

fn from_theta(y: &[f64], fit: &ThetaFit, h: usize) -> Forecast {
    let mut weights = vec![fit.alpha; h];
    weights[0] = 1.0;
    Forecast {
        model: format!("Theta({})", fit.variant.name()),
        mean: fit.forecast(h),
        residuals: residuals(y, &fit.fitted),
        predictive: Predictive::Linear {
            sigma2: fit.sigma * fit.sigma,
            weights,
            scale: (0..h).map(|j| fit.scale(j)).collect(),
            df: fit.df(),
        },
        fitted: fit.fitted.clone(),
        nonnegative: nonnegative(y),
    }
}

/// The flat method an ADI/CV² class calls for: frequent demand is smoothed directly
/// (ADIDA at level 1 is SES), infrequent demand is combined over aggregation levels.
fn method_for(pattern: Option<Pattern>) -> Flat {
    match pattern {
        Some(Pattern::Smooth | Pattern::Erratic) => Flat::Adida,
        Some(Pattern::Intermittent | Pattern::Lumpy) | None => Flat::Aggregation,
    }
}

/// The flat (constant-forecast) methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flat {
    Croston,
    CrostonOptimized,
    Sba,
    Tsb,
    Adida,
    Imapa,
    Aggregation,
}

impl Flat {
    fn of(method: Method, y: &[f64]) -> Self {
        match method {
            Method::Croston => Flat::Croston,
            Method::CrostonOptimized => Flat::CrostonOptimized,
            Method::Sba => Flat::Sba,
            Method::Tsb => Flat::Tsb,
            Method::Adida => Flat::Adida,
            Method::Imapa => Flat::Imapa,
            _ => method_for(intermittent::classify(y)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Flat::Croston => "Croston",
            Flat::CrostonOptimized => "CrostonOptimized",
            Flat::Sba => "SBA",
            Flat::Tsb => "TSB",
            Flat::Adida => "ADIDA",
            Flat::Imapa => "IMAPA",
            Flat::Aggregation => "Mean(ADIDA, IMAPA, SeasonLevel)",
        }
    }

    fn value(self, y: &[f64], m: usize) -> f64 {
        match self {
            Flat::Croston => intermittent::croston(y),
            Flat::CrostonOptimized => intermittent::croston_optimised(y),
            Flat::Sba => intermittent::sba(y),
            Flat::Tsb => intermittent::tsb(y, 0.1, 0.1),
            Flat::Adida => intermittent::adida(y),
            Flat::Imapa => intermittent::imapa(y),
            Flat::Aggregation => intermittent::aggregation_combo(y, m),
        }
    }
}

fn flat_forecast(y: &[f64], method: Method, m: usize, h: usize) -> Option<Forecast> {
    let chosen = Flat::of(method, y);
    let fitted = intermittent::rolling_fitted(y, |prefix| chosen.value(prefix, m));
    let res = residuals(y, &fitted);
    let finite: Vec<f64> = res.iter().copied().filter(|v| v.is_finite()).collect();
    let sigma2 = if finite.is_empty() {
        0.0
    } else {
        finite.iter().map(|e| e * e).sum::<f64>() / finite.len() as f64
    };
    let mut weights = vec![0.0; h];
    weights[0] = 1.0;
    Some(Forecast {
        model: chosen.name().to_owned(),
        mean: vec![chosen.value(y, m); h],
        fitted,
        residuals: res,
        // Rolling one-step errors, each out of sample: no parameter was fitted to them.
        predictive: Predictive::Linear {
            sigma2,
            weights,
            scale: vec![1.0; h],
            df: f64::INFINITY,
        },
        nonnegative: nonnegative(y),
    })
}

/// Naive forecast for series no model can fit (too short): the last value.
fn fallback(y: &[f64], h: usize) -> Forecast {
    let last = y[y.len() - 1];
    let fitted: Vec<f64> = std::iter::once(f64::NAN)
        .chain(y[..y.len() - 1].iter().copied())
        .collect();
    let res = residuals(y, &fitted);
    let finite: Vec<f64> = res.iter().copied().filter(|v| v.is_finite()).collect();
    let sigma2 = if finite.is_empty() {
        0.0
    } else {
        finite.iter().map(|e| e * e).sum::<f64>() / finite.len() as f64
    };
    Forecast {
        model: "Naive".to_owned(),
        mean: vec![last; h],
        fitted,
        residuals: res,
        predictive: Predictive::Linear {
            sigma2,
            weights: vec![1.0; h],
            scale: vec![1.0; h],
            df: f64::INFINITY,
        },
        nonnegative: nonnegative(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_forecasts_see_only_the_history_before_their_origins() {
        let y: Vec<f64> = (0..40).map(f64::from).collect();
        // A "fit" is the length of the history it saw, and its forecasts repeat it; the
        // fit on all of `y` is -1.
        let paths = |f: &f64, _: &[f64], origins: &[usize], s: usize| -> Vec<Vec<f64>> {
            origins.iter().map(|_| vec![*f; s]).collect()
        };
        let fails_on =
            |bad: usize| move |head: &[f64]| (head.len() != bad).then_some(head.len() as f64);
        // 20 points validate 4 steps: short of a horizon of 6, so a non-seasonal series
        // is refitted at each origin; an origin whose fit fails (17) keeps the fit on all.
        let v = Validation::of(20, 6, 1).expect("long enough");
        assert_eq!(v.refit, Refit::Each);
        assert_eq!(
            track(Some(&v), &y[..20], &-1.0, fails_on(17), paths),
            [vec![16.0; 4], vec![-1.0; 4], vec![18.0; 4], vec![19.0; 4]]
        );
        // A seasonal or a longer series is fitted once, before its first origin.
        assert_eq!(
            Validation::of(20, 6, 12).expect("long enough").refit,
            Refit::Once
        );
        let v = Validation::of(40, 6, 1).expect("long enough");
        assert_eq!((v.refit, v.origins[0]), (Refit::Once, 34));
        assert_eq!(
            track(Some(&v), &y, &-1.0, fails_on(0), paths),
            vec![vec![34.0; 6]; 6]
        );
        assert_eq!(
            track(Some(&v), &y, &-1.0, fails_on(34), paths),
            vec![vec![-1.0; 6]; 6]
        );
    }
}
