//! The Hyndman-Khandakar stepwise search (R's `auto.arima`, statsforecast's
//! `AutoARIMA`): four starting models, then moves of one or two orders at a time (and the
//! constant switched on or off) while the AICc improves.

use super::css::{self, Css};
use super::order::Order;
use std::f64::consts::PI;

/// Largest orders the search may reach.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Autoregressive order.
    pub p: usize,
    /// Moving-average order.
    pub q: usize,
    /// Seasonal autoregressive order.
    pub sp: usize,
    /// Seasonal moving-average order.
    pub sq: usize,
}

/// Models fitted at most (statsforecast's `nmodels`).
const MAX_MODELS: usize = 94;

/// Smallest root modulus an accepted model may have (R's `auto.arima`).
pub(super) const ROOT_MARGIN: f64 = 1.01;

/// A model tried by the search.
pub(super) struct Candidate {
    /// Its orders.
    pub order: Order,
    /// Its CSS estimates.
    pub css: Css,
    /// AICc of the CSS likelihood (infinite when a root is inside [`ROOT_MARGIN`]).
    pub aicc: f64,
}

/// The AICc of a CSS fit: the Gaussian likelihood of its innovations, with `σ²` counted
/// as a parameter (as statsforecast's `myarima`).
fn aicc(n: usize, order: &Order, css: &Css) -> f64 {
    let (n, k) = (n as f64, (order.n_coef() + 1) as f64);
    if css.sigma2 <= 0.0 || n - k - 1.0 <= 0.0 {
        return f64::INFINITY;
    }
    let aic = n * ((2.0 * PI * css.sigma2).ln() + 1.0) + 2.0 * k;
    aic + 2.0 * k * (k + 1.0) / (n - k - 1.0)
}

fn evaluate(w: &[f64], order: Order, start: Option<&[f64]>) -> Option<Candidate> {
    let css = css::fit_from(w, &order, start)?;
    let aicc = if css::admissible(&order, &css.x, ROOT_MARGIN) {
        aicc(w.len(), &order, &css)
    } else {
        f64::INFINITY
    };
    Some(Candidate { order, css, aicc })
}

/// The estimates `x` of a model of orders `from`, carried to the orders `to` as a start
/// for its fit: each lag polynomial cut or padded with zeros, the constant kept, dropped,
/// or left out where `to` switches it on, for [`css::fit_from`] to start it at the mean.
/// `None` when the cut leaves a root inside the unit circle, where the fit may not start.
fn carried(from: &Order, x: &[f64], to: &Order) -> Option<Vec<f64>> {
    let mut start = Vec::with_capacity(to.n_coef());
    let mut rest = x;
    for (had, wants) in [
        (from.p, to.p),
        (from.q, to.q),
        (from.sp, to.sp),
        (from.sq, to.sq),
    ] {
        let (block, tail) = rest.split_at(had);
        start.extend((0..wants).map(|i| block.get(i).copied().unwrap_or(0.0)));
        rest = tail;
    }
    if to.constant && from.constant {
        start.push(rest[0]);
    }
    css::admissible(to, &start, 1.0).then_some(start)
}

/// Moves from the current model, in statsforecast's order: seasonal orders first, then
/// non-seasonal ones, then the constant. `(Δp, Δq, ΔP, ΔQ, flip constant)`.
const MOVES: [(i8, i8, i8, i8, bool); 17] = [
    (0, 0, -1, 0, false),
    (0, 0, 0, -1, false),
    (0, 0, 1, 0, false),
    (0, 0, 0, 1, false),
    (0, 0, -1, -1, false),
    (0, 0, -1, 1, false),
    (0, 0, 1, -1, false),
    (0, 0, 1, 1, false),
    (-1, 0, 0, 0, false),
    (0, -1, 0, 0, false),
    (1, 0, 0, 0, false),
    (0, 1, 0, 0, false),
    (-1, -1, 0, 0, false),
    (-1, 1, 0, 0, false),
    (1, -1, 0, 0, false),
    (1, 1, 0, 0, false),
    (0, 0, 0, 0, true),
];

fn shift(v: usize, by: i8, max: usize) -> Option<usize> {
    let moved = v.checked_add_signed(by as isize)?;
    (moved <= max).then_some(moved)
}

fn neighbour(
    o: &Order,
    mv: (i8, i8, i8, i8, bool),
    lim: &Limits,
    allow_constant: bool,
) -> Option<Order> {
    let (dp, dq, dsp, dsq, flip) = mv;
    if flip && !allow_constant {
        return None;
    }
    Some(Order {
        p: shift(o.p, dp, lim.p)?,
        q: shift(o.q, dq, lim.q)?,
        sp: shift(o.sp, dsp, lim.sp)?,
        sq: shift(o.sq, dsq, lim.sq)?,
        constant: o.constant != flip,
        ..*o
    })
}

