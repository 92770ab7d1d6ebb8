//! The contract between scf's compiler and its runtime. Every value that framework.toml
//! sets and the runtime reads back from its environment is defined here once: its
//! grammar (what `scf validate` accepts), how the compiler writes it into the env file,
//! ConfigMap and Secret, and how the runtime parses it at start. Both crates depend on
//! this one and on nothing of each other for these values, so a value the compiler
//! accepts is a value the runtime accepts (`tests/contract.rs` holds them to it).
//!
//! Also here: the one rule for colouring terminal output, shared by the CLI and the
//! server's logs.

// First, so that its `string_value!` is in scope in the modules after it.
#[macro_use]
pub mod value;

pub mod colour;
pub mod duration;
pub mod plans;
pub mod rate;

pub use duration::{Duration, EnvUnit};
pub use plans::PlanLimits;
pub use rate::{Per, Rate};
pub use value::{StringValue, ValueError};
