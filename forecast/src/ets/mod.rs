//! Exponential smoothing in innovations state-space form (Hyndman, Koehler, Ord & Snyder
//! 2008): additive or multiplicative error; no, additive or damped trend; no, additive or
//! multiplicative seasonality. Parameters and initial states are fitted by maximum
//! likelihood inside bounds, and [`auto`] picks the model by AICc as Hyndman's `ets()`
//! and statsforecast's AutoETS do.

mod core;
mod fit;
mod init;
mod model;
mod predict;
mod spec;

pub use self::core::State;
pub use fit::{Candidates, Cut, Screening, auto, fit, refit};
pub use model::EtsFit;
pub use predict::Simulation;
pub use spec::{ErrorType, Params, SeasonType, Spec, TrendType};
