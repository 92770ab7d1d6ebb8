//! Carrying out a host plan: stage, validate, record, swap, reload, probe, and on failure
//! return to the previous generation. Also `scf rollback`, which reuses the restore step.

use super::error::HostError;
use super::fsio::{self, under};
use super::plan::{Effects, Seen, commands, see};
use super::services::{CommandFailed, ServiceManager};
use super::state::{FileRecord, State, Store, parse_mode};
use crate::plan::{Action, Change, Desired, Plan, sha256_tag};
use crate::secret;
use crate::targets::{self, host_path};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How an apply touches the machine.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The root the host's paths are under.
    pub root: PathBuf,
    /// How service commands run.
    pub services: ServiceManager,
    /// Check `/ready` after the commands ran.
    pub probe: Option<Probe>,
    /// Bring the database in line too.
    pub database: Option<DatabaseStep>,
}

/// What the database step needs: where, the model, and the runtime's resolved environment.
#[derive(Debug, Clone)]
pub struct DatabaseStep {
    /// The admin connection and data-loss permission.
    pub target: super::database::Target,
    /// The deployment.
    pub model: crate::model::Model,
    /// The runtime's environment, secrets resolved.
    pub env: std::collections::BTreeMap<String, String>,
}

/// A readiness probe.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `host:port` of the runtime.
    pub address: String,
    /// How long to wait for a 200 from `/ready`.
    pub timeout: Duration,
}

/// A step of an apply, for progress output.
#[derive(Debug, Clone)]
pub enum Step {
    /// A phase began.
    Phase(&'static str),
    /// A file was written or removed.
    File(String),
    /// A command ran (`true`) or was skipped (`false`).
    Command(String, bool),
}

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The generation now in place.
    pub generation: u64,
    /// Addresses written or removed.
    pub changed: Vec<String>,
    /// Commands that ran.
    pub ran: Vec<String>,
    /// Commands skipped (no service manager for this root).
    pub skipped: Vec<String>,
}

/// One file's new content, secrets filled in.
enum Content {
    File(Vec<u8>, u32, Option<String>),
    Link(String),
    Absent,
}

fn content_of(change: &Change) -> Result<Content, HostError> {
    Ok(match (&change.action, &change.desired) {
        (Action::Delete, _) => Content::Absent,
        (
            _,
            Some(Desired::File {
                contents,
                mode,
                owner,
            }),
        ) => Content::File(
            secret::fill(contents, secret::resolve)?.into_bytes(),
            parse_mode(mode),
            owner.clone(),
        ),
        (_, Some(Desired::Link { to })) => Content::Link(to.clone()),
        (_, Some(Desired::Binary { sha256 })) => {
            let bytes =
                super::binary::running().map_err(|e| HostError::io("read the running scf", e))?;
            if &sha256_tag(&bytes) != sha256 {
                return Err(HostError::io(
                    "install scf",
                    std::io::Error::other(
                        "the running scf is not the binary the plan was made with; plan again with this scf",
                    ),
                ));
            }
            Content::File(bytes, 0o755, None)
        }
        (_, Some(Desired::Json { .. }) | None) => {
            return Err(HostError::io(
                format!("apply {}", change.address),
                std::io::Error::other("not a file change; this is a bug in scf"),
            ));
        }
    })
}

fn put(root: &Path, path: &str, content: &Content) -> std::io::Result<()> {
    let target = under(root, path);
    match content {
        Content::File(bytes, mode, owner) => {
            let ids = match owner {
                Some(owner) => fsio::owner_ids(root, owner)?,
                None => None,
            };
            fsio::write_file_owned(&target, bytes, *mode, ids)
        }
        Content::Link(to) => fsio::write_link(&target, to),
        Content::Absent => fsio::remove(&target),
    }
}

