//! Executing a host plan that is fresh and approved, under the lock: install the missing
//! packages (a failure stops before any file is written), stage the new files,
//! validate them with the real tools, record what they replace, swap each in atomically,
//! record the generation, run the implied commands, bring the database in line and probe
//! `/ready`. A failure after the first swap returns the host to the generation before.

use super::install::install;
use super::request::{Report, Step};
use super::restore::restore;
use super::write::{Content, content_of, kind_of, put, record, run_commands, service_failed};
use crate::host::plan::{Effects, Seen, around_the_swap, see};
use crate::host::services::{CommandFailed, ServiceManager};
use crate::host::state::{State, Store};
use crate::host::{HostError, database, fsio};
use crate::plan::{Action, Change, Plan, Step as PlanStep, sha256_tag};
use crate::targets::{self, host_path};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// How an execution touches the machine.
#[derive(Debug)]
pub(super) struct Options<'a> {
    /// The root the host's paths are under.
    pub root: std::path::PathBuf,
    /// How service commands run.
    pub services: ServiceManager,
    /// Check `/ready` after the commands ran.
    pub probe: Option<Probe>,
    /// Bring the database in line too.
    pub database: Option<DatabaseStep<'a>>,
}

/// What the database step needs: where, the model, and the runtime's resolved environment.
#[derive(Debug)]
pub(super) struct DatabaseStep<'a> {
    /// The admin connection and data-loss permission.
    pub target: database::Target,
    /// The deployment.
    pub model: &'a crate::model::Model,
    /// The runtime's environment, secrets resolved.
    pub env: BTreeMap<String, String>,
}

/// A readiness probe.
#[derive(Debug)]
pub(super) struct Probe {
    /// Where `/ready` is asked.
    pub endpoint: crate::probe::Endpoint,
    /// How long to wait for a 200 from `/ready`.
    pub timeout: Duration,
}

impl Probe {
    fn wait(&self) -> Result<(), String> {
        crate::probe::wait_ok(&self.endpoint, "/ready", self.timeout)
    }
}

/// One change of the plan that puts or removes a file: where, and what goes there.
struct FileChange<'a> {
    change: &'a Change,
    path: String,
    content: Content,
}

/// The generation being written: its state so far, and what the apply did so far.
struct Generation {
    state: State,
    report: Report,
}

/// Applies `plan` (already checked fresh, lock held). `effects` are the current
/// artifacts' effects by address, recorded so a rollback can rerun them.
pub(super) fn execute(
    plan: &Plan,
    effects: &Effects,
    opts: &Options<'_>,
    log: &mut dyn FnMut(Step),
) -> Result<Report, HostError> {
    let store = Store::new(&opts.root);
    let before = store
        .load()
        .map_err(|e| HostError::io("read the state", e))?;
    let mut report = Report {
        generation: before.generation + 1,
        ..Report::default()
    };
    if let Some(names) = plan.packages() {
        log(Step::Phase("packages"));
        install(&opts.root, names, &opts.services, &mut report, log)?;
    }
    log(Step::Phase("stage"));
    let stage = store.path("staging");
    let mut files = stage_files(&stage, plan)?;
    log(Step::Phase("validate"));
    let checked = validate(&stage, &opts.root, &files, &opts.services);
    let _ = std::fs::remove_dir_all(&stage);
    checked.map_err(HostError::Invalid)?;
    log(Step::Phase("write"));
    for file in &files {
        if !before.files.contains_key(&file.path) {
            store
                .remember_original(&file.path)
                .map_err(|e| HostError::io(format!("record the original {}", file.path), e))?;
        }
    }
    let mut next = Generation {
        state: State {
            project: plan.project.clone(),
            generation: before.generation + 1,
            ..before.clone()
        },
        report,
    };
    // Writes first, removals last: an interrupted apply leaves every file old or new.
    files.sort_by_key(|f| matches!(f.content, Content::Absent));
    // Units the plan removes are disabled while their files still exist.
    let (retire, rest) = around_the_swap(&plan.steps);
    let finished = run_steps(retire, opts, plan, &mut next.report, log)
        .and_then(|()| swap(&store, &opts.root, plan, &files, effects, &mut next, log))
        .and_then(|()| {
            log(Step::Phase("reload"));
            run_steps(rest, opts, plan, &mut next.report, log)
        });
    match finished {
        Ok(()) => Ok(next.report),
        Err(cause) => Err(roll_back(&store, opts, &next.state, &before, &cause, log)),
    }
}

/// Writes every new file under the staging directory (emptied first).
fn stage_files<'a>(stage: &Path, plan: &'a Plan) -> Result<Vec<FileChange<'a>>, HostError> {
    let _ = std::fs::remove_dir_all(stage);
    let mut files = Vec::new();
    for change in plan.effective() {
        let Some(path) = host_path(&change.address) else {
            continue;
        };
        let content = content_of(change)?;
        if !matches!(content, Content::Absent) {
            put(stage, &path, &content).map_err(|e| HostError::io(format!("stage {path}"), e))?;
        }
        files.push(FileChange {
            change,
            path,
            content,
        });
    }
    Ok(files)
}

/// Runs the checks the targets declare on the staged files before anything is swapped in.
fn validate(
    stage: &Path,
    root: &Path,
    files: &[FileChange<'_>],
    services: &ServiceManager,
) -> Result<(), CommandFailed> {
    let staged: Vec<String> = files
        .iter()
        .filter(|f| !matches!(f.content, Content::Absent))
        .map(|f| f.path.clone())
        .collect();
    let staged_at = targets::Staged { stage, root };
    for check in targets::pre_swap_checks(&staged_at, &staged) {
        for (path, text) in &check.helpers {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path);
            file.and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| CommandFailed {
                    command: format!("write {}", path.display()),
                    status: None,
                    output: e.to_string(),
                })?;
        }
        services.check(&check.argv)?;
    }
    Ok(())
}

