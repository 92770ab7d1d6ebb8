//! Derivative-free optimisers used to fit the models: a box-bounded Nelder-Mead simplex
//! (for the ETS likelihood and the Theta MSE) and a golden-section line search (for the
//! single smoothing weight of the intermittent-demand methods).
//!
//! argmin's Nelder-Mead was considered: it has no box constraints, and the ETS fit needs
//! the smoothing weights projected back into their bounds at every step, as in Hyndman's
//! `forecast` and statsforecast. The simplex here follows statsforecast's adaptive
//! variant (Gao & Han 2012 coefficients, projection onto the box, stop when the standard
//! deviation of the simplex values falls under a tolerance), which keeps estimates
//! comparable with the reference implementation.

/// Settings of one Nelder-Mead run.
#[derive(Debug, Clone, Copy)]
pub struct NelderMead {
    /// Relative size of the initial simplex around the start point.
    pub init_step: f64,
    /// Absolute perturbation for coordinates that start at zero.
    pub zero_pert: f64,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when the standard deviation of the simplex values is below this.
    pub tol_std: f64,
}

impl Default for NelderMead {
    fn default() -> Self {
        Self {
            init_step: 0.05,
            zero_pert: 1e-4,
            max_iter: 1_000,
            tol_std: 1e-4,
        }
    }
}

/// The best point found and its objective value.
#[derive(Debug, Clone)]
pub struct Minimum {
    /// Arg-min.
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub fx: f64,
}

fn clamp_into(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.max(*lo).min(*hi);
    }
}

fn std_dev(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

fn vertex_sum(simplex: &[Vec<f64>]) -> Vec<f64> {
    let mut sum = vec![0.0; simplex[0].len()];
    for vertex in simplex {
        sum.iter_mut().zip(vertex).for_each(|(s, v)| *s += v);
    }
    sum
}

/// The best, the worst and the second-worst vertex of values `fs` (at least two, none
/// `NaN`: the objectives map it to infinity): the first, last and last-but-one in a
/// stable sort by value, found in one pass.
fn extremes(fs: &[f64]) -> (usize, usize, usize) {
    let (mut best, mut worst, mut second) = (0, 0, usize::MAX);
    for (i, &f) in fs.iter().enumerate().skip(1) {
        if f < fs[best] {
            best = i;
        }
        if f >= fs[worst] {
            second = worst;
            worst = i;
        } else if second == usize::MAX || f >= fs[second] {
            second = i;
        }
    }
    (best, worst, second)
}

/// Points on the segment `from + t (to - from)`, projected into the box.
fn along(from: &[f64], to: &[f64], t: f64, lower: &[f64], upper: &[f64], out: &mut [f64]) {
    let n = out.len();
    let (from, to, lower, upper) = (&from[..n], &to[..n], &lower[..n], &upper[..n]);
    for i in 0..n {
        out[i] = (from[i] + t * (to[i] - from[i]))
            .max(lower[i])
            .min(upper[i]);
    }
}

impl NelderMead {
    /// Minimises `f` from `x0` inside the box `[lower, upper]` (infinite bounds allowed).
    pub fn minimize<F: FnMut(&[f64]) -> f64>(
        &self,
        mut f: F,
        x0: &[f64],
        lower: &[f64],
        upper: &[f64],
    ) -> Minimum {
        let mut simplex = self.start(&mut f, x0, lower, upper);
        simplex.advance(&mut f, self.max_iter);
        simplex.best()
    }

    /// The initial simplex around `x0` (projected into the box `[lower, upper]`), ready
    /// for [`Simplex::advance`]: `max_iter` is not used, the caller gives the iterations.
    pub fn start<'b, F: FnMut(&[f64]) -> f64>(
        &self,
        f: &mut F,
        x0: &[f64],
        lower: &'b [f64],
        upper: &'b [f64],
    ) -> Simplex<'b> {
        let n = x0.len();
        let mut start = x0.to_vec();
        clamp_into(&mut start, lower, upper);
        let mut vertices: Vec<Vec<f64>> = vec![start; n + 1];
        for (i, vertex) in vertices.iter_mut().take(n).enumerate() {
            let v = vertex[i];
            let moved = if v == 0.0 {
                self.zero_pert
            } else {
                v * (1.0 + self.init_step)
            };
            vertex[i] = moved.max(lower[i]).min(upper[i]);
        }
        let fs: Vec<f64> = vertices.iter().map(|x| f(x)).collect();
        // Running sum of the vertices, so the centroid costs O(n) rather than O(n²).
        let sum = vertex_sum(&vertices);
        Simplex {
            vertices,
            fs,
            sum,
            lower,
            upper,
            tol_std: self.tol_std,
            trial: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
        }
    }
}

/// A Nelder-Mead run that can be continued: `advance(f, a)` then `advance(f, b)` ends
/// where one run of `a + b` iterations does, so a search can give every candidate a
/// few iterations and carry the best on from where they stopped, not from a new simplex.
#[derive(Debug, Clone)]
pub struct Simplex<'b> {
    vertices: Vec<Vec<f64>>,
    fs: Vec<f64>,
    sum: Vec<f64>,
    lower: &'b [f64],
    upper: &'b [f64],
    tol_std: f64,
    /// The centroid and the trial points, kept between calls of [`Simplex::advance`].
    trial: [Vec<f64>; 3],
}

