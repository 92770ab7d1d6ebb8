//! Reading framework.toml: parse with spans, merge the profiles it extends, check the
//! merged document against the schema, and deserialize it into a [`Config`].

pub mod check;
pub mod doc;
pub mod profile;

use crate::config::{Config, checker_schema};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use doc::Node;
use serde::Deserialize;
use std::path::Path;

/// A framework.toml that parsed and passed the structural checks.
#[derive(Debug)]
pub struct Loaded {
    /// The files read: framework.toml and its profiles.
    pub sources: Sources,
    /// The merged document, for locating findings.
    pub doc: Node,
    /// The typed configuration.
    pub config: Config,
}

/// Why loading failed, with the files needed to show it.
#[derive(Debug)]
pub struct Failed {
    /// The files read.
    pub sources: Sources,
    /// Every finding.
    pub diags: Diagnostics,
}

/// Reads, merges and checks `path`. Reports every structural error, not just the first.
pub fn load(path: &Path) -> Result<Loaded, Failed> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let Some(doc) = profile::load_merged(path, &mut sources, &mut diags) else {
        return Err(Failed { sources, diags });
    };
    finish(doc, sources, diags)
}

/// Like [`load`], for text already in memory that claims to live at `path` (for editors
/// and the fuzzer). Profiles given by path are still read from disk.
pub fn load_text(path: &Path, text: String) -> Result<Loaded, Failed> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let doc = profile::merge_text(path, text, &mut sources, &mut diags);
    finish(doc, sources, diags)
}

/// Checks a merged document and deserializes it.
fn finish(doc: Node, sources: Sources, mut diags: Diagnostics) -> Result<Loaded, Failed> {
    if !diags.has_errors() {
        let schema = checker_schema();
        diags.extend(check::Checker::new(&schema).check_document(&doc));
    }
    if diags.has_errors() {
        return Err(Failed { sources, diags });
    }
    match Config::deserialize(doc.to_toml()) {
        Ok(config) => Ok(Loaded {
            sources,
            doc,
            config,
        }),
        Err(e) => {
            diags.push(
                Diagnostic::error("scf::internal", format!("the checked document did not deserialize: {e}"), None)
                    .help("this is a bug in scf; please report it with your framework.toml (secrets are references, so it is safe to share)"),
            );
            Err(Failed { sources, diags })
        }
    }
}
