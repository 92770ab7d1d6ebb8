//! Test support shared by the workspace's integration tests: throwaway PostgreSQL and
//! Redis servers (or the ones already running), harnesses around the real validators, and
//! booted Debian nodes for end-to-end tests on real systemd ([`node`]).
//! Tools are found where `scripts/install-tools` puts them (see [`tools`]).

pub mod node;
mod process;
pub mod services;
pub mod tools;
pub mod validators;