/// Runs the checks the targets declare on the staged files before anything is swapped in.
fn validate(
    stage: &Path,
    root: &Path,
    staged: &[String],
    services: &ServiceManager,
) -> Result<(), CommandFailed> {
    let staged_at = targets::Staged { stage, root };
    for check in targets::pre_swap_checks(&staged_at, staged) {
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

/// Makes the per-host fingerprint key if there is none (32 random bytes, 0600).
fn ensure_fingerprint_key(store: &Store) -> std::io::Result<()> {
    let path = store.path("fingerprint.key");
    if path.exists() {
        return Ok(());
    }
    fsio::write_file(&path, &secret::random_key()?, 0o600)
}

/// Applies `plan` (already checked fresh, lock held). `effects` are the current
/// artifacts' effects by address, recorded so a rollback can rerun them.
pub fn execute(
    plan: &Plan,
    effects: &Effects,
    opts: &ApplyOptions,
    log: &mut dyn FnMut(Step),
) -> Result<Report, HostError> {
    let store = Store::new(&opts.root);
    let before = store
        .load()
        .map_err(|e| HostError::io("read the state", e))?;
    let changes: Vec<&Change> = plan.effective().collect();

    log(Step::Phase("stage"));
    let stage = store.path("staging");
    let _ = std::fs::remove_dir_all(&stage);
    let mut contents = Vec::new();
    for c in &changes {
        let Some(path) = host_path(&c.address) else {
            continue;
        };
        let content = content_of(c)?;
        if !matches!(content, Content::Absent) {
            put(&stage, &path, &content).map_err(|e| HostError::io(format!("stage {path}"), e))?;
        }
        contents.push((c, path, content));
    }

    log(Step::Phase("validate"));
    let staged: Vec<String> = contents
        .iter()
        .filter(|(_, _, c)| !matches!(c, Content::Absent))
        .map(|(_, p, _)| p.clone())
        .collect();
    let checked = validate(&stage, &opts.root, &staged, &opts.services);
    let _ = std::fs::remove_dir_all(&stage);
    checked.map_err(HostError::Invalid)?;

    log(Step::Phase("write"));
    for (_, path, _) in &contents {
        if !before.files.contains_key(path) {
            store
                .remember_original(path)
                .map_err(|e| HostError::io(format!("record the original {path}"), e))?;
        }
    }
    let mut after = before.clone();
    after.project = plan.project.clone();
    after.generation = before.generation + 1;
    let mut report = Report {
        generation: after.generation,
        ..Report::default()
    };
    // Writes first, removals last: an interrupted apply leaves every file old or new.
    contents.sort_by_key(|(_, _, c)| matches!(c, Content::Absent));
    let written = (|| -> Result<(), HostError> {
        for (c, path, content) in &contents {
            put(&opts.root, path, content)
                .map_err(|e| HostError::io(format!("write {path}"), e))?;
            log(Step::File(format!("{} {}", c.action, c.address)));
            report.changed.push(c.address.clone());
            match content {
                Content::Absent => {
                    after.files.remove(path);
                }
                Content::File(bytes, mode, _) => {
                    after.files.insert(
                        path.clone(),
                        record(
                            c,
                            kind_of(c),
                            format!("{mode:04o}"),
                            sha256_tag(bytes),
                            effects,
                        ),
                    );
                }
                Content::Link(to) => {
                    after.files.insert(
                        path.clone(),
                        record(c, "link", "0777".into(), to.clone(), effects),
                    );
                }
            }
        }
        adopt_unchanged(&opts.root, plan, &mut after, effects)?;
        ensure_fingerprint_key(&store)
            .map_err(|e| HostError::io("write the fingerprint key", e))?;
        store
            .snapshot(&after)
            .map_err(|e| HostError::io("record the generation", e))?;
        store
            .save(&after)
            .map_err(|e| HostError::io("write the state", e))
    })();
    let finished = written.and_then(|()| {
        log(Step::Phase("reload"));
        run_commands(&plan.actions, &opts.services, &mut report, log)?;
        if let Some(db) = &opts.database {
            log(Step::Phase("database"));
            let changes: Vec<&Change> = plan
                .effective()
                .filter(|c| c.address.starts_with("pg:") || c.address.starts_with("tenant:"))
                .collect();
            for done in
                super::database::apply(&db.model, &opts.root, &db.target, &changes, &db.env)?
            {
                log(Step::File(done));
            }
            report
                .changed
                .extend(changes.iter().map(|c| c.address.clone()));
        }
        if let Some(probe) = &opts.probe {
            log(Step::Phase("probe"));
            crate::probe::wait_ok(&probe.address, "/ready", probe.timeout).map_err(|cause| {
                HostError::Io {
                    action: "probe /ready".into(),
                    source: std::io::Error::other(cause),
                }
            })?;
        }
        Ok(())
    });
    match finished {
        Ok(()) => Ok(report),
        Err(cause) => {
            log(Step::Phase("roll back"));
            let cause = cause.to_string();
            match restore(&store, &opts.root, &after, &before, &opts.services, log) {
                Ok(_) => Err(HostError::RolledBack {
                    restored: before.generation,
                    cause,
                }),
                Err(e) => Err(HostError::RollbackFailed {
                    generation: before.generation,
                    cause,
                    restore: e.to_string(),
                }),
            }
        }
    }
}

/// The state's kind of a file change: the installed scf is kept apart.
fn kind_of(c: &Change) -> &'static str {
    if matches!(c.desired, Some(Desired::Binary { .. })) {
        super::plan::BINARY_KIND
    } else {
        "file"
    }
}

/// Records the files the plan leaves as they are, as found on disk, so the state is
/// complete even after an interrupted apply wrote them without recording them.
fn adopt_unchanged(
    root: &Path,
    plan: &Plan,
    after: &mut State,
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
        after.files.insert(path, entry);
    }
    Ok(())
}

