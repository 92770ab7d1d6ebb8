//! Seasonal helpers shared by the models: the classical moving-average decomposition
//! (as statsmodels' `seasonal_decompose`), the autocorrelation test that decides whether
//! Theta deseasonalises, and the small least-squares fits that seed ETS initial states.

/// How seasonal factors combine with the rest of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `y = trend + seasonal + remainder`.
    Additive,
    /// `y = trend * seasonal * remainder`.
    Multiplicative,
}

/// The centred moving average of order `m` (a 2×m average when `m` is even); `NaN` where
/// the window does not fit.
pub(crate) fn centred_moving_average(y: &[f64], m: usize) -> Vec<f64> {
    let weights: Vec<f64> = if m.is_multiple_of(2) {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        w
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = weights.len() / 2;
    (0..y.len())
        .map(|t| {
            if t < half || t + half >= y.len() {
                return f64::NAN;
            }
            weights
                .iter()
                .enumerate()
                .map(|(j, w)| w * y[t + j - half])
                .sum()
        })
        .collect()
}

/// The `m` seasonal indices of a classical decomposition, normalised to sum to zero
/// (additive) or to average one (multiplicative). Index `i` applies to `y[t]` with
/// `t % m == i`. Needs `y.len() >= 2 * m`.
pub fn seasonal_indices(y: &[f64], m: usize, kind: Kind) -> Vec<f64> {
    let trend = centred_moving_average(y, m);
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for (t, (&v, &tr)) in y.iter().zip(&trend).enumerate() {
        if tr.is_nan() {
            continue;
        }
        sums[t % m] += match kind {
            Kind::Additive => v - tr,
            Kind::Multiplicative => v / tr,
        };
        counts[t % m] += 1;
    }
    let mut idx: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let mean = idx.iter().sum::<f64>() / m as f64;
    for v in &mut idx {
        match kind {
            Kind::Additive => *v -= mean,
            Kind::Multiplicative => *v /= mean,
        }
    }
    idx
}

/// The one-sided 90% test of Assimakopoulos & Nikolopoulos: is the autocorrelation at
/// lag `m` significant? Needs `m >= 4` and two full seasons.
pub fn is_seasonal(y: &[f64], m: usize) -> bool {
    if m < 4 || y.len() < 2 * m {
        return false;
    }
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let denom: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    if denom == 0.0 {
        return false;
    }
    let acf = |k: usize| -> f64 {
        (0..y.len() - k)
            .map(|t| (y[t] - mean) * (y[t + k] - mean))
            .sum::<f64>()
            / denom
    };
    let r: Vec<f64> = (1..=m).map(acf).collect();
    let stat = ((1.0 + 2.0 * r[..m - 1].iter().map(|v| v * v).sum::<f64>()) / n).sqrt();
    r[m - 1].abs() / stat > crate::normal::quantile(0.95)
}

/// Ordinary least squares of `y` on the given columns (normal equations, solved by
/// Gaussian elimination with partial pivoting). `None` if the design is singular.
pub fn least_squares(columns: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let mut a = Vec::new();
    normal_equations(columns, y, &mut a);
    solve(&mut a)
}

/// The normal equations of `y` on the given columns, as `p` rows of the Gram matrix each
/// followed by its column's product with `y`, written into `a` (whose rows are reused,
/// so an iterative fit forms them without allocating).
pub fn normal_equations(columns: &[Vec<f64>], y: &[f64], a: &mut Vec<Vec<f64>>) {
    let p = columns.len();
    a.resize_with(p, Vec::new);
    for row in a.iter_mut() {
        row.resize(p + 1, 0.0);
    }
    for i in 0..p {
        // The Gram matrix is symmetric: each product is formed once.
        for j in i..p {
            let dot: f64 = columns[i].iter().zip(&columns[j]).map(|(u, v)| u * v).sum();
            (a[i][j], a[j][i]) = (dot, dot);
        }
        a[i][p] = columns[i].iter().zip(y).map(|(u, v)| u * v).sum();
    }
}

/// Solves the `p` equations of `a` (each row its `p` coefficients and the right-hand
/// side) by Gaussian elimination with partial pivoting, in place; `None` if they are
/// singular.
pub fn solve(a: &mut [Vec<f64>]) -> Option<Vec<f64>> {
    eliminate(a)?;
    Some((0..a.len()).map(|i| solution(a, i)).collect())
}

/// [`solve`]'s elimination: afterwards unknown `i` is [`solution`]`(a, i)`. `None` if
/// the equations are singular.
pub fn eliminate(a: &mut [Vec<f64>]) -> Option<()> {
    let p = a.len();
    for col in 0..p {
        let pivot = (col..p).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        // Out of the matrix while the other rows are reduced by it.
        let pivot_row = std::mem::take(&mut a[col]);
        for (_, values) in a.iter_mut().enumerate().filter(|(row, _)| *row != col) {
            let factor = values[col] / pivot_row[col];
            values
                .iter_mut()
                .zip(&pivot_row)
                .skip(col)
                .for_each(|(v, p)| *v -= factor * p);
        }
        a[col] = pivot_row;
    }
    Some(())
}

/// Unknown `i` of equations [`eliminate`]d in `a`.
pub fn solution(a: &[Vec<f64>], i: usize) -> f64 {
    a[i][a.len()] / a[i][i]
}

/// Intercept and slope of `y` regressed on `1, 2, …, n`.
pub fn linear_trend(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 2 {
        return (y.first().copied().unwrap_or(0.0), 0.0);
    }
    let t_mean = (n + 1.0) / 2.0;
    let y_mean = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dt = (i + 1) as f64 - t_mean;
        sxy += dt * (v - y_mean);
        sxx += dt * dt;
    }
    let slope = sxy / sxx;
    (y_mean - slope * t_mean, slope)
}

