//! Test support shared by the workspace's integration tests: throwaway PostgreSQL and
//! Redis servers (or the ones already running), and harnesses around the real validators.

pub mod services;
pub mod validators;
