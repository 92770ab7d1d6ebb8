//! Alertmanager: `amtool check-config`, which loads the file as Alertmanager would (routes,
//! receivers, matchers, integration URLs). Passes only on its `SUCCESS` line with no
//! `FAILED` and no warning. Secret fields (`api_url`, `auth_password`) are parsed too, so
//! hand it a file whose secret markers are filled in.

use std::path::Path;

use super::{Findings, Report, run, tool};

/// `amtool check-config` on one Alertmanager config file.
pub fn check_config(config: &Path) -> Result<Report, Findings> {
    let ran = run(tool("amtool")?.arg("check-config").arg(config))?;
    let lower = ran.output.to_ascii_lowercase();
    let clean =
        ran.output.contains("SUCCESS") && !lower.contains("failed") && !lower.contains("warn");
    ran.judge(clean, "did not report SUCCESS alone")
}
