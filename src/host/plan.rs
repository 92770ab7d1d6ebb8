//! The host plan: every host artifact compared with what is under the root, plus the files
//! scf wrote before that are no longer wanted, and the commands the changes imply.

use super::error::HostError;
use super::fsio::under;
use super::state::State;
use crate::artifact::{Artifact, Contents, Effect};
use crate::config::values::SecretRef;
use crate::plan::{Action, Change, Command, Desired, Step, mask, sha256_tag, unified};
use crate::secret::{self, ResolveError};
use crate::targets::{self, Stage};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The state's kind for the installed scf binary, which is never pruned.
pub const BINARY_KIND: &str = "binary";

/// What is at a path under the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Nothing.
    Absent,
    /// A regular file.
    File {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link.
    Link(String),
    /// A directory or special file.
    Other,
}

/// Looks at `host_path` under `root`.
pub fn see(root: &Path, host_path: &str) -> io::Result<Seen> {
    let path = under(root, host_path);
    match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Seen::Absent),
        Err(e) => Err(e),
        Ok(m) if m.file_type().is_symlink() => Ok(Seen::Link(
            fs::read_link(&path)?.to_string_lossy().into_owned(),
        )),
        Ok(m) if m.is_file() => Ok(Seen::File {
            bytes: fs::read(&path)?,
            mode: m.permissions().mode() & 0o7777,
        }),
        Ok(_) => Ok(Seen::Other),
    }
}

/// How secrets are treated while planning.
pub struct Secrets<'a> {
    /// Resolve references (apply) or leave them as markers (plan).
    pub resolve: bool,
    /// The per-host fingerprint key, if readable.
    pub key: Option<&'a [u8]>,
}

impl Secrets<'_> {
    /// A value's fingerprint, only when the desired side can be fingerprinted too (apply):
    /// otherwise an unchanged secret would look changed.
    fn fingerprint(&self, value: &str) -> Option<String> {
        self.key
            .filter(|_| self.resolve)
            .map(|k| secret::fingerprint(k, value.as_bytes()))
    }
    fn fill(&self, text: &str) -> Result<String, ResolveError> {
        secret::fill(text, secret::resolve)
    }
    fn fingerprint_ref(&self, r: &SecretRef) -> Option<String> {
        if !self.resolve {
            return None;
        }
        let value = secret::resolve(r).ok()?;
        self.fingerprint(value.expose())
    }
}

pub use crate::targets::address;

/// The observation recorded in a plan, masked for secret-bearing files.
pub fn observed(seen: &Seen, desired_template: Option<&str>) -> String {
    match seen {
        Seen::Absent => "absent".into(),
        Seen::Link(to) => format!("link:{to}"),
        Seen::Other => "other".into(),
        Seen::File { bytes, mode } => {
            let text = String::from_utf8_lossy(bytes);
            let shown = match desired_template {
                Some(t) => mask::mask_actual(&text, t, &|_| None),
                None => text.into_owned(),
            };
            format!("{} mode:{mode:04o}", sha256_tag(shown.as_bytes()))
        }
    }
}

fn seen_text(seen: &Seen) -> String {
    match seen {
        Seen::File { bytes, .. } => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => format!("(binary, {} bytes, {})\n", bytes.len(), sha256_tag(bytes)),
        },
        Seen::Link(to) => format!("-> {to}\n"),
        Seen::Absent => String::new(),
        Seen::Other => "(a directory or special file)\n".into(),
    }
}

