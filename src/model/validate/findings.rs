//! Where whole-configuration checks put what they find: each finding located by its
//! document path (leaf).

use crate::diag::{Diagnostic, Diagnostics};
use crate::source::doc::Node;

/// Collects findings located by document path.
pub(super) struct Findings<'a> {
    pub(super) doc: &'a Node,
    pub(super) diags: Diagnostics,
}

impl Findings<'_> {
    pub(super) fn error(
        &mut self,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(code, message, Some(self.doc.locate(path))).help(help));
    }
}
