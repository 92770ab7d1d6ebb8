//! The sequence around an execution, as `scf apply` and `scf rollback` run it: take the
//! lock, sweep the temp files a killed apply left, plan afresh, refuse a saved plan that
//! is stale or says anything the fresh one does not (else carry out the fresh one), or show
//! a fresh one and ask, resume an apply interrupted after its writes, write the targets'
//! seeds (files the checks need, such as a placeholder certificate), execute.

use super::execute::{self, DatabaseStep, Probe, execute};
use super::request::{
    ApplyError, Note, Operator, Outcome, ProbeAt, Report, Request, RollbackRequest,
};
use super::restore::restore;
use crate::artifact::Artifact;
use crate::compile::Compiled;
use crate::host::lock::Lock;
use crate::host::plan::{Effects, Seen, commands, see};
use crate::host::state::{State, Store};
use crate::host::{self, HostError, ServiceManager, fsio};
use crate::model::{EnvValue, Model, Placement, runtime_env};
use crate::plan::{Action, Change, Plan, Step as PlanStep, saved, sha256_tag};
use crate::targets::host_path;
use std::path::Path;
use std::time::Duration;

/// Applies `compiled` to the host as `request` says, asking `operator` before a fresh plan
/// with changes is applied.
pub fn apply(
    compiled: &Compiled,
    artifacts: &[Artifact],
    request: &Request,
    operator: &mut dyn Operator,
) -> Result<Outcome, ApplyError> {
    let root = &request.root;
    let _lock = lock(root, "scf apply", request.lock_timeout, operator)?;
    for path in artifacts.iter().filter_map(Artifact::host_path) {
        fsio::sweep_temps(&fsio::under(root, path));
    }
    let options = host::Options {
        root: root.clone(),
        // A saved plan was made without secrets; a fresh one is applied, so it resolves them.
        resolve_secrets: request.saved.is_none(),
        install_binary: request.install_binary,
        database: request.database.clone(),
    };
    let (fresh, effects) = host::plan(compiled, artifacts, &options)?;
    // Only the recomputed plan is carried out; a saved one is checked against it.
    let mut plan = match &request.saved {
        Some(saved) => {
            saved::check(saved, &fresh)?;
            fresh
        }
        None => approved(fresh, operator)?,
    };
    if !plan.has_changes() {
        let lagging = lagging(root, &plan)?;
        if lagging.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        plan.steps = resumed_steps(&plan, &lagging, &effects);
        operator.note(&Note::Resumed(lagging));
    }
    let opts = execute::Options {
        root: root.clone(),
        services: request.services.clone(),
        probe: probe(&compiled.model, request),
        database: database_step(&compiled.model, request)?,
    };
    let seeded = super::seed::write(
        &compiled.model,
        &crate::targets::seeds(&compiled.model),
        root,
    )?;
    if !seeded.is_empty() {
        operator.note(&Note::Seeded(seeded));
    }
    operator.begin(plan.effective().count() + plan.steps.len());
    let report = execute(&plan, &effects, &opts, &mut |s| operator.step(s))?;
    Ok(Outcome::Applied(report))
}

/// Returns the host to an earlier generation.
pub fn rollback(
    request: &RollbackRequest,
    operator: &mut dyn Operator,
) -> Result<Report, ApplyError> {
    let root = &request.root;
    let _lock = lock(root, "scf rollback", request.lock_timeout, operator)?;
    let store = Store::new(root);
    let current = store
        .load()
        .map_err(|e| HostError::io("read the state", e))?;
    if current.generation == 0 {
        return Err(ApplyError::NothingApplied);
    }
    let to = request.to.unwrap_or(current.generation - 1);
    if to >= current.generation {
        return Err(ApplyError::NotBefore {
            to,
            current: current.generation,
        });
    }
    let target = if to == 0 {
        State::default()
    } else {
        let (state, _) = store
            .generation(to)
            .map_err(|e| HostError::io(format!("read generation {to}"), e))?;
        state
    };
    let report = restore(
        &store,
        root,
        &current,
        &target,
        &request.services,
        &mut |s| operator.step(s),
    )?;
    Ok(report)
}