/// The change for one host artifact.
/// `owner_change` is set when the file exists with another owner than the artifact's.
pub fn compare(
    host_path: &str,
    artifact: &Artifact,
    seen: &Seen,
    owner_change: Option<String>,
    secrets: &Secrets,
) -> Result<Change, ResolveError> {
    let (desired, wanted_text, template) = match &artifact.contents {
        Contents::Link(to) => (Desired::Link { to: to.clone() }, format!("-> {to}\n"), None),
        Contents::File(text) => (
            Desired::file(text.clone(), artifact.mode, artifact.owner.clone()),
            text.clone(),
            artifact.sensitive.then_some(text.as_str()),
        ),
    };
    let same = match (&artifact.contents, seen) {
        (Contents::Link(to), Seen::Link(actual)) => to == actual,
        (Contents::File(text), Seen::File { bytes, mode }) if *mode == artifact.mode => {
            match template {
                None => text.as_bytes() == bytes.as_slice(),
                Some(t) if secrets.resolve => secrets.fill(t)?.as_bytes() == bytes.as_slice(),
                Some(t) => {
                    mask::mask_actual(&String::from_utf8_lossy(bytes), t, &|_| None)
                        == mask::mask_desired(t, &|_| None)
                }
            }
        }
        _ => false,
    } && owner_change.is_none();
    let action = match (seen, same) {
        (_, true) => Action::NoOp,
        (Seen::Absent, false) => Action::Create,
        (_, false) => Action::Update,
    };
    let diff = (action != Action::NoOp).then(|| {
        let (old, new) = match template {
            Some(t) => (
                mask::mask_actual(&seen_text(seen), t, &|v| secrets.fingerprint(v)),
                mask::mask_desired(t, &|r| secrets.fingerprint_ref(r)),
            ),
            None => (seen_text(seen), wanted_text.clone()),
        };
        let mut diff = owner_change.clone().unwrap_or_default();
        if let Seen::File { mode, .. } = seen
            && *mode != artifact.mode
        {
            diff.push_str(&format!(
                "old mode {mode:04o}\nnew mode {:04o}\n",
                artifact.mode
            ));
        }
        diff.push_str(&unified(host_path, &old, &new).unwrap_or_default());
        diff
    });
    Ok(Change {
        address: address(host_path),
        action,
        diff: diff.filter(|d| !d.is_empty()),
        sensitive: artifact.sensitive,
        observed: observed(seen, template),
        blocked: None,
        desired: Some(desired),
    })
}

/// `old owner …` / `new owner …` lines when an existing file belongs to someone else
/// than the artifact says; nothing when the root has no accounts to resolve.
fn owner_change(
    root: &Path,
    host_path: &str,
    artifact: &Artifact,
    seen: &Seen,
) -> Result<Option<String>, HostError> {
    let (Some(owner), Seen::File { .. }) = (&artifact.owner, seen) else {
        return Ok(None);
    };
    let io = |e| HostError::io(format!("resolve the owner of {host_path}"), e);
    let Some(wanted) = super::fsio::owner_ids(root, owner).map_err(io)? else {
        return Ok(None);
    };
    let actual = super::fsio::owner_of(&under(root, host_path)).map_err(io)?;
    Ok((actual != wanted).then(|| {
        format!(
            "old owner {}:{}\nnew owner {owner} ({}:{})\n",
            actual.0, actual.1, wanted.0, wanted.1
        )
    }))
}

/// The change that removes a file scf wrote earlier.
pub fn removal(host_path: &str, record: &super::state::FileRecord, seen: &Seen) -> Change {
    let diff = match (seen, record.sensitive) {
        (Seen::Absent, _) | (_, true) => None,
        _ => unified(host_path, &seen_text(seen), ""),
    };
    Change {
        diff,
        sensitive: record.sensitive,
        ..Change::new(address(host_path), Action::Delete, observed(seen, None))
    }
}

/// Effects of each changed address, to turn into commands.
pub type Effects = BTreeMap<String, Vec<Effect>>;

