//! `scf doctor`: the deployment guide's pre- and post-deployment checklists on this host
//! ([`crate::doctor`]), as text or JSON; with `--detailed-exitcode`, exit 2 when a check
//! fails. With `[[hosts]]`, every host (or each `--host`) runs them on itself through its
//! agent over ssh, as `scf plan` reaches them. With `--target kubernetes` (or
//! `target.kind = "kubernetes"`), they run against the cluster through its API server.

use super::cluster::ClusterArgs;
use super::fleet::FleetArgs;
use super::plan::TargetArg;
use super::report::{color_stderr, fail, fail_all, styled};
use crate::compile;
use crate::config::TargetKind;
use crate::doctor::{self, Phase};
use crate::fleet::checkup::HostReport;
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
    /// The target (default: framework.toml's target.kind).
    #[arg(long, value_enum)]
    target: Option<TargetArg>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    fleet: FleetArgs,
}

/// What doctor checked: this host, each host of a fleet, or a cluster (and where).
enum Checked {
    One(doctor::Report),
    Fleet(Vec<HostReport>),
    Cluster(doctor::Report, String),
}

impl Checked {
    fn failed(&self) -> bool {
        match self {
            Checked::One(report) | Checked::Cluster(report, _) => report.failed(),
            Checked::Fleet(hosts) => hosts.iter().any(|h| h.report.failed()),
        }
    }

    fn text(&self, color: bool) -> String {
        match self {
            Checked::One(report) => doctor::show::text(report, "this host", color),
            Checked::Cluster(report, place) => doctor::show::text(report, place, color),
            Checked::Fleet(hosts) => hosts
                .iter()
                .map(|h| {
                    let place = format!("host {} ({})", h.name, h.address);
                    doctor::show::text(&h.report, &place, color)
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// One host's report as it is; a fleet's as `{"format_version", "hosts": [{"name",
    /// "address", "report"}]}`.
    fn json(&self) -> Result<String, serde_json::Error> {
        match self {
            Checked::One(report) | Checked::Cluster(report, _) => doctor::show::json(report),
            Checked::Fleet(hosts) => serde_json::to_string_pretty(&serde_json::json!({
                "format_version": doctor::FORMAT_VERSION,
                "hosts": hosts,
            }))
            .map(|s| s + "\n"),
        }
    }
}

/// Runs the checks on this host, or on each host of a fleet through its agent, and
/// prints the reports.
pub fn run(config: &Path, args: &DoctorArgs) -> ExitCode {
    let phases: &[Phase] = match args.phase {
        PhaseArg::Pre => &[Phase::Pre],
        PhaseArg::Post => &[Phase::Post],
        PhaseArg::All => &[Phase::Pre, Phase::Post],
    };
    let checked = match compile::load(config) {
        Err(invalid) => {
            eprint!("{}", invalid.diags.render(&invalid.sources, color_stderr()));
            let path = config.display().to_string();
            Checked::One(doctor::invalid_config(&path, invalid.diags.error_count()))
        }
        Ok(compiled) => {
            eprint!(
                "{}",
                compiled.warnings.render(&compiled.sources, color_stderr())
            );
            let kind = args.target.unwrap_or(match compiled.model.target.kind {
                TargetKind::Kubernetes => TargetArg::Kubernetes,
                TargetKind::Host => TargetArg::Host,
            });
            if kind == TargetArg::Kubernetes {
                if compiled.model.kubernetes.is_none() {
                    return fail(
                        "framework.toml has no [kubernetes] section, so there is no cluster deployment to check; add one (profiles/kubernetes.toml has the defaults)",
                    );
                }
                match super::cluster::doctor_evidence(&compiled, &args.cluster) {
                    Ok((evidence, place)) => Checked::Cluster(
                        doctor::run_on_cluster(&compiled, phases, &evidence, SystemTime::now()),
                        place,
                    ),
                    Err(e) => return fail(e),
                }
            } else if compiled.model.host.is_none() {
                return fail(
                    "framework.toml has no [host] section: add one, or check the cluster with --target kubernetes",
                );
            } else if compiled.model.fleet().is_some() {
                match super::fleet::doctor(&compiled, &args.fleet, phases) {
                    Ok(hosts) => Checked::Fleet(hosts),
                    Err(errors) => return fail_all(errors),
                }
            } else {
                match compile::artifacts(&compiled.model) {
                    Ok(artifacts) => Checked::One(doctor::run(
                        &compiled,
                        &artifacts,
                        phases,
                        SystemTime::now(),
                    )),
                    Err(e) => return fail(e),
                }
            }
        }
    };
    match args.format {
        Format::Text => print!("{}", checked.text(styled(&std::io::stdout()))),
        Format::Json => match checked.json() {
            Ok(json) => print!("{json}"),
            Err(e) => return fail(format!("cannot write the report as JSON: {e}")),
        },
    }
    if args.detailed_exitcode && checked.failed() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
