//! YAML: yamllint with the repository's config for generated files (`tools/yamllint.yml`,
//! compiled in), strict, so warnings fail as well as errors.

use std::path::Path;

use super::{Findings, Report, run, tool};

/// The config, from the repository's `tools/yamllint.yml`.
const CONFIG: &str = include_str!("../../../tools/yamllint.yml");

/// `yamllint --strict -f parsable` on files or dirs: passes only when it prints nothing.
pub fn lint(paths: &[&Path]) -> Result<Report, Findings> {
    let mut cmd = tool("yamllint")?;
    cmd.args(["--strict", "-f", "parsable", "-d", CONFIG])
        .args(paths);
    run(&mut cmd)?.silent()
}