/// Runs the search on the differenced series `w`; `base` carries `d`, `D`, `m` and
/// whether a constant is allowed. Returns the admissible models tried, smallest AICc
/// first.
pub(super) fn stepwise(w: &[f64], base: Order, lim: Limits) -> Vec<Candidate> {
    let allow_constant = base.constant;
    let small = w.len() < 10;
    let with = |p: usize, q: usize, sp: usize, sq: usize, constant: bool| Order {
        p,
        q,
        sp,
        sq,
        constant,
        ..base
    };
    let start = with(
        lim.p.min(if small { 1 } else { 2 }),
        lim.q.min(if small { 1 } else { 2 }),
        lim.sp.min(usize::from(!small)),
        lim.sq.min(usize::from(!small)),
        allow_constant,
    );
    let mut starts = vec![start, with(0, 0, 0, 0, allow_constant)];
    if lim.p > 0 || lim.sp > 0 {
        starts.push(with(
            usize::from(lim.p > 0),
            0,
            usize::from(lim.sp > 0),
            0,
            allow_constant,
        ));
    }
    if lim.q > 0 || lim.sq > 0 {
        starts.push(with(
            0,
            usize::from(lim.q > 0),
            0,
            usize::from(lim.sq > 0),
            allow_constant,
        ));
    }
    if allow_constant {
        starts.push(with(0, 0, 0, 0, false));
    }
    let mut search = Search {
        w,
        tried: Vec::new(),
        fitted: Vec::new(),
        best: f64::INFINITY,
    };
    let mut current = start;
    for order in starts {
        if !search.tried.contains(&order) && search.improves(order, None) {
            current = order;
        }
    }
    'search: while search.tried.len() < MAX_MODELS {
        for mv in MOVES {
            let Some(next) = neighbour(&current, mv, &lim, allow_constant) else {
                continue;
            };
            if search.tried.contains(&next) {
                continue;
            }
            // On non-seasonal data, started from the current model's estimates: its
            // neighbour's optimum is usually near them (4.6 % fewer instructions on M3
            // other). On seasonal data the different starts moved M1 monthly's MASE
            // by +0.003.
            let from = search.fitted.iter().find(|c| c.order == current);
            let start = from
                .filter(|_| base.m == 1)
                .and_then(|c| carried(&current, &c.css.x, &next));
            if search.improves(next, start.as_deref()) {
                current = next;
                continue 'search;
            }
            if search.tried.len() >= MAX_MODELS {
                break 'search;
            }
        }
        break;
    }
    let mut ranked = search.fitted;
    ranked.retain(|c| c.aicc.is_finite());
    ranked.sort_by(|a, b| a.aicc.total_cmp(&b.aicc));
    ranked
}

/// The models tried so far.
struct Search<'a> {
    w: &'a [f64],
    tried: Vec<Order>,
    fitted: Vec<Candidate>,
    best: f64,
}

impl Search<'_> {
    /// Fits `order` from `start` (zeros and the mean when `None`); whether it beats
    /// every model so far.
    fn improves(&mut self, order: Order, start: Option<&[f64]>) -> bool {
        self.tried.push(order);
        let Some(c) = evaluate(self.w, order, start) else {
            return false;
        };
        let better = c.aicc < self.best;
        if better {
            self.best = c.aicc;
        }
        self.fitted.push(c);
        better
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(p: usize, q: usize, constant: bool) -> Order {
        Order {
            p,
            d: 1,
            q,
            sp: 0,
            sd: 0,
            sq: 0,
            m: 1,
            constant,
        }
    }

    #[test]
    fn estimates_carry_to_a_neighbour_cut_or_padded() {
        // ARIMA(2,1,1) with drift to ARIMA(1,1,2) with drift: φ₂ dropped, θ₂ = 0.
        let x = [0.5, 0.2, -0.3, 0.7];
        assert_eq!(
            carried(&order(2, 1, true), &x, &order(1, 2, true)),
            Some(vec![0.5, -0.3, 0.0, 0.7])
        );
        // The constant switched on is left to the fit (which starts it at the mean),
        // switched off is dropped.
        assert_eq!(
            carried(&order(1, 0, false), &[0.5], &order(1, 0, true)),
            Some(vec![0.5])
        );
        assert_eq!(
            carried(&order(1, 0, true), &[0.5, 3.0], &order(1, 0, false)),
            Some(vec![0.5])
        );
        // The fit starts a missing constant at the mean, as it would be given.
        let w = [1.0, 3.0, 2.0, 6.0, 4.0, 5.0, 3.0, 7.0];
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let to = order(1, 0, true);
        let (left, given) = (
            css::fit_from(&w, &to, Some(&[0.5])).expect("fits"),
            css::fit_from(&w, &to, Some(&[0.5, mean])).expect("fits"),
        );
        assert_eq!((left.x, left.sigma2), (given.x, given.sigma2));
        // φ = (1.5, -0.6) is stationary, φ = 1.5 alone is not: no start.
        assert_eq!(
            carried(&order(2, 0, false), &[1.5, -0.6], &order(1, 0, false)),
            None
        );
    }
}
