//! Test support shared by the workspace's integration tests: throwaway PostgreSQL and
//! Redis servers (or the ones already running), and harnesses around the real validators.
//! Tools are found where `scripts/install-tools` puts them (see [`tools`]).

mod process;
pub mod services;
pub mod tools;
pub mod validators;