/// The addresses the plan leaves unchanged but the state misses or misrecords: an earlier
/// apply was interrupted after writing them, maybe before running their commands.
pub fn lagging(root: &Path, plan: &Plan) -> Result<Vec<String>, HostError> {
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

fn record(c: &Change, kind: &str, mode: String, sha256: String, effects: &Effects) -> FileRecord {
    FileRecord {
        address: c.address.clone(),
        kind: kind.into(),
        mode,
        sha256,
        sensitive: c.sensitive,
        effects: effects.get(&c.address).cloned().unwrap_or_default(),
        owner: match &c.desired {
            Some(Desired::File { owner, .. }) => owner.clone(),
            _ => None,
        },
    }
}

fn run_commands(
    actions: &[String],
    services: &ServiceManager,
    report: &mut Report,
    log: &mut dyn FnMut(Step),
) -> Result<(), HostError> {
    for action in actions {
        let args: Vec<String> = action.split_whitespace().map(str::to_string).collect();
        let ran = services.run(&args).map_err(|e| HostError::Io {
            action: "run a service command".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        log(Step::Command(action.clone(), ran));
        if ran {
            &mut report.ran
        } else {
            &mut report.skipped
        }
        .push(action.clone());
    }
    Ok(())
}

/// Puts the files of `target` back in place of those of `current`, reruns the commands
/// their changes imply, and records `target` as the state. Files that were not scf's
/// before it first wrote them go back to their originals, or away.
pub fn restore(
    store: &Store,
    root: &Path,
    current: &State,
    target: &State,
    services: &ServiceManager,
    log: &mut dyn FnMut(Step),
) -> Result<Report, HostError> {
    let io = |what: String| move |e| HostError::io(what, e);
    let files_dir = (target.generation > 0)
        .then(|| store.generation(target.generation))
        .transpose()
        .map_err(io(format!("read generation {}", target.generation)))?
        .map(|(_, dir)| dir);
    // No generation 0 means scf never replaced a file it did not write.
    let (originals, originals_dir) = match store.generation(0) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (State::default(), PathBuf::new()),
        read => read.map_err(io("read generation 0".into()))?,
    };
    let mut changes = Vec::new();
    let mut effects = Effects::new();
    let paths: std::collections::BTreeSet<&String> =
        current.files.keys().chain(target.files.keys()).collect();
    for path in paths {
        let (source, record) = match (target.files.get(path), &files_dir) {
            (Some(r), Some(dir)) => (Some(under(dir, path)), r),
            _ => match originals.files.get(path) {
                Some(r) => (Some(under(&originals_dir, path)), r),
                None => (
                    None,
                    current
                        .files
                        .get(path)
                        .unwrap_or_else(|| &target.files[path]),
                ),
            },
        };
        let now = see(root, path).map_err(io(format!("read {path}")))?;
        let content = match &source {
            None => Content::Absent,
            Some(src) => match see(Path::new("/"), &src.to_string_lossy()).ok() {
                Some(Seen::Link(to)) => Content::Link(to),
                Some(Seen::File { bytes, .. }) => {
                    Content::File(bytes, parse_mode(&record.mode), record.owner.clone())
                }
                _ => {
                    return Err(HostError::io(
                        format!("read the kept copy of {path}"),
                        std::io::Error::other("missing from its generation"),
                    ));
                }
            },
        };
        let unchanged = matches!((&content, &now), (Content::Absent, Seen::Absent))
            || matches!((&content, &now), (Content::File(b, m, _), Seen::File { bytes, mode }) if b == bytes && m == mode)
            || matches!((&content, &now), (Content::Link(a), Seen::Link(b)) if a == b);
        if unchanged {
            continue;
        }
        put(root, path, &content).map_err(io(format!("restore {path}")))?;
        log(Step::File(format!(
            "restore {}",
            super::plan::address(path)
        )));
        let address = super::plan::address(path);
        let action = if matches!(content, Content::Absent) {
            Action::Delete
        } else {
            Action::Update
        };
        let mut all = current
            .files
            .get(path)
            .map(|r| r.effects.clone())
            .unwrap_or_default();
        all.extend(
            target
                .files
                .get(path)
                .map(|r| r.effects.clone())
                .unwrap_or_default(),
        );
        effects.insert(address.clone(), all);
        changes.push(Change {
            address,
            action,
            diff: None,
            sensitive: record.sensitive,
            observed: String::new(),
            blocked: None,
            desired: None,
        });
    }
    let mut restored = target.clone();
    restored.project = if target.generation == 0 {
        String::new()
    } else {
        target.project.clone()
    };
    store
        .save(&restored)
        .map_err(io("write the state".into()))?;
    let mut report = Report {
        generation: restored.generation,
        changed: changes.iter().map(|c| c.address.clone()).collect(),
        ..Report::default()
    };
    let actions: Vec<String> = commands(&changes, &effects)
        .into_iter()
        .map(|c| c.join(" "))
        .collect();
    run_commands(&actions, services, &mut report, log)?;
    Ok(report)
}
