//! `scf apply [PLAN]` and `scf rollback`: change the host under its lock, or the cluster
//! under its Lease (see [`super::cluster`]).

use super::cluster::{KubeApplyArgs, KubeArgs};
use super::plan::{HostArgs, TargetArg, place, prepare};
use super::progress::Progress;
use super::report::{color_stderr, confirm, fail};
use crate::host::apply::{self as run_apply, ApplyOptions, DatabaseStep, Probe, Report};
use crate::host::lock::Lock;
use crate::host::plan::commands;
use crate::host::state::Store;
use crate::host::{self, HostError, ServiceManager};
use crate::plan::{Action, Change, Plan, Stale, drift, show};

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

fn lock(root: &Path, command: &str, machine: &MachineArgs) -> Result<Lock, HostError> {
    let lock = Lock::acquire(
        &Store::new(root).path("lock"),
        command,
        Duration::from_millis(machine.lock_timeout.as_millis()),
    )?;
    if let Some(dead) = &lock.reclaimed {
        eprintln!("note: reclaimed the lock left by {dead}, which is no longer running");
    }
    Ok(lock)
}

fn done(report: &Report) -> ExitCode {
    println!(
        "Apply complete: generation {}, {} change{}, {} command{} run{}.",
        report.generation,
        report.changed.len(),
        if report.changed.len() == 1 { "" } else { "s" },
        report.ran.len(),
        if report.ran.len() == 1 { "" } else { "s" },
        if report.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", report.skipped.len())
        }
    );
    ExitCode::SUCCESS
}

/// Applies a saved plan exactly, or plans (resolving secrets), asks, and applies.
pub fn run(config: &Path, args: &ApplyArgs) -> ExitCode {
    let Some((compiled, artifacts, target)) = prepare(config, &args.host) else {
        return ExitCode::FAILURE;
    };
    let saved = match &args.plan {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Plan::from_json(&t).map_err(|e| e.to_string()))
        {
            Ok(p) => Some(p),
            Err(e) => return fail(format!("cannot read the plan {}: {e}", path.display())),
        },
        None => None,
    };
    if target == TargetArg::Kubernetes {
        return super::cluster::apply(super::cluster::Request {
            compiled: &compiled,
            artifacts: &artifacts,
            saved,
            auto_approve: args.auto_approve,
            kube: &args.kube,
            apply: &args.kube_apply,
        });
    }
    let root = &args.host.root;
    let _lock = match lock(root, "scf apply", &args.machine) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    for path in artifacts.iter().filter_map(|a| a.host_path()) {
        crate::host::fsio::sweep_temps(&crate::host::fsio::under(root, path));
    }
    let resolve = saved.is_none();
    let (fresh, effects) = match host::plan(&compiled, &artifacts, &args.host.options(resolve)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let plan = match saved {
        Some(saved) => {
            let moved = drift(&saved, &fresh);
            if !moved.is_empty() {
                return fail(Stale(moved));
            }
            saved
        }
        None => {
            print!("{}", show::human(&fresh, &place(root), color_stderr()));
            if !fresh.has_changes() {
                fresh
            } else {
                match confirm(args.auto_approve) {
                    Ok(true) => fresh,
                    Ok(false) => return fail("apply cancelled"),
                    Err(e) => return fail(e),
                }
            }
        }
    };
    let mut plan = plan;
    if !plan.has_changes() {
        let lagging = match run_apply::lagging(root, &plan) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        if lagging.is_empty() {
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "note: an earlier apply was interrupted after writing {}; recording a generation and running their commands",
            lagging.join(", ")
        );
        let touched: Vec<Change> = plan
            .changes
            .iter()
            .filter(|c| lagging.contains(&c.address))
            .map(|c| Change {
                action: Action::Update,
                ..c.clone()
            })
            .collect();
        plan.actions = commands(&touched, &effects)
            .into_iter()
            .map(|c| c.join(" "))
            .collect();
    }
    let services = services(root, &args.machine);
    let probe_address = args.probe_address.clone().or_else(|| {
        (services == ServiceManager::Real).then(|| compiled.model.server.listen.to_string())
    });
    let runtime_changed = plan.effective().count() > 0 && !args.no_probe;
    let probe = probe_address
        .filter(|_| runtime_changed)
        .map(|address| Probe {
            address,
            timeout: Duration::from_millis(args.probe_timeout.as_millis()),
        });
    let database = match database_step(&compiled.model, &args.host) {
        Ok(step) => step,
        Err(e) => return fail(e),
    };
    let opts = ApplyOptions {
        root: root.clone(),
        services,
        probe,
        database,
    };
    let mut bar = Progress::new(plan.effective().count() + plan.actions.len());
    let result = run_apply::execute(&plan, &effects, &opts, &mut |s| bar.step(s));
    bar.finish();
    match result {
        Ok(report) => done(&report),
        Err(e) => fail(e),
    }
}

/// The database step of an apply, with the runtime's environment resolved now.
fn database_step(
    model: &crate::model::Model,
    host: &HostArgs,
) -> Result<Option<DatabaseStep>, HostError> {
    let Some(target) = host.options(true).database else {
        return Ok(None);
    };
    let mut env = std::collections::BTreeMap::new();
    for var in crate::model::runtime_env(model, crate::model::Placement::Host) {
        let value = match var.value {
            crate::model::EnvValue::Plain(v) => v,
            crate::model::EnvValue::Secret(r) => crate::secret::resolve(&r)?.expose().to_string(),
        };
        env.insert(var.name.to_string(), value);
    }
    Ok(Some(DatabaseStep {
        target,
        model: model.clone(),
        env,
    }))
}

/// Returns the host to an earlier generation.
pub fn rollback(args: &RollbackArgs) -> ExitCode {
    let _lock = match lock(&args.root, "scf rollback", &args.machine) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let store = Store::new(&args.root);
    let current = match store.load() {
        Ok(s) => s,
        Err(e) => return fail(HostError::io("read the state", e)),
    };
    if current.generation == 0 {
        return fail("nothing to roll back: scf has not applied anything under this root");
    }
    let to = args.to.unwrap_or(current.generation - 1);
    if to >= current.generation {
        return fail(format!(
            "generation {to} is not before the current generation {}",
            current.generation
        ));
    }
    let target = if to == 0 {
        Ok(crate::host::state::State::default())
    } else {
        store.generation(to).map(|(s, _)| s)
    };
    let target = match target {
        Ok(t) => t,
        Err(e) => return fail(HostError::io(format!("read generation {to}"), e)),
    };
    match run_apply::restore(
        &store,
        &args.root,
        &current,
        &target,
        &services(&args.root, &args.machine),
        &mut |s| Progress::Lines.step(s),
    ) {
        Ok(report) => {
            println!(
                "Rolled back to generation {to} ({} file{} restored).",
                report.changed.len(),
                if report.changed.len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
