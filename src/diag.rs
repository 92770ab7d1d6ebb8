//! Diagnostics as the user sees them: `framework.toml:12:9`, the source line, a marker
//! under the offending text, and a `help:` line with the fix. Every stage that reads user
//! input reports through here, so all errors of a run are collected and shown together.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource,
    Severity as MietteSeverity, ThemeCharacters, ThemeStyles,
};
use std::fmt::Write as _;

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// A file whose text diagnostics point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Name shown in diagnostics, e.g. `framework.toml` or `<builtin>/profiles/dev.toml`.
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// Every file read in one run.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        self.files.len() - 1
    }
    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }
}

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Makes the command fail.
    Error,
    /// Shown, but the command succeeds.
    Warning,
}

/// One finding about the user's input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code, e.g. `scf::unknown-key`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where, if anywhere.
    pub span: Option<Span>,
    /// Text under the marker.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The text under the span is secret material and is masked when shown.
    pub redact: bool,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(code: &'static str, message: impl Into<String>, span: Option<Span>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            redact: false,
        }
    }
    /// A warning at `span`.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Option<Span>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message, span)
        }
    }
    /// Sets the text under the marker.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
    /// Sets the fix.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// Masks the source text under the span when shown.
    pub fn redacted(mut self) -> Self {
        self.redact = true;
        self
    }
}

/// The findings of one run, in the order found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Records a finding.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    /// Every finding.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    /// Appends another run's findings.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    /// Renders every finding, sorted by file and position so output is stable.
    pub fn render(&self, sources: &Sources, color: bool) -> String {
        let mut sorted: Vec<&Diagnostic> = self.0.iter().collect();
        sorted.sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
        // Unicode frames, but a caret under the offending text, as compilers draw it.
        let characters = ThemeCharacters {
            underline: '^',
            underbar: '^',
            ..ThemeCharacters::unicode()
        };
        let theme = GraphicalTheme {
            characters,
            styles: if color {
                ThemeStyles::ansi()
            } else {
                ThemeStyles::none()
            },
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        let mut out = String::new();
        for d in sorted {
            let report = to_report(d, sources);
            if handler.render_report(&mut out, report.as_ref()).is_err() {
                let _ = writeln!(out, "error: {}", d.message);
            }
        }
        out
    }
}

/// Builds a miette report with the source attached, masking secret text if asked.
fn to_report(d: &Diagnostic, sources: &Sources) -> miette::Report {
    let mut diag = MietteDiagnostic::new(d.message.clone())
        .with_code(d.code)
        .with_severity(match d.severity {
            Severity::Error => MietteSeverity::Error,
            Severity::Warning => MietteSeverity::Warning,
        });
    if let Some(help) = &d.help {
        diag = diag.with_help(help.clone());
    }
    let Some(span) = d.span else {
        return miette::Report::new(diag);
    };
    let file = sources.get(span.file);
    let (text, start, end) = if d.redact {
        mask(&file.text, span.start, span.end)
    } else {
        (file.text.clone(), span.start, span.end)
    };
    let label = (!d.label.is_empty()).then(|| d.label.clone());
    diag = diag.with_label(LabeledSpan::new(label, start, end - start));
    miette::Report::new(diag).with_source_code(NamedSource::new(file.name.clone(), text))
}

/// Replaces the characters of `text[start..end]` with `*`, returning the new text and range.
fn mask(text: &str, start: usize, end: usize) -> (String, usize, usize) {
    let chars = text[start..end].chars().count();
    let masked = format!("{}{}{}", &text[..start], "*".repeat(chars), &text[end..]);
    (masked, start, start + chars)
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_marker_and_help() {
        let mut sources = Sources::default();
        let file = sources.add("framework.toml", "[server]\ndomian = \"x\"\n");
        let mut diags = Diagnostics::default();
        diags.push(
            Diagnostic::error(
                "scf::unknown-key",
                "unknown key `domian` in [server]",
                Some(Span {
                    file,
                    start: 9,
                    end: 15,
                }),
            )
            .label("did you mean `domain`?")
            .help("rename it"),
        );
        let out = diags.render(&sources, false);
        assert!(out.contains("framework.toml:2:1"), "{out}");
        assert!(out.contains("domian = \"x\""), "{out}");
        assert!(out.contains("help: rename it"), "{out}");
    }

    #[test]
    fn redacted_spans_never_show_the_secret() {
        let mut sources = Sources::default();
        let file = sources.add("framework.toml", "[database]\npassword = \"hunter2\"\n");
        let mut diags = Diagnostics::default();
        diags.push(
            Diagnostic::error(
                "scf::literal-secret",
                "literal secret",
                Some(Span {
                    file,
                    start: 23,
                    end: 30,
                }),
            )
            .redacted(),
        );
        let out = diags.render(&sources, false);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("*******"), "{out}");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            did_you_mean("domian", ["domain", "listen", "workers"]),
            Some("domain")
        );
        assert_eq!(did_you_mean("zzz", ["domain", "listen"]), None);
    }
}
