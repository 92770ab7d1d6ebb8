//! Progress of long steps: an indicatif bar on a terminal, plain lines otherwise (CI
//! logs, pipes), so the same apply reads well in both.

use crate::host::apply::Step;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Reports apply steps as they happen.
pub enum Progress {
    /// A bar that counts files and commands.
    Bar(ProgressBar),
    /// One line per step on stderr.
    Lines,
}

impl Progress {
    /// A bar over `total` steps on a terminal, or plain lines.
    pub fn new(total: usize) -> Self {
        if !std::io::stderr().is_terminal() || std::env::var_os("NO_COLOR").is_some() {
            return Progress::Lines;
        }
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
            .map(|s| s.progress_chars("=> "));
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Progress::Bar(bar)
    }

    /// Records one step.
    pub fn step(&mut self, step: Step) {
        let line = match &step {
            Step::Phase(p) => format!("==> {p}"),
            Step::File(f) => format!("    {f}"),
            Step::Command(c, true) => format!("    ran: {c}"),
            Step::Command(c, false) => {
                format!("    skipped (no service manager under --root): {c}")
            }
        };
        match self {
            Progress::Lines => eprintln!("{line}"),
            Progress::Bar(bar) => {
                if !matches!(step, Step::Phase(_)) {
                    bar.inc(1);
                }
                bar.println(&line);
                bar.set_message(line.trim().to_string());
            }
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
