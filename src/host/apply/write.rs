//! The primitives apply and rollback share: one file's new content (secrets filled in),
//! putting it under a root, recording it in the state, and running the implied commands.

use super::request::{Report, Step};
use crate::host::HostError;
use crate::host::fsio::{self, under};
use crate::host::plan::{BINARY_KIND, Effects};
use crate::host::services::{CommandFailed, ServiceManager};
use crate::host::state::{FileRecord, parse_mode};
use crate::plan::{Action, Change, Command, Desired, sha256_tag};
use crate::secret;
use std::path::Path;

/// One file's new content, secrets filled in.
pub(super) enum Content {
    /// Bytes, mode and owner.
    File(Vec<u8>, u32, Option<String>),
    /// A symbolic link to this target.
    Link(String),
    /// No file.
    Absent,
}

/// The content a change puts in place.
pub(super) fn content_of(change: &Change) -> Result<Content, HostError> {
    Ok(match (&change.action, &change.desired) {
        (Action::Delete, _) => Content::Absent,
        (
            _,
            Some(Desired::File {
                contents,
                mode,
                owner,
                ..
            }),
        ) => Content::File(
            secret::fill(contents, secret::resolve)?.into_bytes(),
            parse_mode(mode),
            owner.clone(),
        ),
        (_, Some(Desired::Link { to })) => Content::Link(to.clone()),
        (_, Some(Desired::Binary { sha256 })) => {
            let bytes = crate::host::binary::running()
                .map_err(|e| HostError::io("read the running scf", e))?;
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
        (_, Some(Desired::Json { .. } | Desired::Package { .. }) | None) => {
            return Err(HostError::io(
                format!("apply {}", change.address),
                std::io::Error::other("not a file change; this is a bug in scf"),
            ));
        }
    })
}

/// Puts `content` at the host path `path` under `root`.
pub(super) fn put(root: &Path, path: &str, content: &Content) -> std::io::Result<()> {
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

/// The state's kind of a file change: the installed scf is kept apart.
pub(super) fn kind_of(c: &Change) -> &'static str {
    if matches!(c.desired, Some(Desired::Binary { .. })) {
        BINARY_KIND
    } else {
        "file"
    }
}

/// The state's record of a file `c` put in place.
pub(super) fn record(
    c: &Change,
    kind: &str,
    mode: String,
    sha256: String,
    effects: &Effects,
) -> FileRecord {
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

/// Runs `commands` in order through `services`, logging each and noting in `report`
/// whether it ran or was skipped; the first that fails stops the rest, as `failed` says.
pub(super) fn run_commands<'a>(
    commands: impl IntoIterator<Item = &'a Command>,
    services: &ServiceManager,
    report: &mut Report,
    log: &mut dyn FnMut(Step),
    failed: fn(CommandFailed) -> HostError,
) -> Result<(), HostError> {
    for command in commands {
        let ran = services.run(command).map_err(failed)?;
        let shown = command.to_string();
        log(Step::Command(shown.clone(), ran));
        if ran {
            &mut report.ran
        } else {
            &mut report.skipped
        }
        .push(shown);
    }
    Ok(())
}

/// A service command that failed after the swap.
pub(super) fn service_failed(e: CommandFailed) -> HostError {
    HostError::Io {
        action: "run a service command".into(),
        source: std::io::Error::other(e.to_string()),
    }
}
