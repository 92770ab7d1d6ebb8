//! checkov (offline, `--skip-download`) on Kubernetes manifests and Dockerfiles, its JSON
//! output parsed into counts and the failed check ids. One run can cover several
//! frameworks; each run costs a few seconds of Python start-up, so batch files per dir.

use std::path::Path;

use serde::Deserialize;

use super::{Findings, run, tool};

/// A checkov framework this harness runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// Kubernetes manifests.
    Kubernetes,
    /// Dockerfiles.
    Dockerfile,
}

impl Framework {
    fn name(self) -> &'static str {
        match self {
            Framework::Kubernetes => "kubernetes",
            Framework::Dockerfile => "dockerfile",
        }
    }
}

/// What checkov concluded, summed over the frameworks scanned.
#[derive(Debug, Clone, Default)]
pub struct CheckovReport {
    /// Checks passed.
    pub passed: u32,
    /// Checks failed.
    pub failed: u32,
    /// Checks skipped (by `--skip-check` or annotations).
    pub skipped: u32,
    /// Files checkov could not parse.
    pub parsing_errors: u32,
    /// Every failed check.
    pub failures: Vec<FailedCheck>,
}

/// One failed check.
#[derive(Debug, Clone, Deserialize)]
pub struct FailedCheck {
    /// The check id, e.g. `CKV_K8S_20`.
    pub check_id: String,
    /// What it checks.
    pub check_name: String,
    /// The resource, e.g. `Deployment.scf.app`.
    pub resource: String,
    /// The file, relative to the scanned dir (with a leading `/`).
    pub file_path: String,
}

impl CheckovReport {
    /// The distinct failed check ids, sorted.
    pub fn failed_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.failures.iter().map(|f| f.check_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The failed checks in files under `prefix` (checkov's paths start at the scanned dir
    /// with a `/`, e.g. `/good/`): one scan of a dir can judge each of its subdirs.
    pub fn failures_under(&self, prefix: &str) -> Vec<&FailedCheck> {
        self.failures
            .iter()
            .filter(|f| f.file_path.starts_with(prefix))
            .collect()
    }

    /// Passes only when nothing failed and every file parsed.
    pub fn require_clean(self) -> Result<CheckovReport, Findings> {
        if self.failed == 0 && self.parsing_errors == 0 {
            return Ok(self);
        }
        let output: String = self
            .failures
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} ({})\n",
                    f.check_id, f.resource, f.file_path, f.check_name
                )
            })
            .collect();
        Err(Findings::Rejected {
            tool: "checkov".to_owned(),
            command: "checkov".to_owned(),
            status: format!(
                "{} failed, {} parsing errors",
                self.failed, self.parsing_errors
            ),
            output,
        })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Output {
    Many(Vec<FrameworkOutput>),
    One(FrameworkOutput),
    /// What checkov prints when it found nothing to scan.
    Empty(Summary),
}

#[derive(Deserialize)]
struct FrameworkOutput {
    results: Results,
    summary: Summary,
}

#[derive(Deserialize)]
struct Results {
    failed_checks: Vec<FailedCheck>,
}

#[derive(Deserialize)]
struct Summary {
    passed: u32,
    failed: u32,
    skipped: u32,
    parsing_errors: u32,
}

/// `checkov -d <dir> --framework … --quiet --compact --skip-download -o json`, with
/// `skip_checks` passed as `--skip-check`. Failed checks are in the report, not an error:
/// see [`CheckovReport::require_clean`].
pub fn scan(
    dir: &Path,
    frameworks: &[Framework],
    skip_checks: &[&str],
) -> Result<CheckovReport, Findings> {
    let mut cmd = tool("checkov")?;
    // Run inside the dir as `-d .`: given an absolute path with a dot-dir in it (tempfile's
    // `/tmp/.tmpXXXX`), checkov silently skips every Kubernetes manifest.
    cmd.current_dir(dir).args(["-d", ".", "--framework"]);
    cmd.args(frameworks.iter().map(|f| f.name()));
    cmd.args(["--quiet", "--compact", "--skip-download", "-o", "json"]);
    if !skip_checks.is_empty() {
        cmd.args(["--skip-check", &skip_checks.join(",")]);
    }
    let ran = run(&mut cmd)?;
    // Exit 1 means "checks failed"; anything else, or output that is not the JSON report,
    // is checkov itself failing.
    let parsed = match ran.status.code() {
        Some(0 | 1) => serde_json::from_str::<Output>(&ran.stdout).ok(),
        _ => None,
    };
    let Some(parsed) = parsed else {
        let status = ran.status.to_string();
        return Err(ran.rejected(status));
    };
    let outputs = match parsed {
        Output::Many(outputs) => outputs,
        Output::One(output) => vec![output],
        Output::Empty(summary) => return Ok(CheckovReport::from_summary(&summary)),
    };
    let mut report = CheckovReport::default();
    for output in outputs {
        report.add(&output.summary);
        report.failures.extend(output.results.failed_checks);
    }
    Ok(report)
}

impl CheckovReport {
    fn from_summary(summary: &Summary) -> CheckovReport {
        let mut report = CheckovReport::default();
        report.add(summary);
        report
    }

    fn add(&mut self, summary: &Summary) {
        self.passed += summary.passed;
        self.failed += summary.failed;
        self.skipped += summary.skipped;
        self.parsing_errors += summary.parsing_errors;
    }
}
