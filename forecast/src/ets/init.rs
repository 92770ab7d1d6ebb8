//! Starting values for the ETS optimiser: smoothing weights inside their bounds and
//! initial states from a classical decomposition, as in Hyndman et al. (2008, §2.6.1).

use super::spec::{SeasonType, Spec, TrendType};
use crate::decompose::{self, Kind};

/// Box bounds on α, β, γ and φ ("usual" region of Hyndman's `ets`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Lower bounds of α, β, γ, φ.
    pub lower: [f64; 4],
    /// Upper bounds of α, β, γ, φ.
    pub upper: [f64; 4],
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            lower: [1e-4, 1e-4, 1e-4, 0.8],
            upper: [0.9999, 0.9999, 0.9999, 0.98],
        }
    }
}

/// Starting smoothing weights for a model with season length `m` (1 if non-seasonal).
/// Tightens `bounds` as statsforecast does: β stays under the starting α and γ under
/// one minus it; the tightened bounds carry over to the models fitted after this one.
pub fn start_params(spec: Spec, m: usize, bounds: &mut Bounds) -> [f64; 4] {
    let (lo, hi) = (&mut bounds.lower, &mut bounds.upper);
    let mut alpha = lo[0] + 0.2 * (hi[0] - lo[0]) / m as f64;
    if !(0.0..=1.0).contains(&alpha) {
        alpha = lo[0] + 2e-3;
    }
    let mut beta = 0.0;
    if spec.trend != TrendType::None {
        hi[1] = hi[1].min(alpha);
        beta = lo[1] + 0.1 * (hi[1] - lo[1]);
        if beta < 0.0 || beta > alpha {
            beta = alpha - 1e-3;
        }
    }
    let mut gamma = 0.0;
    if spec.season != SeasonType::None {
        hi[2] = hi[2].min(1.0 - alpha);
        gamma = lo[2] + 0.05 * (hi[2] - lo[2]);
        if gamma < 0.0 || gamma > 1.0 - alpha {
            gamma = 1.0 - alpha - 1e-3;
        }
    }
    let mut phi = 1.0;
    if spec.trend == TrendType::Damped {
        phi = lo[3] + 0.99 * (hi[3] - lo[3]);
        if !(0.0..=1.0).contains(&phi) {
            phi = hi[3] - 1e-3;
        }
    }
    [alpha, beta, gamma, phi]
}

/// Seasonal component of `y` for initialisation: classical decomposition when there are
/// three seasons, a trend-plus-Fourier fit otherwise.
fn seasonal_component(y: &[f64], m: usize, kind: Kind) -> Vec<f64> {
    if y.len() < 3 * m {
        return decompose::short_series_seasonal(y, m, kind);
    }
    let idx = decompose::seasonal_indices(y, m, kind);
    (0..y.len()).map(|t| idx[t % m]).collect()
}

/// Initial level, slope and the first `m - 1` seasonal terms (newest first); the last
/// seasonal term is implied by normalisation. `None` if the series is too short.
pub fn start_state(y: &[f64], m: usize, spec: Spec) -> Option<(f64, f64, Vec<f64>)> {
    let n = y.len();
    let (init_season, adjusted, m) = match spec.season {
        SeasonType::None => (Vec::new(), y.to_vec(), 1),
        season => {
            if n < 4 {
                return None;
            }
            let kind = if season == SeasonType::Additive {
                Kind::Additive
            } else {
                Kind::Multiplicative
            };
            let seasonal = seasonal_component(y, m, kind);
            let mut init: Vec<f64> = seasonal[1..m].iter().rev().copied().collect();
            let adjusted = if kind == Kind::Additive {
                y.iter().zip(&seasonal).map(|(v, s)| v - s).collect()
            } else {
                init.iter_mut().for_each(|s| *s = s.max(1e-2));
                let total: f64 = init.iter().sum();
                if total > m as f64 {
                    let denom: f64 = init.iter().map(|s| s + 1e-2).sum();
                    init.iter_mut().for_each(|s| *s /= denom);
                }
                y.iter()
                    .zip(&seasonal)
                    .map(|(v, s)| v / s.max(1e-2))
                    .collect()
            };
            (init, adjusted, m)
        }
    };
    let maxn = (2 * m).max(10).min(n);
    let head = &adjusted[..maxn];
    if spec.trend == TrendType::None {
        let level = head.iter().sum::<f64>() / maxn as f64;
        return Some((level, 0.0, init_season));
    }
    let (mut level, mut slope) = decompose::linear_trend(head);
    if (level + slope).abs() < 1e-8 {
        level *= 1.0 + 1e-3;
        slope *= 1.0 - 1e-3;
    }
    Some((level, slope, init_season))
}