/// Puts each file in place, recording it in the next generation as it goes, then records
/// the files the plan leaves alone and saves the generation.
fn swap(
    store: &Store,
    root: &Path,
    plan: &Plan,
    files: &[FileChange<'_>],
    effects: &Effects,
    next: &mut Generation,
    log: &mut dyn FnMut(Step),
) -> Result<(), HostError> {
    for FileChange {
        change: c,
        path,
        content,
    } in files
    {
        put(root, path, content).map_err(|e| HostError::io(format!("write {path}"), e))?;
        log(Step::File(format!("{} {}", c.action, c.address)));
        next.report.changed.push(c.address.clone());
        let entry = match content {
            Content::Absent => {
                next.state.files.remove(path);
                continue;
            }
            Content::File(bytes, mode, _) => record(
                c,
                kind_of(c),
                format!("{mode:04o}"),
                sha256_tag(bytes),
                effects,
            ),
            Content::Link(to) => record(c, "link", "0777".into(), to.clone(), effects),
        };
        next.state.files.insert(path.clone(), entry);
    }
    adopt_unchanged(root, plan, &mut next.state, effects)?;
    ensure_fingerprint_key(store).map_err(|e| HostError::io("write the fingerprint key", e))?;
    store
        .snapshot(&next.state)
        .map_err(|e| HostError::io("record the generation", e))?;
    store
        .save(&next.state)
        .map_err(|e| HostError::io("write the state", e))
}

/// Records the files the plan leaves as they are, as found on disk, so the state is
/// complete even after an interrupted apply wrote them without recording them.
fn adopt_unchanged(
    root: &Path,
    plan: &Plan,
    state: &mut State,
    effects: &Effects,
) -> Result<(), HostError> {
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
        let Some(path) = host_path(&c.address) else {
            continue;
        };
        let seen = see(root, &path).map_err(|e| HostError::io(format!("read {path}"), e))?;
        let entry = match seen {
            Seen::File { bytes, mode } => record(
                c,
                kind_of(c),
                format!("{mode:04o}"),
                sha256_tag(&bytes),
                effects,
            ),
            Seen::Link(to) => record(c, "link", "0777".into(), to, effects),
            Seen::Absent | Seen::Other => continue,
        };
        state.files.insert(path, entry);
    }
    Ok(())
}

/// Makes the per-host fingerprint key if there is none (32 random bytes, 0600).
fn ensure_fingerprint_key(store: &Store) -> std::io::Result<()> {
    let path = store.path("fingerprint.key");
    if path.exists() {
        return Ok(());
    }
    fsio::write_file(&path, &crate::secret::random_key()?, 0o600)
}

/// Runs plan steps in order: the implied commands, with the database brought in line and
/// `/ready` probed where the plan puts them.
fn run_steps(
    steps: Vec<&PlanStep>,
    opts: &Options<'_>,
    plan: &Plan,
    report: &mut Report,
    log: &mut dyn FnMut(Step),
) -> Result<(), HostError> {
    for step in steps {
        match step {
            PlanStep::Run(command) => {
                run_commands([command], &opts.services, report, log, service_failed)?;
            }
            PlanStep::Database => {
                if let Some(db) = &opts.database {
                    bring_database_in_line(plan, db, &opts.root, report, log)?;
                }
            }
            PlanStep::Probe => {
                if let Some(probe) = &opts.probe {
                    log(Step::Phase("probe"));
                    probe.wait().map_err(|cause| HostError::Io {
                        action: "probe /ready".into(),
                        source: std::io::Error::other(cause),
                    })?;
                }
            }
            // Packages went in before the files; the rest are a cluster's.
            PlanStep::Install(_)
            | PlanStep::RunJob(_)
            | PlanStep::Rollout { .. }
            | PlanStep::Prune(_) => {}
        }
    }
    Ok(())
}

/// The database step: bootstrap, migrations, tenants, as the plan's changes say.
fn bring_database_in_line(
    plan: &Plan,
    db: &DatabaseStep<'_>,
    root: &Path,
    report: &mut Report,
    log: &mut dyn FnMut(Step),
) -> Result<(), HostError> {
    log(Step::Phase("database"));
    let changes: Vec<&Change> = plan
        .effective()
        .filter(|c| database::is_database_address(&c.address))
        .collect();
    for done in database::apply(db.model, root, &db.target, &changes, &db.env)? {
        log(Step::File(done));
    }
    report
        .changed
        .extend(changes.iter().map(|c| c.address.clone()));
    Ok(())
}

/// Returns the host to `before` after `cause` failed the apply that was writing `after`.
fn roll_back(
    store: &Store,
    opts: &Options<'_>,
    after: &State,
    before: &State,
    cause: &HostError,
    log: &mut dyn FnMut(Step),
) -> HostError {
    log(Step::Phase("roll back"));
    let cause = cause.to_string();
    match restore(store, &opts.root, after, before, &opts.services, log) {
        Ok(_) => HostError::RolledBack {
            restored: before.generation,
            cause,
        },
        Err(e) => HostError::RollbackFailed {
            generation: before.generation,
            cause,
            restore: e.to_string(),
        },
    }
}
