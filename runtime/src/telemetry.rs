//! Logging: `tracing` to stderr, filtered by `LOG_LEVEL` (or `RUST_LOG` when set).
//! Tests send it to a sink unless `TEST_LOG` is set.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init<W>(level: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn,tower_http=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .try_init();
}
