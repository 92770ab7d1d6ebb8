//! Intermittent-demand methods: Croston (classic and optimised), SBA, TSB, ADIDA and
//! IMAPA, and the Syntetos-Boylan ADI/CV² classification that chooses among them. All
//! give a flat forecast of the demand per period.

use crate::optim::golden_section;

/// Bounds of the optimised smoothing weight (statsforecast's and Croston's usual range).
const ALPHA_RANGE: (f64, f64) = (0.1, 0.3);
/// Smoothing weight of classic Croston and SBA.
const CROSTON_ALPHA: f64 = 0.1;
/// Syntetos-Boylan bias correction `1 - α/2` for α = 0.1.
const SBA_FACTOR: f64 = 0.95;

/// Demand pattern per Syntetos, Boylan & Croston (2005).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Frequent demand of steady size (ADI < 1.32, CV² < 0.49).
    Smooth,
    /// Frequent demand of variable size (ADI < 1.32, CV² ≥ 0.49).
    Erratic,
    /// Infrequent demand of steady size (ADI ≥ 1.32, CV² < 0.49).
    Intermittent,
    /// Infrequent demand of variable size (ADI ≥ 1.32, CV² ≥ 0.49).
    Lumpy,
}

/// Average inter-demand interval and squared coefficient of variation of the non-zero
/// demand sizes. `None` if there is no demand at all.
pub fn adi_cv2(y: &[f64]) -> Option<(f64, f64)> {
    let sizes = demand_sizes(y);
    if sizes.is_empty() {
        return None;
    }
    let adi = mean(&intervals(y));
    let mu = mean(&sizes);
    let var = sizes.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / sizes.len() as f64;
    Some((adi, var / (mu * mu)))
}

