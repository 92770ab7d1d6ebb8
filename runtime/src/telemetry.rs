//! Logging: `tracing` to stderr, filtered by `LOG_LEVEL` (or `RUST_LOG` when set), in
//! colour only on a terminal: under systemd (`JOURNAL_STREAM` set) or into a pipe or
//! file, escape codes would be stored in the journal verbatim. Tests send it to a sink
//! unless `TEST_LOG` is set.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init<W>(level: &str, writer: W, ansi: bool)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn,tower_http=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Installs the global subscriber on stderr, in colour by the rule the CLI follows too
/// ([`scf_contract::colour`]).
pub fn init_stderr(level: &str) {
    init(
        level,
        std::io::stderr,
        scf_contract::colour::for_stream(&std::io::stderr()),
    );
}