/// Seasonal component of a short series (under three seasons): a linear trend plus one
/// Fourier pair is fitted, and the series less (or over) that trend is returned.
pub fn short_series_seasonal(y: &[f64], m: usize, kind: Kind) -> Vec<f64> {
    let n = y.len();
    let t: Vec<f64> = (1..=n).map(|i| i as f64).collect();
    let angle = |i: f64| 2.0 * std::f64::consts::PI * i / m as f64;
    let mut columns = vec![vec![1.0; n], t.clone()];
    if m > 2 {
        columns.push(t.iter().map(|&i| angle(i).sin()).collect());
    }
    columns.push(t.iter().map(|&i| angle(i).cos()).collect());
    let coef = least_squares(&columns, y).unwrap_or_else(|| {
        let (a, b) = linear_trend(y);
        vec![a, b]
    });
    y.iter()
        .zip(&t)
        .map(|(v, ti)| match kind {
            Kind::Additive => v - coef[0] - coef[1] * ti,
            Kind::Multiplicative => v / (coef[0] + coef[1] * ti),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additive_indices_recover_a_pure_seasonal_pattern() {
        let pattern = [3.0, -1.0, -2.0, 0.0];
        let y: Vec<f64> = (0..24)
            .map(|t| 10.0 + 0.5 * t as f64 + pattern[t % 4])
            .collect();
        let idx = seasonal_indices(&y, 4, Kind::Additive);
        for (got, want) in idx.iter().zip(pattern) {
            assert!((got - want).abs() < 1e-9, "{idx:?}");
        }
    }

    #[test]
    fn least_squares_solves_an_exact_system() {
        let x1 = vec![1.0, 1.0, 1.0, 1.0];
        let x2 = vec![1.0, 2.0, 3.0, 4.0];
        let y = vec![3.0, 5.0, 7.0, 9.0];
        let c = least_squares(&[x1, x2], &y).expect("regular design");
        assert!((c[0] - 1.0).abs() < 1e-12 && (c[1] - 2.0).abs() < 1e-12);
        assert_eq!(linear_trend(&y), (1.0, 2.0));
    }

    #[test]
    fn strong_seasonality_passes_the_acf_test_and_noise_does_not() {
        let y: Vec<f64> = (0..48)
            .map(|t| if t % 12 == 0 { 10.0 } else { 1.0 })
            .collect();
        assert!(is_seasonal(&y, 12));
        let flat: Vec<f64> = (0..48).map(|t| t as f64).collect();
        assert!(!is_seasonal(&flat, 12));
    }
}
