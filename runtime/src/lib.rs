//! The framework server that scf deploys: the multi-tenant API, its metrics and auth,
//! and the optimization agents. `scf run` starts it; the compiler's artifacts configure it.
//!
//! Layout: [`settings`] reads the environment contract in [`vars`]; [`state`] connects the
//! services every part shares; [`app`] runs the server over them; [`http`] is the API;
//! [`tenancy`] holds tenants and their isolated stores; [`domain`] the validated values
//! they are made of; [`audit`], [`ratelimit`], [`metrics`], [`crypto`] and [`group`]
//! (group commit of concurrent writes) are the cross-cutting pieces; [`implementations`]
//! are the tenants' optimization runs, which [`agents`] process from the [`queue`] with
//! [`optimize`], the run's pure computation (demand in, forecasts and inventory policies
//! out); [`backup`] proves backups restore; [`cli`] is what
//! `scf run | db | tenant | audit | queue | agents | backup | optimize` call.

/// The allocator of every binary that serves requests (`scf`, `scf-runtime`): the
/// request path allocates and frees many small buffers, and glibc's malloc took about a
/// fifth of the server's CPU under `bench/runtime/run` (perf). Built without transparent
/// huge pages: with them, memory mimalloc gave back came back as 2 MiB pages zeroed on
/// the first touch (a tenth of the CPU under the PATCH target, and twice its p99).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod agents;
pub mod app;
pub mod audit;
pub mod backup;
pub mod cli;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod exposition;
pub mod files;
pub mod group;
pub mod http;
pub mod implementations;
pub mod metrics;
pub mod optimize;
pub mod platform;
pub mod progress;
pub mod queue;
pub mod ratelimit;
pub mod secret;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod tenancy;
pub mod vars;

pub use app::Application;
pub use db::migrate::{POSTGRES_MIGRATOR, SQLITE_MIGRATOR, TENANT_MIGRATOR};
pub use settings::{Mode, Settings};
pub use state::AppState;
