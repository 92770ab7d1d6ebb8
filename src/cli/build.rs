//! `scf build --out DIR` and `scf build --check DIR`; a fleet's hosts each under
//! `DIR/hosts/NAME/` ([`compile::build_artifacts`]).

use super::report::{fail, load_or_report};
use crate::build::{self, Drift};
use crate::compile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `scf build`.
#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub struct BuildArgs {
    /// Write the artifacts into this directory.
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
    /// Instead of writing, fail with a diff when DIR is out of date.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
}

/// Builds, or checks a committed build.
pub fn run(config: &Path, args: &BuildArgs) -> ExitCode {
    let Some(compiled) = load_or_report(config) else {
        return ExitCode::FAILURE;
    };
    let artifacts = match compile::build_artifacts(&compiled.model) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let project = compiled.model.name().to_string();
    if let Some(dir) = &args.check {
        return check(config, dir, &project, &artifacts);
    }
    if let Err(e) = build::write(&args.out, &project, &artifacts) {
        return fail(format!("cannot write {}: {e}", args.out.display()));
    }
    println!(
        "Wrote {} artifacts and {} to {}",
        artifacts.len(),
        build::MANIFEST,
        args.out.display()
    );
    ExitCode::SUCCESS
}

fn check(
    config: &Path,
    dir: &Path,
    project: &str,
    artifacts: &[crate::artifact::Artifact],
) -> ExitCode {
    let drift = match build::check(dir, project, artifacts) {
        Ok(drift) => drift,
        Err(e) => return fail(format!("cannot write the manifest: {e}")),
    };
    if drift.is_empty() {
        println!(
            "{} is up to date ({} artifacts)",
            dir.display(),
            artifacts.len()
        );
        return ExitCode::SUCCESS;
    }
    for d in &drift {
        match d {
            Drift::Missing(path) => println!("missing: {path}"),
            Drift::Stale(path) => println!("no longer generated: {path}"),
            Drift::Changed(_, diff) => print!("{diff}"),
        }
    }
    fail(format!(
        "{} is out of date ({} file{} differ); run `scf build --config {} --out {}` to update it",
        dir.display(),
        drift.len(),
        if drift.len() == 1 { "" } else { "s" },
        config.display(),
        dir.display()
    ))
}