/// The Syntetos-Boylan class of a series; `None` without demand.
pub fn classify(y: &[f64]) -> Option<Pattern> {
    let (adi, cv2) = adi_cv2(y)?;
    Some(match (adi >= 1.32, cv2 >= 0.49) {
        (false, false) => Pattern::Smooth,
        (false, true) => Pattern::Erratic,
        (true, false) => Pattern::Intermittent,
        (true, true) => Pattern::Lumpy,
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn demand_sizes(y: &[f64]) -> Vec<f64> {
    y.iter().copied().filter(|&v| v > 0.0).collect()
}

/// Periods between successive demands (the first counted from the start).
fn intervals(y: &[f64]) -> Vec<f64> {
    let mut last = 0usize;
    let mut out = Vec::new();
    for (i, &v) in y.iter().enumerate() {
        if v != 0.0 {
            out.push((i + 1 - last) as f64);
            last = i + 1;
        }
    }
    out
}

/// Simple exponential smoothing started at the first value: the next-period forecast and
/// the one-step in-sample forecasts (`NaN` for the first).
pub fn ses(x: &[f64], alpha: f64) -> (f64, Vec<f64>) {
    let Some(&first) = x.first() else {
        return (f64::NAN, Vec::new());
    };
    let mut fitted = Vec::with_capacity(x.len());
    fitted.push(f64::NAN);
    let mut level = first;
    for (i, &v) in x.iter().enumerate() {
        level = alpha * v + (1.0 - alpha) * level;
        if i + 1 < x.len() {
            fitted.push(level);
        }
    }
    (level, fitted)
}

fn ses_sse(x: &[f64], alpha: f64) -> f64 {
    let mut level = x[0];
    let mut sse = 0.0;
    for w in x.windows(2) {
        level = alpha * w[0] + (1.0 - alpha) * level;
        sse += (w[1] - level) * (w[1] - level);
    }
    sse
}

/// SES with α chosen in [0.1, 0.3] by in-sample squared error.
pub fn ses_optimised(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return x.first().copied().unwrap_or(0.0);
    }
    let alpha = golden_section(|a| ses_sse(x, a), ALPHA_RANGE.0, ALPHA_RANGE.1);
    ses(x, alpha).0
}

/// Croston's method with given weights for sizes and intervals.
fn croston_with(
    y: &[f64],
    size_forecast: impl Fn(&[f64]) -> f64,
    interval_forecast: impl Fn(&[f64]) -> f64,
) -> f64 {
    let sizes = demand_sizes(y);
    if sizes.is_empty() {
        return 0.0;
    }
    let z = size_forecast(&sizes);
    let p = interval_forecast(&intervals(y));
    if p != 0.0 { z / p } else { z }
}

/// Croston's method with α = 0.1 for both demand sizes and intervals.
pub fn croston(y: &[f64]) -> f64 {
    let f = |x: &[f64]| ses(x, CROSTON_ALPHA).0;
    croston_with(y, f, f)
}

/// Croston's method with each α optimised in [0.1, 0.3].
pub fn croston_optimised(y: &[f64]) -> f64 {
    croston_with(y, ses_optimised, ses_optimised)
}

/// The Syntetos-Boylan approximation: Croston debiased by `1 - α/2`.
pub fn sba(y: &[f64]) -> f64 {
    SBA_FACTOR * croston(y)
}

/// Teunter-Syntetos-Babai: demand probability updated every period, sizes at demands.
pub fn tsb(y: &[f64], alpha_d: f64, alpha_p: f64) -> f64 {
    let sizes = demand_sizes(y);
    if sizes.is_empty() {
        return 0.0;
    }
    let occurrence: Vec<f64> = y.iter().map(|&v| f64::from(u8::from(v != 0.0))).collect();
    ses(&occurrence, alpha_p).0 * ses(&sizes, alpha_d).0
}

/// Sum of `y` (without its first `len % k` values) in consecutive blocks of `k`.
fn block_sums(y: &[f64], k: usize) -> Vec<f64> {
    y[y.len() % k..].chunks(k).map(|c| c.iter().sum()).collect()
}

fn mean_interval_rounded(y: &[f64]) -> Option<usize> {
    let iv = intervals(y);
    (!iv.is_empty()).then(|| (mean(&iv).round_ties_even() as usize).max(1))
}

/// Forecast per period from SES on demand aggregated in blocks of `k`.
fn aggregated(y: &[f64], k: usize) -> f64 {
    if y.len() < k {
        return y.last().copied().unwrap_or(0.0) / k as f64;
    }
    ses_optimised(&block_sums(y, k)) / k as f64
}

/// ADIDA (Nikolopoulos et al. 2011): aggregate over the mean inter-demand interval,
/// forecast with SES, spread back evenly.
pub fn adida(y: &[f64]) -> f64 {
    mean_interval_rounded(y).map_or(0.0, |k| aggregated(y, k))
}

/// IMAPA (Petropoulos & Kourentzes 2015): average of the aggregate forecasts over every
/// level from 1 to the mean inter-demand interval.
pub fn imapa(y: &[f64]) -> f64 {
    mean_interval_rounded(y).map_or(0.0, |top| {
        (1..=top).map(|k| aggregated(y, k)).sum::<f64>() / top as f64
    })
}

/// Mean demand over the last full season (the naive forecast of the series aggregated to
/// one value per season, spread evenly); `None` without a season or a full one.
pub fn season_level(y: &[f64], m: usize) -> Option<f64> {
    (m > 1 && y.len() >= m).then(|| mean(&y[y.len() - m..]))
}

/// Temporal-aggregation combination for infrequent demand: the mean of ADIDA (demand
/// aggregated over the mean interval), IMAPA (every level up to it) and the last
/// season's level (aggregated over a whole season). Averaging over aggregation levels
/// (Kourentzes et al. 2014's MAPA idea) is steadier than any single level.
pub fn aggregation_combo(y: &[f64], m: usize) -> f64 {
    let mut members = vec![adida(y), imapa(y)];
    members.extend(season_level(y, m));
    mean(&members)
}

/// In-sample one-step forecasts of a flat method, re-run on each prefix of `y` (the first
/// is `NaN`). Costs one fit per observation.
pub fn rolling_fitted(y: &[f64], method: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    std::iter::once(f64::NAN)
        .chain((1..y.len()).map(|t| method(&y[..t])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: [f64; 12] = [0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 5.0, 0.0, 2.0, 0.0, 0.0, 4.0];

    #[test]
    fn croston_matches_hand_computed_updates() {
        // sizes 3, 5, 2, 4 and intervals 3, 4, 2, 3, each smoothed from its first value.
        let smooth = |x: &[f64]| x[1..].iter().fold(x[0], |l, v| l + 0.1 * (v - l));
        let want = smooth(&[3.0, 5.0, 2.0, 4.0]) / smooth(&[3.0, 4.0, 2.0, 3.0]);
        assert!((croston(&Y) - want).abs() < 1e-12);
        assert!((sba(&Y) - 0.95 * want).abs() < 1e-12);
    }

    #[test]
    fn ses_follows_its_recursion() {
        let (f, fitted) = ses(&[10.0, 20.0, 30.0], 0.5);
        assert!(fitted[0].is_nan());
        assert_eq!(&fitted[1..], &[10.0, 15.0]);
        assert_eq!(f, 22.5);
    }

    #[test]
    fn tsb_multiplies_probability_and_size() {
        let p = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let want = ses(&p, 0.2).0 * ses(&[3.0, 5.0, 2.0, 4.0], 0.3).0;
        assert!((tsb(&Y, 0.3, 0.2) - want).abs() < 1e-12);
    }

    #[test]
    fn adida_aggregates_over_the_mean_interval() {
        // intervals 3, 4, 2, 3 -> mean 3; blocks of 3: [3, 0, 7, 4].
        let want = ses_optimised(&[3.0, 0.0, 7.0, 4.0]) / 3.0;
        assert!((adida(&Y) - want).abs() < 1e-12);
        let levels = (aggregated(&Y, 1) + aggregated(&Y, 2) + aggregated(&Y, 3)) / 3.0;
        assert!((imapa(&Y) - levels).abs() < 1e-12);
    }

    #[test]
    fn classification_follows_the_cut_offs() {
        assert_eq!(classify(&Y), Some(Pattern::Intermittent));
        assert_eq!(classify(&[1.0, 10.0, 1.0, 12.0]), Some(Pattern::Erratic));
        assert_eq!(classify(&[5.0, 5.0, 6.0, 5.0]), Some(Pattern::Smooth));
        assert_eq!(classify(&[0.0; 5]), None);
    }

    #[test]
    fn aggregation_combo_averages_three_levels() {
        let season = Y[Y.len() - 4..].iter().sum::<f64>() / 4.0;
        let want = (adida(&Y) + imapa(&Y) + season) / 3.0;
        assert!((aggregation_combo(&Y, 4) - want).abs() < 1e-12);
        assert!((aggregation_combo(&Y, 1) - (adida(&Y) + imapa(&Y)) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn no_demand_forecasts_zero() {
        for f in [croston, sba, adida, imapa, croston_optimised] {
            assert_eq!(f(&[0.0; 6]), 0.0);
        }
    }
}
