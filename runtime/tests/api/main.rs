//! The runtime's API suite, against a real server per test on SQLite and on PostgreSQL
//! (plus Redis where rate limits are shared). One test binary, one module per concern.

mod admins;
mod audit;
mod auth;
mod cache;
mod cli;
mod credentials;
mod edge;
mod encryption;
mod health;
mod helpers;
mod implementations;
mod isolation;
mod limits;
mod listings;
mod migrations;
mod openapi;
mod profile;
mod rate_limits;
mod schemathesis;
mod services;
mod signin;
mod tenants;
