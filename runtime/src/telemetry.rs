//! Logging: `tracing` to stderr, filtered by `LOG_LEVEL` (or `RUST_LOG` when set), in
//! colour only on a terminal: under systemd (`JOURNAL_STREAM` set) or into a pipe or
//! file, escape codes would be stored in the journal verbatim. Tests send it to a sink
//! unless `TEST_LOG` is set.

use std::io::IsTerminal;

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

/// Installs the global subscriber on stderr, in colour when [`colour`] says so.
pub fn init_stderr(level: &str) {
    let ansi = colour(std::io::stderr().is_terminal(), &|name| {
        std::env::var_os(name).is_some()
    });
    init(level, std::io::stderr, ansi);
}

/// Whether to colour logs: on a terminal, not under systemd's journal, and without
/// `NO_COLOR` (<https://no-color.org>).
pub fn colour(is_terminal: bool, is_set: &dyn Fn(&str) -> bool) -> bool {
    is_terminal && !is_set("JOURNAL_STREAM") && !is_set("NO_COLOR")
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_outside_the_journal() {
        let none = |_: &str| false;
        assert!(colour(true, &none));
        assert!(!colour(false, &none), "a pipe or a file");
        assert!(
            !colour(true, &|n| n == "JOURNAL_STREAM"),
            "systemd's journal"
        );
        assert!(!colour(true, &|n| n == "NO_COLOR"));
    }
}
