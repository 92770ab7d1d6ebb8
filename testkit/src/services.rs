//! Throwaway PostgreSQL and Redis servers for tests, or the ones already running.
