//! When terminal output may be styled (colours, progress bars): the one rule of the CLI
//! and of the server's logs. Only on a terminal; never under systemd's journal
//! (`JOURNAL_STREAM`), which would store escape codes verbatim; never with `NO_COLOR`
//! set (<https://no-color.org>).

use std::io::IsTerminal;

/// The rule, with the environment given as a lookup (for tests).
pub fn enabled(is_terminal: bool, is_set: &dyn Fn(&str) -> bool) -> bool {
    is_terminal && !is_set("JOURNAL_STREAM") && !is_set("NO_COLOR")
}

/// The rule for `stream` in this process's environment.
pub fn for_stream(stream: &impl IsTerminal) -> bool {
    enabled(stream.is_terminal(), &|name| {
        std::env::var_os(name).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::enabled;

    #[test]
    fn colour_only_on_a_terminal_outside_the_journal() {
        let none = |_: &str| false;
        assert!(enabled(true, &none));
        assert!(!enabled(false, &none), "a pipe or a file");
        assert!(
            !enabled(true, &|n| n == "JOURNAL_STREAM"),
            "systemd's journal"
        );
        assert!(!enabled(true, &|n| n == "NO_COLOR"));
    }
}
