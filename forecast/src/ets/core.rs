//! The ETS state recursion: one-step forecasts, state updates and the likelihood the
//! optimiser minimises. Seasonal states live in a ring buffer, so a step costs O(1)
//! whatever the season length.

use super::spec::{ErrorType, Params, SeasonType, Spec, TrendType};

/// Guard against division by (near) zero in multiplicative components.
const TOL: f64 = 1e-10;
/// Stand-in for an infinite ratio when a multiplicative divisor is (near) zero.
const HUGE: f64 = 1e10;

/// The states of an ETS model at one time: level, slope and the last `m` seasonal terms.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Level.
    pub level: f64,
    /// Slope (0 without trend).
    pub slope: f64,
    /// Seasonal terms in a ring buffer; `season[pos]` applies to the next observation.
    season: Vec<f64>,
    pos: usize,
}

impl State {
    /// A state from level, slope and seasonal terms listed newest first (the layout of
    /// Hyndman's `forecast` and statsforecast: `s[0]` is the term of the latest period).
    pub fn new(level: f64, slope: f64, newest_first: &[f64]) -> Self {
        let season: Vec<f64> = newest_first.iter().rev().copied().collect();
        Self {
            level,
            slope,
            season,
            pos: 0,
        }
    }

    /// Resets the state in place (no allocation in the optimiser's inner loop). The
    /// seasonal terms are `newest` (newest first) followed by `oldest`.
    pub(crate) fn reset(&mut self, level: f64, slope: f64, season: Option<(&[f64], f64)>) {
        self.level = level;
        self.slope = slope;
        self.pos = 0;
        self.season.clear();
        if let Some((newest, oldest)) = season {
            self.season.push(oldest);
            self.season.extend(newest.iter().rev());
        }
    }

    /// Seasonal terms, newest first.
    pub fn seasonal_newest_first(&self) -> Vec<f64> {
        let m = self.season.len();
        (0..m)
            .map(|j| self.season[(self.pos + m - 1 - j) % m])
            .collect()
    }

    /// The seasonal term that applies `k` steps after the next observation.
    fn season_ahead(&self, k: usize) -> f64 {
        self.season[(self.pos + k) % self.season.len()]
    }

    /// The level plus damped slope that `k + 1` steps ahead uses (`phi_sum` = φ+…+φ^(k+1)).
    fn trend_part(&self, phi_sum: f64) -> f64 {
        self.level + phi_sum * self.slope
    }

    /// Point forecasts for `h` steps.
    pub fn forecast(&self, spec: Spec, phi: f64, h: usize) -> Vec<f64> {
        let mut phi_sum = 0.0;
        let mut phi_pow = 1.0;
        (0..h)
            .map(|k| {
                if spec.trend != TrendType::None {
                    phi_pow *= phi;
                    phi_sum += phi_pow;
                }
                let base = self.trend_part(phi_sum);
                match spec.season {
                    SeasonType::None => base,
                    SeasonType::Additive => base + self.season_ahead(k),
                    SeasonType::Multiplicative => base * self.season_ahead(k),
                }
            })
            .collect()
    }

    /// The one-step-ahead forecast.
    #[inline(always)]
    pub fn one_step(&self, spec: Spec, phi: f64) -> f64 {
        let base = match spec.trend {
            TrendType::None => self.level,
            _ => self.level + phi * self.slope,
        };
        match spec.season {
            SeasonType::None => base,
            SeasonType::Additive => base + self.season[self.pos],
            SeasonType::Multiplicative => base * self.season[self.pos],
        }
    }

