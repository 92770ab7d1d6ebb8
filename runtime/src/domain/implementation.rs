//! An implementation's lifecycle state, shared by the service that moves it
//! (`implementations`), the agents, the API and the metrics that count final states.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An implementation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for an agent (or a free slot).
    Queued,
    /// Forecasting agents are at work.
    Forecasting,
    /// The inventory agent is at work.
    Optimizing,
    /// Finished; results available.
    Succeeded,
    /// Stopped by an error.
    Failed,
    /// Cancelled by a user.
    Cancelled,
}

impl State {
    /// Every state.
    pub const ALL: [State; 6] = [
        Self::Queued,
        Self::Forecasting,
        Self::Optimizing,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];
    /// The states of a running implementation (what the plan limit counts).
    pub const ACTIVE: [&'static str; 3] = ["queued", "forecasting", "optimizing"];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Forecasting => "forecasting",
            Self::Optimizing => "optimizing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// A stored name; unknown names read as failed.
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .unwrap_or(Self::Failed)
    }

    /// Whether no agent will touch it again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}
