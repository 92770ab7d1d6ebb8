//! Progress of long steps: an indicatif bar on a terminal, plain lines otherwise (CI
//! logs, pipes), so the same apply reads well in both.

use super::report::styled;
use crate::host::apply::Step;
use indicatif::{ProgressBar, ProgressStyle};

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
        if !styled(&std::io::stderr()) {
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

/// Progress of a cluster apply: a spinner per workload being waited for on a terminal,
/// plain lines (one per change of status) otherwise.
pub struct Rollouts {
    multi: Option<indicatif::MultiProgress>,
    bars: std::collections::BTreeMap<String, ProgressBar>,
    last: std::collections::BTreeMap<String, String>,
}

impl Rollouts {
    /// Bars on a terminal, lines otherwise.
    pub fn new() -> Self {
        let terminal = styled(&std::io::stderr());
        Self {
            multi: terminal.then(indicatif::MultiProgress::new),
            bars: std::collections::BTreeMap::new(),
            last: std::collections::BTreeMap::new(),
        }
    }

    fn line(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// Records one step.
    pub fn step(&mut self, step: crate::cluster::apply::Step) {
        use crate::cluster::apply::Step;
        match step {
            Step::Done(action, address) => self.line(&format!("    {action} {address}")),
            Step::Note(note) => self.line(&format!("note: {note}")),
            Step::RolledBack(address) => self.line(&format!("    rolled back {address}")),
            Step::Waiting(address, status) => {
                if let Some(multi) = &self.multi {
                    let bar = self.bars.entry(address.clone()).or_insert_with(|| {
                        let bar = multi.add(ProgressBar::new_spinner());
                        if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
                            bar.set_style(style);
                        }
                        bar.enable_steady_tick(std::time::Duration::from_millis(120));
                        bar
                    });
                    bar.set_message(format!("{address}: {status}"));
                } else if self.last.get(&address) != Some(&status) {
                    eprintln!("    waiting for {address}: {status}");
                    self.last.insert(address, status);
                }
            }
            Step::Ready(address) => match self.bars.remove(&address) {
                Some(bar) => bar.finish_with_message(format!("{address}: ready")),
                None => self.line(&format!("    ready: {address}")),
            },
        }
    }

    /// Stops every spinner.
    pub fn finish(self) {
        for bar in self.bars.values() {
            bar.abandon();
        }
    }
}
