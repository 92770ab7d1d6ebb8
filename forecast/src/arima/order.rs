//! The orders of a seasonal ARIMA model and the name they give it, e.g.
//! `ARIMA(1,1,1)(0,1,1)[12]`.

use std::fmt;

/// The orders of a seasonal `ARIMA(p,d,q)(P,D,Q)[m]` model, and whether it has a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    /// Autoregressive order.
    pub p: usize,
    /// Ordinary differences.
    pub d: usize,
    /// Moving-average order.
    pub q: usize,
    /// Seasonal autoregressive order.
    pub sp: usize,
    /// Seasonal differences.
    pub sd: usize,
    /// Seasonal moving-average order.
    pub sq: usize,
    /// Season length (1 when non-seasonal).
    pub m: usize,
    /// A mean (no difference) or a drift (one difference) is estimated.
    pub constant: bool,
}

impl Order {
    /// Number of estimated coefficients (σ² excluded).
    pub fn n_coef(&self) -> usize {
        self.p + self.q + self.sp + self.sq + usize::from(self.constant)
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ARIMA({},{},{})", self.p, self.d, self.q)?;
        if self.sp + self.sd + self.sq > 0 {
            write!(f, "({},{},{})[{}]", self.sp, self.sd, self.sq, self.m)?;
        }
        match (self.constant, self.d + self.sd) {
            (false, _) => Ok(()),
            (true, 0) => f.write_str(" with non-zero mean"),
            (true, _) => f.write_str(" with drift"),
        }
    }
}
