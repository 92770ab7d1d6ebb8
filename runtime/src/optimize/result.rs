//! One SKU's result: its forecast, the backtest that scored it, and the (s,Q) and (R,S)
//! policies computed from them, with the policies as [`simulate`] replays them.

use serde::{Deserialize, Serialize};

use super::backtest::Score;
use super::forecaster::DemandClass;
use super::input::{SkuParams, Target};
use super::simulate;

/// One SKU's forecast and policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuResult {
    /// SKU id.
    pub sku: String,
    /// Syntetos-Boylan class of the history.
    pub demand_class: DemandClass,
    /// Forecasting model chosen.
    pub model: String,
    /// Periods of history used.
    pub history_periods: usize,
    /// Last period of the history.
    pub last_period: String,
    /// Mean forecast for the next `horizon` periods.
    pub forecast: Vec<f64>,
    /// Mean demand per period over the protection interval `R + L`.
    pub mean_demand: f64,
    /// One-step forecast-error standard deviation.
    pub error_sd: f64,
    /// Backtest errors (pool them with [`super::summarize`]).
    pub backtest: Score,
    /// 1 − WAPE of this SKU's backtest, if it could be scored.
    pub accuracy: Option<f64>,
    /// Service target.
    pub target: Target,
    /// Parameters used.
    pub params: SkuParams,
    /// Safety stock of the (s,Q) policy.
    pub safety_stock: f64,
    /// Reorder point `s`, whole units.
    pub reorder_point: f64,
    /// Unrounded economic order quantity.
    pub eoq: f64,
    /// Order quantity `Q`: the EOQ rounded up to whole units and MOQ multiples.
    pub order_quantity: f64,
    /// Review period `R` of the (R,S) policy.
    pub review_period: usize,
    /// Safety stock of the (R,S) policy.
    pub periodic_safety_stock: f64,
    /// Order-up-to level `S`, whole units.
    pub order_up_to: f64,
}

impl SkuResult {
    /// The (s,Q) policy, for [`simulate::simulate`].
    pub fn reorder_policy(&self) -> simulate::Policy {
        simulate::Policy::ReorderPoint {
            reorder_point: self.reorder_point,
            order_quantity: self.order_quantity,
        }
    }

    /// The (R,S) policy, for [`simulate::simulate`].
    pub fn order_up_to_policy(&self) -> simulate::Policy {
        simulate::Policy::OrderUpTo {
            review_period: self.review_period,
            order_up_to: self.order_up_to,
        }
    }
}