/// Takes the root's apply lock, telling the operator when it reclaimed a dead holder's.
fn lock(
    root: &Path,
    command: &str,
    timeout: Duration,
    operator: &mut dyn Operator,
) -> Result<Lock, HostError> {
    let lock = Lock::acquire(&Store::new(root).path("lock"), command, timeout)?;
    if let Some(dead) = &lock.reclaimed {
        operator.note(&Note::Reclaimed(dead.to_string()));
    }
    Ok(lock)
}

/// Shows a fresh plan and, when it changes something, asks to apply it.
fn approved(fresh: Plan, operator: &mut dyn Operator) -> Result<Plan, ApplyError> {
    operator.show(&fresh);
    if !fresh.has_changes() {
        return Ok(fresh);
    }
    match operator.approve() {
        Ok(true) => Ok(fresh),
        Ok(false) => Err(ApplyError::Cancelled),
        Err(why) => Err(ApplyError::Unapproved(why)),
    }
}

/// The addresses the plan leaves unchanged but the state misses or misrecords: an earlier
/// apply was interrupted after writing them, maybe before running their commands.
fn lagging(root: &Path, plan: &Plan) -> Result<Vec<String>, HostError> {
    let mut out = Vec::new();
    let state = Store::new(root)
        .load()
        .map_err(|e| HostError::io("read the state", e))?;
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
        let Some(path) = host_path(&c.address) else {
            continue;
        };
        let recorded = state.files.get(&path).map(|r| r.sha256.as_str());
        let actual = match see(root, &path).map_err(|e| HostError::io(format!("read {path}"), e))? {
            Seen::File { bytes, .. } => sha256_tag(&bytes),
            Seen::Link(to) => to,
            Seen::Absent | Seen::Other => continue,
        };
        if recorded != Some(actual.as_str()) {
            out.push(c.address.clone());
        }
    }
    Ok(out)
}

/// The commands the lagging addresses imply, as if they had just been written.
fn resumed_steps(plan: &Plan, lagging: &[String], effects: &Effects) -> Vec<PlanStep> {
    let touched: Vec<Change> = plan
        .changes
        .iter()
        .filter(|c| lagging.contains(&c.address))
        .map(|c| Change {
            action: Action::Update,
            ..c.clone()
        })
        .collect();
    commands(&touched, effects)
        .into_iter()
        .map(PlanStep::Run)
        .collect()
}

/// Where the plan's `/ready` step asks, unless the request says not to: on a live host,
/// its [`crate::host::front_door`].
fn probe(model: &Model, request: &Request) -> Option<Probe> {
    let endpoint = match &request.probe {
        ProbeAt::Never => None,
        ProbeAt::Address(address) => Some(crate::probe::Endpoint::http(address)),
        ProbeAt::Listen if request.services == ServiceManager::Real => {
            Some(crate::host::front_door(model, &request.root))
        }
        ProbeAt::Listen => None,
    }?;
    Some(Probe {
        endpoint,
        timeout: request.probe_timeout,
    })
}

/// The database step of an apply, with the runtime's environment resolved now.
fn database_step<'a>(
    model: &'a Model,
    request: &Request,
) -> Result<Option<DatabaseStep<'a>>, HostError> {
    let Some(target) = request.database.clone() else {
        return Ok(None);
    };
    let mut env = std::collections::BTreeMap::new();
    for var in runtime_env(model, Placement::Host) {
        let value = match var.value {
            EnvValue::Plain(v) => v,
            EnvValue::Secret(r) => crate::secret::resolve(&r)?.expose().to_string(),
        };
        env.insert(var.name.to_string(), value);
    }
    Ok(Some(DatabaseStep { target, model, env }))
}