    /// Moves the state one period on, having observed `y`. Level and slope both move by
    /// their gain times the surprise, the deseasonalised value less its forecast (the
    /// error-correction form of Hyndman et al. 2008). statsforecast writes the slope's
    /// update as `β/α` times the level's change less the damped slope, which is the same
    /// quantity but makes the slope wait on the new level: about 36 cycles of dependent
    /// arithmetic per value in a trended model instead of 20, the likelihood's loop
    /// being bound by that chain (bench/forecast: 5 to 10 % less CPU for `auto` on the
    /// non-seasonal sets, every set's scores unchanged to the third decimal).
    #[inline(always)]
    pub(crate) fn update(&mut self, spec: Spec, p: &Params, y: f64) {
        let damped_slope = if spec.trend == TrendType::None {
            0.0
        } else {
            p.phi * self.slope
        };
        let q = self.level + damped_slope;
        let s = if spec.season == SeasonType::None {
            0.0
        } else {
            self.season[self.pos]
        };
        let deseasoned = match spec.season {
            SeasonType::None => y,
            SeasonType::Additive => y - s,
            SeasonType::Multiplicative if s.abs() < TOL => HUGE,
            SeasonType::Multiplicative => y / s,
        };
        let surprise = deseasoned - q;
        let level = q + p.alpha * surprise;
        if spec.trend != TrendType::None {
            self.slope = damped_slope + p.beta * surprise;
        }
        self.level = level;
        if spec.season != SeasonType::None {
            let detrended = match spec.season {
                SeasonType::Additive => y - q,
                _ if q.abs() < TOL => HUGE,
                _ => y / q,
            };
            self.season[self.pos] = s + p.gamma * (detrended - s);
            self.pos += 1;
            if self.pos == self.season.len() {
                self.pos = 0;
            }
        }
    }
}

/// The one-step error of a forecast `f` for `y`: absolute or relative.
#[inline(always)]
pub fn innovation(error: ErrorType, y: f64, f: f64) -> f64 {
    match error {
        ErrorType::Additive => y - f,
        ErrorType::Multiplicative => {
            let denom = if f.abs() < TOL { f + TOL } else { f };
            (y - f) / denom
        }
    }
}

/// Runs the model through `y`, calling `visit(t, forecast, innovation)` at each step.
/// Returns the final state.
pub fn filter(
    spec: Spec,
    p: &Params,
    mut state: State,
    y: &[f64],
    mut visit: impl FnMut(usize, f64, f64),
) -> State {
    for (t, &obs) in y.iter().enumerate() {
        let f = state.one_step(spec, p.phi);
        visit(t, f, innovation(spec.error, obs, f));
        state.update(spec, p, obs);
    }
    state
}

/// Σ log|x| over a stream, taking one logarithm per block of products.
struct LogSum {
    total: f64,
    product: f64,
}

impl LogSum {
    #[inline]
    fn add(&mut self, x: f64) {
        let a = x.abs();
        self.product *= if a > 0.0 { a } else { 1e-8 };
        if !(1e-100..=1e100).contains(&self.product) {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.total += self.product.ln();
        self.product = 1.0;
    }
}

/// `-2 log L` up to a constant (concentrated over σ²), as in Hyndman et al. (2008):
/// `n log Σe² + 2 Σ log|f|` (the second term for multiplicative errors only). Runs the
/// state through `y` in place.
pub fn neg2_loglik(spec: Spec, p: &Params, state: &mut State, y: &[f64]) -> f64 {
    struct Loglik<'a> {
        p: &'a Params,
        state: &'a mut State,
        y: &'a [f64],
    }
    impl PerForm for Loglik<'_> {
        type Output = f64;
        fn run<const E: u8, const T: u8, const S: u8>(self) -> f64 {
            loglik_of::<E, T, S>(self.p, self.state, self.y)
        }
    }
    per_form(spec, Loglik { p, state, y })
}

/// A loop compiled once per model form: [`per_form`] runs it with the form as constants
/// ([`spec_of`]), so that the component tests of `one_step` and `update` fold away.
pub(crate) trait PerForm {
    type Output;
    fn run<const E: u8, const T: u8, const S: u8>(self) -> Self::Output;
}

