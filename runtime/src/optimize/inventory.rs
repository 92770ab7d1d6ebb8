//! The inventory agent's formulas: safety stock from forecast-error and lead-time
//! variance, the reorder point and EOQ (rounded to the MOQ) of an (s,Q) policy, and the
//! order-up-to level of an (R,S) periodic-review policy, at a cycle service level or a
//! fill rate. Pure functions; cross-checked against stockpyl in `tests/optimize_stockpyl.rs`.
//!
//! Notation: `d` mean demand per period, `σ_e` one-step forecast-error sd, `L`/`σ_L` lead
//! time mean/sd in periods, `R` review period. Demand over `T` periods has sd
//! `σ_T = √(T·σ_e² + d²·σ_L²)`; safety stock is `z·σ_T`. For a cycle service level α,
//! `z = Φ⁻¹(α)`; for a fill rate β, `z` solves `G(z) = (1 − β)·Q / σ_T` with `G` the
//! standard normal loss function and `Q` the demand between orders.

use super::input::Target;

/// The standard normal cumulative distribution `Φ(z)`.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// The standard normal density `φ(z)`.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal loss function `G(z) = E[(Z − z)⁺] = φ(z) − z·(1 − Φ(z))`.
pub fn standard_normal_loss(z: f64) -> f64 {
    normal_pdf(z) - z * (1.0 - normal_cdf(z))
}

/// Bounds of `z`: a fill rate that needs more (or less) is met at the bound.
const Z_RANGE: (f64, f64) = (-4.0, 6.0);

/// The `z` with `G(z) = loss` (bisection; `G` is decreasing), clamped to [−4, 6].
pub fn z_for_loss(loss: f64) -> f64 {
    let (mut lo, mut hi) = Z_RANGE;
    if loss >= standard_normal_loss(lo) {
        return lo;
    }
    if loss <= standard_normal_loss(hi) {
        return hi;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if standard_normal_loss(mid) > loss {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The economic order quantity `√(2·K·D / h)` for ordering cost `K`, demand `D` and
/// holding cost `h` per unit, both per the same time unit (0 without demand).
pub fn eoq(ordering_cost: f64, demand: f64, holding_cost: f64) -> f64 {
    if demand <= 0.0 || holding_cost <= 0.0 {
        return 0.0;
    }
    (2.0 * ordering_cost * demand / holding_cost).sqrt()
}

/// Rounds an order quantity up to a whole number of units, at least one, and then up to
/// a multiple of the MOQ (an MOQ of 0 or 1 means none).
pub fn round_to_moq(quantity: f64, moq: f64) -> f64 {
    let units = quantity.max(1.0).ceil();
    if moq > 1.0 {
        ((units / moq).ceil() * moq).ceil()
    } else {
        units
    }
}

/// Demand as the inventory agent sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandModel {
    /// Mean demand per period.
    pub mean: f64,
    /// One-step forecast-error standard deviation.
    pub error_sd: f64,
    /// Mean lead time, in periods.
    pub lead_time_mean: f64,
    /// Lead-time standard deviation, in periods.
    pub lead_time_sd: f64,
}

impl DemandModel {
    /// Variance of demand over `periods` periods plus the lead-time variance term
    /// `d²·σ_L²`.
    pub fn protection_variance(&self, periods: f64) -> f64 {
        periods * self.error_sd * self.error_sd
            + self.mean * self.mean * self.lead_time_sd * self.lead_time_sd
    }

    /// Moments (mean, variance) of how far the inventory position falls below the reorder
    /// point when it is reviewed once per period: the equilibrium excess of one period's
    /// demand, `E[D²]/2E[D]` and `E[D³]/3E[D] − mean²`, with normal demand moments. Zero
    /// under continuous review.
    pub fn per_period_undershoot(&self) -> (f64, f64) {
        let (d, s2) = (self.mean, self.error_sd * self.error_sd);
        if d <= 0.0 {
            return (0.0, 0.0);
        }
        let mean = (s2 + d * d) / (2.0 * d);
        let var = ((d * d + 3.0 * s2) / 3.0 - mean * mean).max(0.0);
        (mean, var)
    }
}

/// `z` for a target, given the sd of demand over the protection interval and the demand
/// per replenishment cycle (used by a fill rate).
pub fn safety_factor(target: Target, sd: f64, cycle_demand: f64) -> f64 {
    match target {
        Target::CycleServiceLevel(alpha) => scf_forecast::normal::quantile(alpha),
        Target::FillRate(beta) if sd > 0.0 => z_for_loss((1.0 - beta) * cycle_demand / sd),
        Target::FillRate(_) => 0.0,
    }
}

/// The reorder point of an (s,Q) policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReorderPolicy {
    /// Safety factor.
    pub z: f64,
    /// Safety stock `z·σ`, σ over the lead time (plus the review undershoot).
    pub safety_stock: f64,
    /// Reorder point `s`, unrounded.
    pub reorder_point: f64,
}

/// Costs that size an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    /// Fixed cost per order.
    pub ordering_cost: f64,
    /// Holding cost per unit per period.
    pub holding_per_period: f64,
    /// Minimum order quantity.
    pub moq: f64,
}