impl Simplex<'_> {
    /// Runs at most `iterations` more iterations of the adaptive simplex on `f`, the
    /// function the simplex was started on; stops early once the standard deviation of
    /// the vertex values is under the tolerance (a converged simplex stays put).
    pub fn advance<F: FnMut(&[f64]) -> f64>(&mut self, f: &mut F, iterations: usize) {
        let (lower, upper) = (self.lower, self.upper);
        let Self {
            vertices,
            fs,
            sum,
            trial,
            ..
        } = self;
        let [centroid, xr, xt] = trial.each_mut().map(Vec::as_mut_slice);
        let n = vertices.len() - 1;
        let nf = n as f64;
        let (gamma, rho, sigma) = (1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
        for _ in 0..iterations {
            let (best, worst, second) = extremes(fs);
            if std_dev(fs) < self.tol_std {
                break;
            }
            for ((c, s), w) in centroid.iter_mut().zip(sum.iter()).zip(&vertices[worst]) {
                *c = (s - w) / nf;
            }
            along(centroid, &vertices[worst], -1.0, lower, upper, xr);
            let fr = f(xr);
            let replacement = if fs[best] <= fr && fr < fs[second] {
                Some((&*xr, fr))
            } else if fr < fs[best] {
                along(centroid, xr, gamma, lower, upper, xt);
                let fe = f(xt);
                Some(if fe < fr { (&*xt, fe) } else { (&*xr, fr) })
            } else if fs[second] <= fr && fr < fs[worst] {
                along(centroid, xr, rho, lower, upper, xt);
                let fc = f(xt);
                (fc <= fr).then_some((&*xt, fc))
            } else {
                along(centroid, xr, -rho, lower, upper, xt);
                let fc = f(xt);
                (fc < fs[worst]).then_some((&*xt, fc))
            };
            if let Some((x, fx)) = replacement {
                for ((s, new), old) in sum.iter_mut().zip(x).zip(&vertices[worst]) {
                    *s += new - old;
                }
                vertices[worst].copy_from_slice(x);
                fs[worst] = fx;
                continue;
            }
            // No better point on the line: shrink towards the best vertex (the
            // centroid's buffer holds it).
            centroid.copy_from_slice(&vertices[best]);
            for j in (0..=n).filter(|&j| j != best) {
                xt.copy_from_slice(&vertices[j]);
                along(centroid, xt, sigma, lower, upper, &mut vertices[j]);
                fs[j] = f(&vertices[j]);
            }
            *sum = vertex_sum(vertices);
        }
    }

    /// The best vertex so far and its value.
    pub fn best(&self) -> Minimum {
        let best = (0..self.fs.len())
            .min_by(|&a, &b| self.fs[a].total_cmp(&self.fs[b]))
            .unwrap_or(0);
        Minimum {
            x: self.vertices[best].clone(),
            fx: self.fs[best],
        }
    }
}

/// Golden-section search for the minimum of a unimodal `f` on `[lower, upper]`.
pub fn golden_section<F: FnMut(f64) -> f64>(mut f: F, lower: f64, upper: f64) -> f64 {
    let ratio = (5f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (lower, upper);
    let mut c = b - (b - a) / ratio;
    let mut d = a + (b - a) / ratio;
    let (mut fc, mut fd) = (f(c), f(d));
    while (b - a).abs() >= 1e-12 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - (b - a) / ratio;
            fc = f(c);
        } else if fd < fc {
            a = c;
            c = d;
            fc = fd;
            d = a + (b - a) / ratio;
            fd = f(d);
        } else {
            break;
        }
    }
    (a + b) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_quadratic() {
        let f = |x: &[f64]| (x[0] - 1.0).powi(2) + 10.0 * (x[1] + 2.0).powi(2);
        let nm = NelderMead {
            tol_std: 1e-12,
            ..NelderMead::default()
        };
        let m = nm.minimize(f, &[0.5, 0.5], &[f64::NEG_INFINITY; 2], &[f64::INFINITY; 2]);
        assert!((m.x[0] - 1.0).abs() < 1e-4, "{:?}", m.x);
        assert!((m.x[1] + 2.0).abs() < 1e-4, "{:?}", m.x);
    }

    #[test]
    fn nelder_mead_respects_the_box() {
        let f = |x: &[f64]| (x[0] - 3.0).powi(2) + (x[1] - 3.0).powi(2);
        let m = NelderMead::default().minimize(f, &[0.5, 0.5], &[0.0, 0.0], &[1.0, 2.0]);
        assert!(m.x[0] <= 1.0 && m.x[1] <= 2.0);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 2.0).abs() < 1e-3,
            "{:?}",
            m.x
        );
    }

    #[test]
    fn the_extremes_are_those_of_a_stable_sort() {
        let cases: [&[f64]; 5] = [
            &[3.0, 1.0, 2.0],
            &[1.0, 1.0],
            &[2.0, 5.0, 5.0, 1.0, 1.0],
            &[f64::INFINITY, 0.5, f64::INFINITY, 0.25],
            &[4.0, 3.0, 2.0, 1.0, 0.0, 7.0, 7.0, -1.0],
        ];
        for fs in cases {
            let mut order: Vec<usize> = (0..fs.len()).collect();
            order.sort_by(|&a, &b| fs[a].total_cmp(&fs[b]));
            let n = fs.len() - 1;
            assert_eq!(extremes(fs), (order[0], order[n], order[n - 1]), "{fs:?}");
        }
    }

    #[test]
    fn golden_section_finds_an_interior_minimum() {
        let x = golden_section(|a| (a - 0.17).powi(2), 0.1, 0.3);
        assert!((x - 0.17).abs() < 1e-8);
    }
}
