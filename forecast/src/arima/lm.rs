//! Levenberg-Marquardt minimisation of a sum of squared residuals inside an admissible
//! region, for the CSS and the exact-likelihood fits.
//!
//! Both ARIMA objectives are sums of squares of smooth residuals, so Gauss-Newton steps
//! converge in a handful of Jacobians where Nelder-Mead would need hundreds of
//! evaluations. Steps that leave the admissible region (stationary AR, invertible MA)
//! count as failures and raise the damping, so the result stays admissible.

use crate::decompose;
use std::cell::RefCell;

/// Writes the residuals at a parameter vector and returns their sum of squares.
pub(super) type Residuals<'a> = &'a dyn Fn(&[f64], &mut [f64]) -> Option<f64>;

/// A least-squares problem: `residuals(x, out)` writes `len` residuals into `out` and
/// returns their sum of squares (or `None` where undefined).
pub(super) struct Problem<'a> {
    /// Number of residuals.
    pub len: usize,
    /// The residual function.
    pub residuals: Residuals<'a>,
    /// Whether a parameter vector may be accepted.
    pub admissible: &'a dyn Fn(&[f64]) -> bool,
    /// Iterations (Jacobians) at most.
    pub max_iter: usize,
    /// Stop when an accepted step lowers the sum of squares by less than this fraction.
    pub rel_tol: f64,
}

/// Minimises from `x0` (which must be admissible with defined residuals); returns the
/// arg-min and its sum of squares.
pub(super) fn minimize(problem: &Problem, x0: Vec<f64>) -> Option<(Vec<f64>, f64)> {
    BUFFERS.with_borrow_mut(|buffers| buffers.minimize(problem, x0))
}

thread_local! {
    /// Each thread's buffers, reused by every fit it runs.
    static BUFFERS: RefCell<Buffers> = RefCell::default();
}

/// The buffers of a minimisation, kept between fits: the stepwise search runs a dozen
/// small ones per series, which allocated some 60 vectors each (2 % of the ensemble's
/// instructions on M3 other).
#[derive(Default)]
struct Buffers {
    /// Residuals at the current point and at a trial point.
    r: Vec<f64>,
    trial: Vec<f64>,
    /// The Jacobian's columns and the shifted point they are formed at.
    columns: Vec<Vec<f64>>,
    shifted: Vec<f64>,
    /// `-r`.
    downhill: Vec<f64>,
    /// The normal and the damped equations.
    normal: Vec<Vec<f64>>,
    damped: Vec<Vec<f64>>,
    /// The trial point.
    candidate: Vec<f64>,
}

impl Buffers {
    fn minimize(&mut self, problem: &Problem, x0: Vec<f64>) -> Option<(Vec<f64>, f64)> {
        let (len, k) = (problem.len, x0.len());
        for v in [&mut self.r, &mut self.trial, &mut self.downhill] {
            v.resize(len, 0.0);
        }
        self.columns.resize_with(k, Vec::new);
        for column in &mut self.columns {
            column.resize(len, 0.0);
        }
        self.shifted.resize(k, 0.0);
        self.candidate.resize(k, 0.0);
        let Self {
            r,
            trial,
            columns,
            shifted,
            downhill,
            normal,
            damped,
            candidate,
        } = self;
        let mut x = x0;
        let mut ssr = (problem.residuals)(&x, r)?;
        let mut lambda = 1e-3;
        for _ in 0..problem.max_iter {
            jacobian(problem, &x, r, shifted, trial, columns);
            for (d, v) in downhill.iter_mut().zip(r.iter()) {
                *d = -v;
            }
            decompose::normal_equations(columns, downhill, normal);
            let mut accepted = None;
            while accepted.is_none() && lambda < 1e10 {
                let stepped = damped_step(normal, lambda, damped).is_some_and(|()| {
                    for (i, (c, a)) in candidate.iter_mut().zip(&x).enumerate() {
                        *c = a + decompose::solution(damped, i);
                    }
                    (problem.admissible)(candidate)
                });
                match stepped
                    .then(|| (problem.residuals)(candidate, trial))
                    .flatten()
                {
                    Some(s) if s < ssr => accepted = Some(s),
                    _ => lambda *= 10.0,
                }
            }
            let Some(s) = accepted else { break };
            let converged = ssr - s <= problem.rel_tol * ssr;
            lambda = (lambda / 10.0).max(1e-9);
            std::mem::swap(&mut x, candidate);
            ssr = s;
            std::mem::swap(r, trial);
            if converged {
                break;
            }
        }
        Some((x, ssr))
    }
}

/// Forward-difference Jacobian at `x` (residuals `r`) into `columns`, one per parameter
/// (zero where the residuals are undefined); `shifted` and `trial` are scratch.
fn jacobian(
    problem: &Problem,
    x: &[f64],
    r: &[f64],
    shifted: &mut [f64],
    trial: &mut [f64],
    columns: &mut [Vec<f64>],
) {
    shifted.copy_from_slice(x);
    for (j, column) in columns.iter_mut().enumerate() {
        let h = 1e-6 * x[j].abs().max(1e-2);
        shifted[j] = x[j] + h;
        let defined = (problem.residuals)(shifted, trial).is_some();
        shifted[j] = x[j];
        if !defined {
            column.fill(0.0);
            continue;
        }
        for ((c, a), b) in column.iter_mut().zip(&*trial).zip(r) {
            *c = (a - b) / h;
        }
    }
}

/// The Marquardt step `(JᵀJ + λ diag(JᵀJ)) δ = -Jᵀr` from the normal equations
/// `JᵀJ δ = -Jᵀr`, formed once per Jacobian whatever the number of dampings tried (a
/// zero column gets `λ` alone): eliminated in `damped`, where
/// [`decompose::solution`] reads `δ`.
fn damped_step(normal: &[Vec<f64>], lambda: f64, damped: &mut Vec<Vec<f64>>) -> Option<()> {
    damped.resize_with(normal.len(), Vec::new);
    for (row, from) in damped.iter_mut().zip(normal) {
        row.clone_from(from);
    }
    for (j, row) in damped.iter_mut().enumerate() {
        let norm2 = row[j];
        row[j] += lambda * if norm2 > 0.0 { norm2 } else { 1.0 };
    }
    decompose::eliminate(damped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_an_exponential_decay_and_respects_the_region() {
        let t: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = t.iter().map(|t| 3.0 * (-0.2 * t).exp()).collect();
        let residuals = |x: &[f64], out: &mut [f64]| {
            for ((o, t), y) in out.iter_mut().zip(&t).zip(&y) {
                *o = x[0] * (-x[1] * t).exp() - y;
            }
            Some(out.iter().map(|v| v * v).sum())
        };
        let free = |_: &[f64]| true;
        let problem = Problem {
            len: 20,
            residuals: &residuals,
            admissible: &free,
            max_iter: 50,
            rel_tol: 1e-10,
        };
        let (x, ssr) = minimize(&problem, vec![1.0, 0.05]).expect("fits");
        assert!(
            (x[0] - 3.0).abs() < 1e-4 && (x[1] - 0.2).abs() < 1e-5,
            "{x:?}"
        );
        assert!(ssr < 1e-8);
        let capped = |x: &[f64]| x[1] <= 0.1;
        let problem = Problem {
            admissible: &capped,
            ..problem
        };
        let (x, _) = minimize(&problem, vec![1.0, 0.05]).expect("fits");
        assert!(x[1] <= 0.1, "{x:?}");
    }
}
