//! Replays a demand series through an inventory policy, to measure the service it
//! achieves: the check that the inventory agent's formulas deliver their target.
//!
//! Each period: orders due arrive, demand is met from stock or backordered, then the
//! inventory position (net stock plus stock on order) is reviewed. An order placed at the
//! end of period `t` arrives at the start of period `t + L + 1`, so lead time 0 means it is
//! there for the next period's demand. A replenishment cycle ends just before an order
//! arrives; it had a stockout if net stock was negative then. The cycle service level is
//! the share of cycles without one, the fill rate the share of demand met from stock.

use serde::{Deserialize, Serialize};

/// A replenishment policy with rounded levels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// (s,Q), reviewed every period: when the inventory position is at or below `s`,
    /// order enough multiples of `Q` to bring it above.
    ReorderPoint {
        /// Reorder point `s`.
        reorder_point: f64,
        /// Order quantity `Q` (> 0).
        order_quantity: f64,
    },
    /// (R,S): every `R` periods, order up to `S`.
    OrderUpTo {
        /// Review period `R` (≥ 1).
        review_period: usize,
        /// Order-up-to level `S`.
        order_up_to: f64,
    },
}

/// What a replay achieved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Replenishment cycles completed.
    pub cycles: usize,
    /// Cycles that ended with a stockout.
    pub stockout_cycles: usize,
    /// Total demand.
    pub demand: f64,
    /// Demand met from stock on hand.
    pub filled: f64,
}

impl Outcome {
    /// Share of cycles without a stockout (`None` without a completed cycle).
    pub fn cycle_service_level(&self) -> Option<f64> {
        (self.cycles > 0).then(|| 1.0 - self.stockout_cycles as f64 / self.cycles as f64)
    }

    /// Share of demand met from stock (`None` without demand).
    pub fn fill_rate(&self) -> Option<f64> {
        (self.demand > 0.0).then(|| self.filled / self.demand)
    }
}

/// Replays `demand` through `policy` with a fixed lead time of `lead_time` periods,
/// starting with the policy's top level on hand and nothing on order.
pub fn simulate(policy: &Policy, demand: &[f64], lead_time: usize) -> Outcome {
    let n = demand.len();
    let mut arriving = vec![0.0; n];
    let mut epoch = vec![false; n];
    let mut net = match *policy {
        Policy::ReorderPoint {
            reorder_point,
            order_quantity,
        } => reorder_point + order_quantity,
        Policy::OrderUpTo { order_up_to, .. } => order_up_to,
    };
    let mut on_order = 0.0;
    let mut out = Outcome {
        cycles: 0,
        stockout_cycles: 0,
        demand: 0.0,
        filled: 0.0,
    };
    for t in 0..n {
        if epoch[t] {
            out.cycles += 1;
            if net < -1e-9 {
                out.stockout_cycles += 1;
            }
            net += arriving[t];
            on_order -= arriving[t];
        }
        let d = demand[t];
        out.demand += d;
        out.filled += d.min(net.max(0.0));
        net -= d;
        let position = net + on_order;
        let order = match *policy {
            Policy::ReorderPoint {
                reorder_point,
                order_quantity,
            } if position <= reorder_point && order_quantity > 0.0 => Some(
                ((reorder_point - position) / order_quantity)
                    .floor()
                    .max(0.0)
                    * order_quantity
                    + order_quantity,
            ),
            Policy::OrderUpTo {
                review_period,
                order_up_to,
            } if (t + 1) % review_period.max(1) == 0 => Some((order_up_to - position).max(0.0)),
            _ => None,
        };
        if let Some(q) = order {
            on_order += q;
            let due = t + 1 + lead_time;
            if due < n {
                arriving[due] += q;
                epoch[due] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_demand_with_enough_stock_never_runs_out() {
        let demand = vec![10.0; 50];
        let p = Policy::OrderUpTo {
            review_period: 1,
            order_up_to: 30.0, // (R + L)·d with L = 2
        };
        let o = simulate(&p, &demand, 2);
        assert_eq!(o.cycles, 47);
        assert_eq!(o.cycle_service_level(), Some(1.0));
        assert_eq!(o.fill_rate(), Some(1.0));
        // One unit short of the lead-time demand: every cycle ends in a stockout.
        let short = Policy::OrderUpTo {
            review_period: 1,
            order_up_to: 29.0,
        };
        let o = simulate(&short, &demand, 2);
        assert_eq!(o.cycle_service_level(), Some(0.0));
        assert!((o.fill_rate().expect("demand") - 0.9).abs() < 0.01);
    }

    #[test]
    fn reorder_point_orders_whole_quantities_when_reached() {
        // d = 10, L = 1: s = 20 covers the two periods until an order lands.
        let demand = vec![10.0; 40];
        let p = Policy::ReorderPoint {
            reorder_point: 20.0,
            order_quantity: 50.0,
        };
        let o = simulate(&p, &demand, 1);
        assert!(o.cycles >= 6, "{o:?}");
        assert_eq!(o.cycle_service_level(), Some(1.0));
        let tight = Policy::ReorderPoint {
            reorder_point: 5.0,
            order_quantity: 50.0,
        };
        let o = simulate(&tight, &demand, 1);
        assert!(o.cycle_service_level().expect("cycles") < 0.5, "{o:?}");
    }
}
