//! Limits on client connections: how long a connection may take to send a request head
//! (also its keep-alive idle time), and how many progress WebSockets a user and a tenant
//! may hold open on one replica.

use std::time::Duration;

use super::error::SettingsError;
use super::parse::{Lookup, number};
use crate::vars;

/// Connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// Time a connection has to deliver a complete request head, counted from when it
    /// opens or finishes its previous response (so also the keep-alive idle timeout).
    pub header_timeout: Duration,
    /// Progress WebSockets one user or API key may hold open.
    pub sockets_per_user: usize,
    /// Progress WebSockets one tenant may hold open.
    pub sockets_per_tenant: usize,
}

impl Connections {
    /// `HTTP_HEADER_TIMEOUT_SECONDS` (10), `WEBSOCKETS_PER_USER` (10) and
    /// `WEBSOCKETS_PER_TENANT` (100).
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let header_timeout = number(lookup, vars::HTTP_HEADER_TIMEOUT_SECONDS, 10u64)?;
        if header_timeout == 0 {
            return Err(SettingsError::invalid(
                vars::HTTP_HEADER_TIMEOUT_SECONDS,
                "0",
                "give at least 1 second",
            ));
        }
        Ok(Self {
            header_timeout: Duration::from_secs(header_timeout),
            sockets_per_user: number(lookup, vars::WEBSOCKETS_PER_USER, 10)?,
            sockets_per_tenant: number(lookup, vars::WEBSOCKETS_PER_TENANT, 100)?,
        })
    }
}
