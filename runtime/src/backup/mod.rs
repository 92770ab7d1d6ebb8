//! Restore drills: proof that a backup set `backup.sh` wrote restores. [`set`] opens a set
//! and checks its SHA256SUMS before any dump is read; [`scratch`] restores its dumps into
//! scratch databases on a PostgreSQL server and always drops them; [`metrics`] is the
//! restore-drill metrics file node-exporter exports. `scf backup verify` (`cli::backup`)
//! runs the drill and `scf db verify`'s checks on what it restored.

pub mod metrics;
pub mod scratch;
pub mod set;
