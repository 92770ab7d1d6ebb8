//! scf compiles one `framework.toml` into every deployment artifact of the AI Supply Chain
//! Optimization Framework, plans the change against what is deployed, and applies it.
//!
//! The pipeline flows one way: [`config`] (raw serde types) → profile merge → validated
//! [`model::Model`] → `targets` render artifacts → `plan` → `apply`.

pub mod acme;
pub mod artifact;
pub mod build;
pub mod cli;
pub mod cluster;
pub mod compile;
pub mod config;
pub mod diag;
pub mod doctor;
pub mod fleet;
pub mod host;
pub mod model;
pub mod plan;
pub mod probe;
pub mod render;
pub mod secret;
pub mod source;
pub mod targets;