/// The order quantity for mean demand `demand` per period: (unrounded EOQ, the EOQ
/// rounded up to whole units and MOQ multiples).
pub fn order_quantity(costs: &Costs, demand: f64) -> (f64, f64) {
    let q = eoq(costs.ordering_cost, demand, costs.holding_per_period);
    (q, round_to_moq(q, costs.moq))
}

/// The reorder point for orders of `order_quantity`:
/// `s = d·L + E[U] + z·√(σ_L-term + Var U)`, where `U` is the review undershoot (pass
/// `(0, 0)` for continuous review).
pub fn reorder_policy(
    demand: &DemandModel,
    target: Target,
    undershoot: (f64, f64),
    order_quantity: f64,
) -> ReorderPolicy {
    let sd = (demand.protection_variance(demand.lead_time_mean) + undershoot.1).sqrt();
    let z = safety_factor(target, sd, order_quantity);
    let safety_stock = z * sd;
    ReorderPolicy {
        z,
        safety_stock,
        reorder_point: demand.mean * demand.lead_time_mean + undershoot.0 + safety_stock,
    }
}

/// An (R,S) periodic-review policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderUpToPolicy {
    /// Safety factor.
    pub z: f64,
    /// Safety stock `z·σ` over `R + L`.
    pub safety_stock: f64,
    /// Order-up-to level `S = d·(R + L) + z·σ`, unrounded.
    pub order_up_to: f64,
}

/// The (R,S) policy for review period `review` (periods).
pub fn order_up_to_policy(demand: &DemandModel, target: Target, review: f64) -> OrderUpToPolicy {
    let periods = review + demand.lead_time_mean;
    let sd = demand.protection_variance(periods).sqrt();
    let z = safety_factor(target, sd, demand.mean * review);
    let safety_stock = z * sd;
    OrderUpToPolicy {
        z,
        safety_stock,
        order_up_to: demand.mean * periods + safety_stock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_function_and_its_inverse_agree() {
        // Tabulated: G(0) = φ(0) = 0.398942, G(1) = 0.083315.
        assert!((standard_normal_loss(0.0) - 0.398_942_28).abs() < 1e-7);
        assert!((standard_normal_loss(1.0) - 0.083_315_47).abs() < 1e-7);
        for z in [-1.5, 0.0, 0.7, 2.3] {
            assert!((z_for_loss(standard_normal_loss(z)) - z).abs() < 1e-9);
        }
        assert!((normal_cdf(1.644_853_626_95) - 0.95).abs() < 1e-9);
    }

    #[test]
    fn moq_rounding_goes_up_to_whole_multiples() {
        assert_eq!(round_to_moq(37.2, 1.0), 38.0);
        assert_eq!(round_to_moq(37.2, 0.0), 38.0);
        assert_eq!(round_to_moq(37.2, 25.0), 50.0);
        assert_eq!(round_to_moq(50.0, 25.0), 50.0);
        assert_eq!(round_to_moq(0.0, 12.0), 12.0);
    }

    #[test]
    fn safety_stock_combines_forecast_and_lead_time_variance() {
        let d = DemandModel {
            mean: 100.0,
            error_sd: 20.0,
            lead_time_mean: 4.0,
            lead_time_sd: 1.0,
        };
        // σ = √(4·400 + 100²·1) = √11600.
        let p = order_up_to_policy(&d, Target::CycleServiceLevel(0.95), 0.0);
        let sd = 11_600f64.sqrt();
        assert!((p.safety_stock - 1.644_853_6 * sd).abs() < 1e-4);
        assert!((p.order_up_to - (400.0 + p.safety_stock)).abs() < 1e-9);
        // A higher fill rate needs more stock; a fill rate's z meets its loss equation.
        let costs = Costs {
            ordering_cost: 50.0,
            holding_per_period: 0.01,
            moq: 1.0,
        };
        let (eoq, q) = order_quantity(&costs, d.mean);
        assert_eq!((eoq, q), (1000.0, 1000.0)); // √(2·50·100/0.01) = 1000
        let low = reorder_policy(&d, Target::FillRate(0.95), (0.0, 0.0), q);
        let high = reorder_policy(&d, Target::FillRate(0.99), (0.0, 0.0), q);
        assert!(high.reorder_point > low.reorder_point);
        let lhs = standard_normal_loss(high.z) * sd;
        assert!((lhs - 0.01 * q).abs() < 1e-6);
    }

    #[test]
    fn undershoot_of_steady_demand_is_half_a_period() {
        let d = DemandModel {
            mean: 10.0,
            error_sd: 0.0,
            lead_time_mean: 1.0,
            lead_time_sd: 0.0,
        };
        let (m, v) = d.per_period_undershoot();
        assert_eq!(m, 5.0);
        assert!((v - 100.0 / 12.0).abs() < 1e-9);
    }
}