/// Plans the host files: desired artifacts against the root, and prunes from the state.
pub fn file_changes(
    root: &Path,
    artifacts: &[Artifact],
    state: &State,
    secrets: &Secrets,
) -> Result<(Vec<Change>, Effects), HostError> {
    let mut changes = Vec::new();
    let mut effects = Effects::new();
    let wanted: BTreeMap<&str, &Artifact> = artifacts
        .iter()
        .filter_map(|a| Some((a.host_path()?, a)))
        .collect();
    for (host_path, artifact) in &wanted {
        let seen =
            see(root, host_path).map_err(|e| HostError::io(format!("read {host_path}"), e))?;
        let owner_change = owner_change(root, host_path, artifact, &seen)?;
        let change = compare(host_path, artifact, &seen, owner_change, secrets)?;
        effects.insert(change.address.clone(), artifact.effects.clone());
        changes.push(change);
    }
    for (host_path, record) in &state.files {
        // The installed scf is kept even when this run does not install it.
        if !wanted.contains_key(host_path.as_str()) && record.kind != BINARY_KIND {
            let seen =
                see(root, host_path).map_err(|e| HostError::io(format!("read {host_path}"), e))?;
            if seen != Seen::Absent {
                let change = removal(host_path, record, &seen);
                effects.insert(change.address.clone(), record.effects.clone());
                changes.push(change);
            }
        }
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    Ok((changes, effects))
}

/// The commands a set of changes implies, in the order they run (see [`steps`]).
pub fn commands(changes: &[Change], effects: &Effects) -> Vec<Command> {
    staged_commands(changes, effects)
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

/// Whether a command retires a unit whose file the apply removes (`systemctl disable --now
/// UNIT`). Such commands come first, and run before any file is swapped: systemd can only
/// disable a unit while its file exists.
pub fn retires(command: &Command) -> bool {
    command.program == "systemctl"
        && command
            .args
            .starts_with(&["disable".into(), "--now".into()])
}

/// A plan's steps split into those that run before any file is swapped (the units the
/// apply removes, disabled while their files exist: see [`retires`]) and the rest, each in
/// plan order. The retirements are found wherever they stand: the packages step comes first.
pub fn around_the_swap(steps: &[Step]) -> (Vec<&Step>, Vec<&Step>) {
    steps.iter().partition(|s| s.command().is_some_and(retires))
}

/// The steps of an apply after its files are in place: the commands of `changes` in the
/// order a bare host survives, with the database brought in line (when `database`) once
/// the data services run with their new config, and `/ready` probed (when `probe`) once
/// the runtime and the proxy are up, before the monitoring stack.
pub fn steps(
    changes: &[Change],
    effects: &Effects,
    mut database: bool,
    mut probe: bool,
) -> Vec<Step> {
    let mut out = Vec::new();
    for (stage, command) in staged_commands(changes, effects) {
        if database && stage.is_some_and(|s| s > Stage::Data) {
            out.push(Step::Database);
            database = false;
        }
        if probe && stage == Some(Stage::Monitoring) {
            out.push(Step::Probe);
            probe = false;
        }
        out.push(Step::Run(command));
    }
    out.extend(database.then_some(Step::Database));
    out.extend(probe.then_some(Step::Probe));
    out
}

/// The commands a set of changes implies, each with its stage (`None`: the preparation
/// before any service starts). First the preparation: stop removed units, reload systemd,
/// run installed programs (users, the firewall), make the declared directories; then, stage by stage, enable, reload,
/// restart. Each command appears once.
fn staged_commands(changes: &[Change], effects: &Effects) -> Vec<(Option<Stage>, Command)> {
    use super::services::systemctl;
    let mut stop = Vec::new();
    let mut daemon_reload = false;
    let mut enable = Vec::new();
    let mut reload = Vec::new();
    let mut restart = Vec::new();
    let mut run = Vec::new();
    let mut dirs = Vec::new();
    for c in changes.iter().filter(|c| c.takes_effect()) {
        if c.action == Action::Delete
            && let Some(unit) = c.address.strip_prefix("systemd:")
        {
            stop.push(unit.to_string());
        }
        for e in effects.get(&c.address).into_iter().flatten() {
            match e {
                Effect::DaemonReload => daemon_reload = true,
                Effect::EnableNow(u) if c.action != Action::Delete => enable.push(u.clone()),
                Effect::Reload(u) => reload.push(u.clone()),
                Effect::Run(program) if c.action != Action::Delete => run.push(program.clone()),
                Effect::CreateDirs(file) if c.action != Action::Delete => dirs.push(file.clone()),
                Effect::Restart(u)
                    if c.action != Action::Delete || !c.address.ends_with(u.as_str()) =>
                {
                    restart.push(u.clone())
                }
                _ => {}
            }
        }
    }
    for list in [
        &mut stop,
        &mut enable,
        &mut reload,
        &mut restart,
        &mut run,
        &mut dirs,
    ] {
        list.sort();
        list.dedup();
    }
    // A unit that is new (its file, or the package that brings it) is started by
    // `enable --now` with everything in place: no restart or reload on top.
    let fresh: Vec<&String> = changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .flat_map(|c| effects.get(&c.address).into_iter().flatten())
        .filter_map(|e| match e {
            Effect::EnableNow(u) => Some(u),
            _ => None,
        })
        .collect();
    restart.retain(|u| !fresh.contains(&u));
    reload.retain(|u| !restart.contains(u) && !fresh.contains(&u));
    restart.retain(|u| !stop.contains(u));
    let mut out: Vec<(Option<Stage>, Command)> = stop
        .iter()
        .map(|u| (None, systemctl(&["disable", "--now", u])))
        .collect();
    if daemon_reload || !stop.is_empty() {
        out.push((None, systemctl(&["daemon-reload"])));
    }
    out.extend(run.iter().map(|program| (None, Command::new(program, &[]))));
    out.extend(
        dirs.iter()
            .map(|file| (None, Command::new("systemd-tmpfiles", &["--create", file]))),
    );
    // A reload starts a service that is not running yet (a package installed with its
    // daemon held back): `reload-or-restart`.
    let service =
        |verb: &'static str| move |u: &String| (Some(targets::stage(u)), systemctl(&[verb, u]));
    let mut started: Vec<(Option<Stage>, Command)> = enable
        .iter()
        .map(|u| (Some(targets::stage(u)), systemctl(&["enable", "--now", u])))
        .chain(reload.iter().map(service("reload-or-restart")))
        .chain(restart.iter().map(service("restart")))
        .collect();
    // Stable: within a stage, enable, reload, restart, as listed.
    started.sort_by_key(|(stage, _)| *stage);
    out.extend(started);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_ordered_and_deduplicated() {
        let change = |address: &str, action| Change::new(address.into(), action, String::new());
        let changes = vec![
            change("file:/etc/a.env", Action::Update),
            change("systemd:a.service", Action::Update),
            change("systemd:old.timer", Action::Delete),
        ];
        let effects = BTreeMap::from([
            (
                "file:/etc/a.env".to_string(),
                vec![Effect::Restart("a.service".into())],
            ),
            (
                "systemd:a.service".to_string(),
                vec![
                    Effect::DaemonReload,
                    Effect::Restart("a.service".into()),
                    Effect::Reload("a.service".into()),
                ],
            ),
            ("systemd:old.timer".to_string(), vec![Effect::DaemonReload]),
        ]);
        let shown: Vec<String> = commands(&changes, &effects)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "systemctl disable --now old.timer",
                "systemctl daemon-reload",
                "systemctl restart a.service"
            ]
        );
    }

    #[test]
    fn steps_follow_the_order_a_bare_host_survives() {
        let change = |address: &str| Change::new(address.into(), Action::Update, String::new());
        let changes: Vec<Change> = ["file:/a", "file:/b", "file:/c", "file:/d", "file:/e"]
            .into_iter()
            .map(change)
            .collect();
        let effects = BTreeMap::from([
            (
                "file:/a".into(),
                vec![Effect::Reload("prometheus.service".into())],
            ),
            (
                "file:/b".into(),
                vec![Effect::Reload("nginx.service".into())],
            ),
            (
                "file:/c".into(),
                vec![Effect::Restart("app.service".into())],
            ),
            (
                "file:/d".into(),
                vec![Effect::Restart("postgresql.service".into())],
            ),
            (
                "file:/e".into(),
                vec![Effect::Run("/usr/local/lib/app/firewall.sh".into())],
            ),
        ]);
        let shown: Vec<String> = steps(&changes, &effects, true, true)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "/usr/local/lib/app/firewall.sh",
                "systemctl restart postgresql.service",
                "bring the database in line: roles, database, extensions, migrations, tenants",
                "systemctl restart app.service",
                "systemctl reload-or-restart nginx.service",
                "wait until the runtime answers /ready",
                "systemctl reload-or-restart prometheus.service",
            ]
        );
        // Without a database or monitoring change, both markers still come, last.
        let shown: Vec<String> = steps(&changes[2..3], &effects, true, true)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown[1..],
            [
                "systemctl restart app.service",
                "wait until the runtime answers /ready"
            ]
        );
    }

    #[test]
    fn retirements_run_before_the_swap_wherever_they_stand() {
        let changes = vec![
            Change::new("systemd:old.timer".into(), Action::Delete, String::new()),
            Change::new("file:/etc/a.env".into(), Action::Update, String::new()),
        ];
        let effects = BTreeMap::from([
            ("systemd:old.timer".to_string(), vec![Effect::DaemonReload]),
            (
                "file:/etc/a.env".to_string(),
                vec![Effect::Restart("a.service".into())],
            ),
        ]);
        let mut planned = vec![Step::Install(vec!["nginx".into()])];
        planned.extend(steps(&changes, &effects, false, true));
        let (before, after) = around_the_swap(&planned);
        let shown = |list: Vec<&Step>| list.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(shown(before), ["systemctl disable --now old.timer"]);
        assert_eq!(
            shown(after),
            [
                planned[0].to_string().as_str(),
                "systemctl daemon-reload",
                "systemctl restart a.service",
                "wait until the runtime answers /ready",
            ]
        );
    }
}
