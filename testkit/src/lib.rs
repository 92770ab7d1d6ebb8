//! Test support shared by the workspace's integration tests: throwaway PostgreSQL and
//! Redis servers (or the ones already running), harnesses around the real validators,
//! booted Debian nodes for end-to-end tests on real systemd ([`node`]), and a request loop
//! that measures a service's availability while a test changes it ([`load`]).
//! Tools are found where `scripts/install-tools` puts them (see [`tools`]).

pub mod load;
pub mod node;
mod process;
pub mod services;
pub mod tools;
pub mod validators;