/// Runs `work` compiled for `spec`'s form.
pub(crate) fn per_form<W: PerForm>(spec: Spec, work: W) -> W::Output {
    match spec.error {
        ErrorType::Additive => by_trend::<0, W>(spec, work),
        ErrorType::Multiplicative => by_trend::<1, W>(spec, work),
    }
}

fn by_trend<const E: u8, W: PerForm>(spec: Spec, work: W) -> W::Output {
    match spec.trend {
        TrendType::None => by_season::<E, 0, W>(spec, work),
        TrendType::Additive => by_season::<E, 1, W>(spec, work),
        TrendType::Damped => by_season::<E, 2, W>(spec, work),
    }
}

fn by_season<const E: u8, const T: u8, W: PerForm>(spec: Spec, work: W) -> W::Output {
    match spec.season {
        SeasonType::None => work.run::<E, T, 0>(),
        SeasonType::Additive => work.run::<E, T, 1>(),
        SeasonType::Multiplicative => work.run::<E, T, 2>(),
    }
}

/// The form that [`per_form`] runs a loop for, as a constant.
pub(crate) const fn spec_of(e: u8, t: u8, s: u8) -> Spec {
    Spec {
        error: if e == 0 {
            ErrorType::Additive
        } else {
            ErrorType::Multiplicative
        },
        trend: match t {
            0 => TrendType::None,
            1 => TrendType::Additive,
            _ => TrendType::Damped,
        },
        season: match s {
            0 => SeasonType::None,
            1 => SeasonType::Additive,
            _ => SeasonType::Multiplicative,
        },
    }
}

fn loglik_of<const E: u8, const T: u8, const S: u8>(
    p: &Params,
    state: &mut State,
    y: &[f64],
) -> f64 {
    let spec = const { spec_of(E, T, S) };
    let multiplicative = E == 1;
    let mut sse = 0.0;
    let mut log_sum = LogSum {
        total: 0.0,
        product: 1.0,
    };
    for &obs in y {
        let f = state.one_step(spec, p.phi);
        let e = innovation(spec.error, obs, f);
        sse += e * e;
        if multiplicative {
            log_sum.add(f);
        }
        state.update(spec, p, obs);
    }
    log_sum.flush();
    let n = y.len() as f64;
    let mut lik = n * if sse > 0.0 {
        sse.ln()
    } else {
        (sse + 1e-8).ln()
    };
    if multiplicative {
        lik += 2.0 * log_sum.total;
    }
    lik
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: Spec = Spec {
        error: ErrorType::Additive,
        trend: TrendType::None,
        season: SeasonType::None,
    };

    #[test]
    fn simple_exponential_smoothing_follows_its_recursion() {
        let p = Params {
            alpha: 0.3,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        let y = [10.0, 12.0, 9.0, 11.0];
        let mut level = 10.5;
        let mut errors = vec![];
        let end = filter(ANN, &p, State::new(10.5, 0.0, &[]), &y, |_, f, e| {
            assert!((f - level).abs() < 1e-12);
            errors.push(e);
            level += 0.3 * e;
        });
        assert!((end.level - level).abs() < 1e-12);
        assert!((errors[0] - (10.0 - 10.5)).abs() < 1e-12);
    }

    #[test]
    fn additive_seasonal_forecasts_cycle_through_the_ring() {
        let spec = Spec {
            season: SeasonType::Additive,
            ..ANN
        };
        let state = State::new(100.0, 0.0, &[3.0, 2.0, 1.0]);
        assert_eq!(
            state.forecast(spec, 1.0, 4),
            vec![101.0, 102.0, 103.0, 101.0]
        );
        assert_eq!(state.seasonal_newest_first(), vec![3.0, 2.0, 1.0]);
    }

    #[test]
    fn damped_trend_forecasts_sum_powers_of_phi() {
        let spec = Spec {
            trend: TrendType::Damped,
            ..ANN
        };
        let f = State::new(10.0, 1.0, &[]).forecast(spec, 0.5, 3);
        assert_eq!(f, vec![10.5, 10.75, 10.875]);
    }
}
