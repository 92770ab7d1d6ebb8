//! `scf doctor`: the deployment guide's pre- and post-deployment checklists on this host
//! ([`crate::doctor`]), as text or JSON; with `--detailed-exitcode`, exit 2 when a check
//! fails. A fleet's host is checked on that host with `--host NAME`.

use super::report::{color_stderr, fail, styled};
use crate::compile;
use crate::doctor::{self, Phase};
use clap::ValueEnum;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

/// Output format of a doctor report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A line per check, with its fix, for a terminal.
    Text,
    /// The report as JSON (`format_version`), for CI.
    Json,
}

/// Which checklist to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// Before `scf apply`: config, secrets, certificate, ports, memory, disk, packages.
    Pre,
    /// After it: units, sandboxes, /health and /ready, database and tenants, monitoring,
    /// backups, restore drill, journald.
    Post,
    /// Both.
    All,
}

/// Arguments of `scf doctor`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 when it ran (with --detailed-exitcode: when no check failed; \
                  warnings do not change the exit code), 2 with --detailed-exitcode when a \
                  check failed, 1 when doctor could not run."
)]
pub struct DoctorArgs {
    /// Which checklist to run.
    #[arg(long, value_enum, default_value = "all")]
    phase: PhaseArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Exit 0 when no check failed (warnings included), 2 when one did, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// For a fleet (`[[hosts]]`): the host this is, checked as that host's share.
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
}

/// Runs the checks on this host and prints the report.
pub fn run(config: &Path, args: &DoctorArgs) -> ExitCode {
    let phases: &[Phase] = match args.phase {
        PhaseArg::Pre => &[Phase::Pre],
        PhaseArg::Post => &[Phase::Post],
        PhaseArg::All => &[Phase::Pre, Phase::Post],
    };
    let report = match compile::load(config) {
        Err(invalid) => {
            eprint!("{}", invalid.diags.render(&invalid.sources, color_stderr()));
            doctor::invalid_config(&config.display().to_string(), invalid.diags.error_count())
        }
        Ok(mut compiled) => {
            if compiled.model.host.is_none() {
                return fail(
                    "framework.toml has no [host] section: scf doctor checks a host deployment (a Kubernetes deployment is not checked yet)",
                );
            }
            match (&args.host, compiled.model.fleet().is_some()) {
                (Some(name), true) => match compile::on_host(&compiled.model, name) {
                    Ok(model) => compiled.model = model,
                    Err(e) => return fail(e),
                },
                (None, true) => {
                    return fail(
                        "framework.toml has [[hosts]]: run `scf doctor --host NAME` on each host, as that host",
                    );
                }
                (Some(_), false) => {
                    return fail("--host names a host of [[hosts]], and framework.toml has none");
                }
                (None, false) => {}
            }
            let artifacts = match compile::projected_artifacts(&compiled.model) {
                Ok(artifacts) => artifacts,
                Err(e) => return fail(e),
            };
            doctor::run(&compiled, &artifacts, phases, SystemTime::now())
        }
    };
    match args.format {
        Format::Text => print!(
            "{}",
            doctor::show::text(&report, "this host", styled(&std::io::stdout()))
        ),
        Format::Json => match doctor::show::json(&report) {
            Ok(json) => print!("{json}"),
            Err(e) => return fail(format!("cannot write the report as JSON: {e}")),
        },
    }
    if args.detailed_exitcode && report.failed() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
