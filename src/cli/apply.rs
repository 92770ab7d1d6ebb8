//! `scf apply [PLAN]` and `scf rollback`: change the host under its lock, or the cluster
//! under its Lease (see [`super::cluster`]).

use super::cluster::{KubeApplyArgs, KubeArgs};
use super::fleet::{self, FleetArgs};
use super::plan::{HostArgs, TargetArg, place, prepare};
use super::progress::Progress;
use super::report::{color_stderr, confirm, fail};
use crate::host::ServiceManager;
use crate::host::apply::{
    self as host_apply, Note, Operator, Outcome, ProbeAt, Report, Request, RollbackRequest, Step,
};
use crate::plan::{Plan, show};

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments about touching the machine, shared by apply and rollback.
#[derive(Debug, Clone, clap::Args)]
pub struct MachineArgs {
    /// Send every systemctl/nginx/systemd-analyze command to this program instead
    /// (`PROGRAM systemctl restart UNIT`); for tests and hosts without systemd.
    #[arg(long, value_name = "PATH")]
    service_manager: Option<PathBuf>,
    /// Wait this long for another apply's lock before giving up, e.g. `2m`.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    lock_timeout: crate::config::values::Duration,
}

impl MachineArgs {
    fn lock_timeout(&self) -> Duration {
        Duration::from_millis(self.lock_timeout.as_millis())
    }
}

/// Arguments of `scf apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A plan saved by `scf plan -o FILE`; applied exactly, or refused if stale.
    plan: Option<PathBuf>,
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    kube: KubeArgs,
    #[command(flatten)]
    kube_apply: KubeApplyArgs,
    #[command(flatten)]
    machine: MachineArgs,
    #[command(flatten)]
    fleet: FleetArgs,
    /// With [[hosts]]: how many app hosts to apply at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// Apply without asking.
    #[arg(long)]
    auto_approve: bool,
    /// Skip the `/ready` probe after restarting the runtime.
    #[arg(long)]
    no_probe: bool,
    /// Probe this `host:port` for `/ready` (default: server.listen, on a live host).
    #[arg(long, value_name = "ADDR")]
    probe_address: Option<String>,
    /// How long the runtime may take to become ready.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    probe_timeout: crate::config::values::Duration,
}

/// Arguments of `scf rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The generation to return to (default: the one before the current).
    #[arg(long, value_name = "N")]
    to: Option<u64>,
    /// The host's root.
    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,
    #[command(flatten)]
    machine: MachineArgs,
}

fn services(root: &Path, machine: &MachineArgs) -> ServiceManager {
    match &machine.service_manager {
        Some(shim) => ServiceManager::Shim(shim.clone()),
        None if root == Path::new("/") => ServiceManager::Real,
        None => ServiceManager::Skip,
    }
}

/// The terminal side of an apply: shows the plan, asks, prints notes and progress.
struct Console {
    auto_approve: bool,
    place: String,
    progress: Option<Progress>,
}

impl Console {
    fn new(root: &Path, auto_approve: bool) -> Self {
        Self {
            auto_approve,
            place: place(root),
            progress: None,
        }
    }

    fn finish(self) {
        if let Some(progress) = self.progress {
            progress.finish();
        }
    }
}

impl Operator for Console {
    fn show(&mut self, plan: &Plan) {
        print!("{}", show::human(plan, &self.place, color_stderr()));
    }

    fn approve(&mut self) -> Result<bool, String> {
        confirm(self.auto_approve)
    }

    fn note(&mut self, note: &Note) {
        eprintln!("{note}");
    }

    fn begin(&mut self, steps: usize) {
        self.progress = Some(Progress::new(steps));
    }

    fn step(&mut self, step: Step) {
        self.progress.get_or_insert(Progress::Lines).step(step);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn done(report: &Report) -> ExitCode {
    println!(
        "Apply complete: generation {}, {} change{}, {} command{} run{}.",
        report.generation,
        report.changed.len(),
        plural(report.changed.len()),
        report.ran.len(),
        plural(report.ran.len()),
        if report.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", report.skipped.len())
        }
    );
    ExitCode::SUCCESS
}

fn read_plan(path: &Path) -> Result<Plan, String> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| Plan::from_json(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot read the plan {}: {e}", path.display()))
}

/// Applies a saved plan exactly, or plans (resolving secrets), asks, and applies.
pub fn run(config: &Path, args: &ApplyArgs) -> ExitCode {
    let Some((compiled, artifacts, target)) = prepare(config, &args.host) else {
        return ExitCode::FAILURE;
    };
    if target == TargetArg::Host && compiled.model.fleet().is_some() {
        return apply_fleet(&compiled, args);
    }
    let saved = match args.plan.as_deref().map(read_plan).transpose() {
        Ok(saved) => saved,
        Err(e) => return fail(e),
    };
    if target == TargetArg::Kubernetes {
        return super::cluster::apply(super::cluster::Request {
            compiled: &compiled,
            artifacts: &artifacts,
            saved,
            auto_approve: args.auto_approve,
            kube: &args.kube,
            apply: &args.kube_apply,
            allow_data_loss: args.host.allow_data_loss,
        });
    }
    let options = args.host.options(&compiled.model, true);
    let request = Request {
        saved,
        services: services(&options.root, &args.machine),
        root: options.root,
        install_binary: options.install_binary,
        database: options.database,
        lock_timeout: args.machine.lock_timeout(),
        probe: match &args.probe_address {
            _ if args.no_probe => ProbeAt::Never,
            Some(address) => ProbeAt::Address(address.clone()),
            None => ProbeAt::Listen,
        },
        probe_timeout: Duration::from_millis(args.probe_timeout.as_millis()),
    };
    let mut console = Console::new(&request.root, args.auto_approve);
    let result = host_apply::apply(&compiled, &artifacts, &request, &mut console);
    console.finish();
    match result {
        Ok(Outcome::Unchanged) => ExitCode::SUCCESS,
        Ok(Outcome::Applied(report)) => done(&report),
        Err(e) => fail(e),
    }
}

/// `scf apply` with [[hosts]]: a rolling apply over ssh.
fn apply_fleet(compiled: &crate::compile::Compiled, args: &ApplyArgs) -> ExitCode {
    let saved = match args
        .plan
        .as_deref()
        .map(std::fs::read_to_string)
        .transpose()
    {
        Ok(saved) => saved,
        Err(e) => return fail(format!("cannot read the plan: {e}")),
    };
    fleet::apply(
        compiled,
        &args.fleet,
        &fleet::ApplyRequest {
            saved: saved.as_deref(),
            parallel: usize::from(args.parallel),
            auto_approve: args.auto_approve,
            probe_timeout: Duration::from_millis(args.probe_timeout.as_millis()),
            lock_timeout: args.machine.lock_timeout(),
            allow_data_loss: args.host.allow_data_loss,
        },
    )
}

/// Returns the host to an earlier generation.
pub fn rollback(args: &RollbackArgs) -> ExitCode {
    let request = RollbackRequest {
        root: args.root.clone(),
        to: args.to,
        services: services(&args.root, &args.machine),
        lock_timeout: args.machine.lock_timeout(),
    };
    let mut console = Console::new(&args.root, false);
    match host_apply::rollback(&request, &mut console) {
        Ok(report) => {
            println!(
                "Rolled back to generation {} ({} file{} restored).",
                report.generation,
                report.changed.len(),
                plural(report.changed.len())
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
