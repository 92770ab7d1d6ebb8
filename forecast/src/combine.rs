//! The ensemble's combination rule: members are weighed by their in-sample track record,
//! and the combination's intervals are widened when that record shows them too narrow.
//!
//! The last `v = min(h, n / 5)` points of the training data are the validation stretch.
//! From each origin in it, every member forecasts what is left of the stretch with its
//! fitted parameters (a filter pass, no refit, so the check costs next to nothing). A
//! member's score is the mean absolute error of those forecasts and its weight is
//! proportional to `1 / score²`. The same forecasts, combined, give per-step errors
//! against which the combination's own interval spread is checked; see [`widening`].
//! Series shorter than five points get equal weights and the members' intervals as they
//! are. On M3 and M1 this measured better than equal weights, `1 / score` weights,
//! keeping only the best member, and longer validation windows (bench notes in the
//! `combo` branch).

use crate::normal;
use crate::predictive::{Combine, Forecast, Predictive};

/// A model's forecast with its forecasts from the validation origins.
pub(crate) struct Member {
    /// The forecast from the end of the series.
    pub forecast: Forecast,
    /// One path per validation origin, [`Validation::steps`] long.
    pub track: Vec<Vec<f64>>,
}

/// Where the in-sample validation forecasts start and how far they reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validation {
    /// Origins `t`: forecasts made after observing `y[..t]`.
    pub origins: Vec<usize>,
    /// Steps forecast from each origin.
    pub steps: usize,
}

impl Validation {
    /// Origins covering the last `min(h, n / 5)` points, `None` when that is under one.
    pub fn of(n: usize, h: usize) -> Option<Self> {
        let steps = h.min(n / 5);
        if steps == 0 {
            return None;
        }
        Some(Self {
            origins: (n - steps..n).collect(),
            steps,
        })
    }
}

/// Mean absolute error of validation paths, over the points that fall inside `y`.
fn score(y: &[f64], v: &Validation, track: &[Vec<f64>]) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for (&o, path) in v.origins.iter().zip(track) {
        for (j, f) in path.iter().enumerate().take(y.len() - o) {
            let e = (y[o + j] - f).abs();
            if e.is_finite() {
                sum += e;
                count += 1;
            }
        }
    }
    if count == 0 {
        f64::INFINITY
    } else {
        sum / count as f64
    }
}

/// Weights proportional to `1 / score²`, summing to 1. A perfect score is floored at a
/// billionth of the worst finite one; equal weights when no score is finite.
fn weights(scores: &[f64]) -> Vec<f64> {
    let worst = scores
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(0.0, f64::max);
    let n = scores.len();
    if worst == 0.0 {
        return vec![1.0 / n as f64; n];
    }
    let raw: Vec<f64> = scores
        .iter()
        .map(|&s| (s.max(worst * 1e-9)).powi(-2))
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// Combines member forecasts: weights from validation scores when `validation` is given
/// (equal weights otherwise), intervals widened by the validation errors.
pub(crate) fn combine(
    y: &[f64],
    validation: Option<&Validation>,
    members: Vec<Member>,
    how: Combine,
) -> Option<Forecast> {
    if members.len() < 2 {
        return members.into_iter().next().map(|m| m.forecast);
    }
    let w = match validation {
        Some(v) => weights(
            &members
                .iter()
                .map(|m| score(y, v, &m.track))
                .collect::<Vec<_>>(),
        ),
        _ => vec![1.0 / members.len() as f64; members.len()],
    };
    let combine_at = |pick: &dyn Fn(&Forecast) -> f64| {
        let (values, ws): (Vec<f64>, Vec<f64>) = members
            .iter()
            .zip(&w)
            .map(|(m, &w)| (pick(&m.forecast), w))
            .filter(|(v, w)| v.is_finite() && *w > 0.0)
            .unzip();
        if values.is_empty() {
            f64::NAN
        } else {
            how.apply(&values, &ws)
        }
    };
    let h = members[0].forecast.horizon();
    let mean: Vec<f64> = (0..h).map(|k| combine_at(&|f| f.mean[k])).collect();
    let fitted: Vec<f64> = (0..y.len()).map(|t| combine_at(&|f| f.fitted[t])).collect();
    let widen = match validation {
        Some(v) => widening(y, v, &members, &w, how),
        None => vec![1.0; h],
    };
    let names: Vec<String> = members
        .iter()
        .zip(&w)
        .filter(|(_, w)| **w > 0.0)
        .map(|(m, w)| format!("{} {:.2}", m.forecast.model, w))
        .collect();
    let label = match how {
        Combine::Mean => "mean",
        Combine::Median => "median",
    };
    let nonnegative = members[0].forecast.nonnegative;
    Some(Forecast {
        model: format!("Ensemble({label}: {})", names.join(", ")),
        mean,
        residuals: y.iter().zip(&fitted).map(|(v, f)| v - f).collect(),
        fitted,
        nonnegative,
        predictive: Predictive::Combined {
            members: members.into_iter().map(|m| m.forecast).collect(),
            weights: w,
            how,
            widen,
        },
    })
}

/// Factors by which the combination's interval spread grows, per horizon. At step `j`
/// of the validation stretch the factor is the root mean square of the combined errors
/// over the spread the combination's 90 % quantile implies there, at least 1 and at least
/// the factor of step `j - 1` (errors do not shrink with the horizon; a per-step estimate
/// from few errors would otherwise zig-zag). Horizons past the stretch keep the last
/// factor. The errors come from fitted parameters, so they understate out-of-sample
/// errors: the factor only ever widens.
fn widening(y: &[f64], v: &Validation, members: &[Member], w: &[f64], how: Combine) -> Vec<f64> {
    let q = 0.9;
    let z = normal::quantile(q);
    let quantiles: Vec<Vec<f64>> = members
        .iter()
        .map(|m| m.forecast.raw_quantiles(q))
        .collect();
    let at = |pick: &dyn Fn(usize) -> f64| {
        how.apply(&(0..members.len()).map(pick).collect::<Vec<_>>(), w)
    };
    let mut sums = vec![(0.0, 0usize); v.steps];
    for (k, &o) in v.origins.iter().enumerate() {
        for (j, sum) in sums.iter_mut().enumerate().take(y.len() - o) {
            let spread = (at(&|i| quantiles[i][j]) - at(&|i| members[i].forecast.mean[j])) / z;
            let r = (y[o + j] - at(&|i| members[i].track[k][j])) / spread;
            if r.is_finite() {
                sum.0 += r * r;
                sum.1 += 1;
            }
        }
    }
    let mut factor = 1.0;
    let per_step: Vec<f64> = sums
        .iter()
        .map(|&(sum, count)| {
            if count > 0 {
                factor = f64::max(factor, (sum / count as f64).sqrt());
            }
            factor
        })
        .collect();
    let h = members[0].forecast.horizon();
    (0..h).map(|j| per_step[j.min(v.steps - 1)]).collect()
}
