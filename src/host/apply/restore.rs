//! Putting a recorded generation back in place: `scf rollback`, and a failed apply
//! returning to the generation it started from. Files that were not scf's before it first
//! wrote them go back to their originals (generation 0), or away.

use super::request::{Report, Step};
use super::write::{Content, put, run_commands, service_failed};
use crate::host::HostError;
use crate::host::fsio::under;
use crate::host::plan::{Effects, Seen, address, commands, retires, see};
use crate::host::services::ServiceManager;
use crate::host::state::{FileRecord, State, Store, parse_mode};
use crate::plan::Command;
use crate::plan::{Action, Change};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Puts the files of `target` back in place of those of `current`, reruns the commands
/// their changes imply, and records `target` as the state.
pub(super) fn restore(
    store: &Store,
    root: &Path,
    current: &State,
    target: &State,
    services: &ServiceManager,
    log: &mut dyn FnMut(Step),
) -> Result<Report, HostError> {
    let kept = Kept::open(store, target)?;
    // Every path either side records; the current record describes a file that goes away.
    let mut paths: BTreeMap<&String, &FileRecord> = target.files.iter().collect();
    paths.extend(current.files.iter());
    let mut changes = Vec::new();
    let mut effects = Effects::new();
    let mut puts = Vec::new();
    for (path, fallback) in paths {
        let (content, record) = kept.content(path, target, fallback)?;
        let now = see(root, path).map_err(|e| HostError::io(format!("read {path}"), e))?;
        if matches_disk(&content, &now) {
            continue;
        }
        let address = address(path);
        let both = [current, target]
            .into_iter()
            .filter_map(|s| s.files.get(path));
        effects.insert(
            address.clone(),
            both.flat_map(|r| r.effects.iter().cloned()).collect(),
        );
        let action = if matches!(content, Content::Absent) {
            Action::Delete
        } else {
            Action::Update
        };
        changes.push(Change {
            sensitive: record.sensitive,
            ..Change::new(address, action, String::new())
        });
        puts.push((path, content));
    }
    let mut report = Report::default();
    let (retire, rest): (Vec<Command>, Vec<Command>) =
        commands(&changes, &effects).into_iter().partition(retires);
    run_commands(&retire, services, &mut report, log, service_failed)?;
    for ((path, content), change) in puts.iter().zip(&changes) {
        put(root, path, content).map_err(|e| HostError::io(format!("restore {path}"), e))?;
        log(Step::File(format!("restore {}", change.address)));
    }
    let mut restored = target.clone();
    if target.generation == 0 {
        restored.project = String::new();
    }
    store
        .save(&restored)
        .map_err(|e| HostError::io("write the state", e))?;
    report.generation = restored.generation;
    report.changed = changes.iter().map(|c| c.address.clone()).collect();
    run_commands(&rest, services, &mut report, log, service_failed)?;
    Ok(report)
}

/// Whether what is on disk already is `content`.
fn matches_disk(content: &Content, now: &Seen) -> bool {
    match (content, now) {
        (Content::Absent, Seen::Absent) => true,
        (Content::File(b, m, _), Seen::File { bytes, mode }) => b == bytes && m == mode,
        (Content::Link(a), Seen::Link(b)) => a == b,
        _ => false,
    }
}

/// Where the kept copies are: the target generation's, and the originals scf replaced.
struct Kept {
    /// The target generation's files (`None` for generation 0: the host before scf).
    files: Option<PathBuf>,
    /// What generation 0 records: the files scf replaced rather than created.
    originals: State,
    /// Their copies.
    originals_dir: PathBuf,
}

impl Kept {
    fn open(store: &Store, target: &State) -> Result<Self, HostError> {
        let files = (target.generation > 0)
            .then(|| store.generation(target.generation))
            .transpose()
            .map_err(|e| HostError::io(format!("read generation {}", target.generation), e))?
            .map(|(_, dir)| dir);
        // No generation 0 means scf never replaced a file it did not write.
        let (originals, originals_dir) = match store.generation(0) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (State::default(), PathBuf::new())
            }
            read => read.map_err(|e| HostError::io("read generation 0", e))?,
        };
        Ok(Self {
            files,
            originals,
            originals_dir,
        })
    }

    /// What `path` goes back to, and the record that describes it: the target's copy, else
    /// the original, else nothing (described by `fallback`).
    fn content<'a>(
        &'a self,
        path: &str,
        target: &'a State,
        fallback: &'a FileRecord,
    ) -> Result<(Content, &'a FileRecord), HostError> {
        let (source, record) = match (target.files.get(path), &self.files) {
            (Some(r), Some(dir)) => (under(dir, path), r),
            _ => match self.originals.files.get(path) {
                Some(r) => (under(&self.originals_dir, path), r),
                None => return Ok((Content::Absent, fallback)),
            },
        };
        // `see` reads a host path under a root: give it the copy's absolute path, since a
        // relative `--root` (`./root`) makes `source` relative too.
        let source = std::path::absolute(&source)
            .map_err(|e| HostError::io(format!("read the kept copy of {path}"), e))?;
        let content = match see(Path::new("/"), &source.to_string_lossy()).ok() {
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
        };
        Ok((content, record))
    }
}
