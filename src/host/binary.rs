//! Installing scf itself: the units run `/usr/local/bin/scf run --production`, so a bare
//! host gets the binary that applies it, and an upgraded scf replaces the old one. This is
//! what lets one `scf apply` bootstrap a host, as Kamal does with its one file.

use super::error::HostError;
use super::fsio::under;
use super::plan::{Seen, see};
use crate::artifact::Effect;
use crate::plan::{Action, Change, Desired, sha256_tag};
use std::path::Path;

/// Where the binary is installed on a host.
pub const INSTALL_PATH: &str = crate::model::layout::BINARY;

/// The bytes of the running scf.
pub fn running() -> std::io::Result<Vec<u8>> {
    std::fs::read(std::env::current_exe()?)
}

/// The change that installs the running scf under `root`, with the unit it restarts: the
/// runtime's, on a host that runs it (a fleet's database host runs only the restore drill,
/// which starts the new binary on its next run).
pub fn change(root: &Path, unit: Option<&str>) -> Result<(Change, Vec<Effect>), HostError> {
    let target = under(root, INSTALL_PATH);
    let address = format!("file:{INSTALL_PATH}");
    let effects: Vec<Effect> = unit
        .map(|u| Effect::Restart(u.to_string()))
        .into_iter()
        .collect();
    // The common case after bootstrap: this scf *is* the installed one; nothing to hash.
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| HostError::io("find the running scf", e))?;
    let seen =
        see(root, INSTALL_PATH).map_err(|e| HostError::io(format!("read {INSTALL_PATH}"), e))?;
    let observed = match &seen {
        Seen::File { bytes, .. } => sha256_tag(bytes),
        Seen::Absent => "absent".into(),
        Seen::Link(to) => format!("link:{to}"),
        Seen::Other => "other".into(),
    };
    if std::fs::canonicalize(&target).ok().as_ref() == Some(&exe) {
        let sha256 = observed.clone();
        let change = Change {
            desired: Some(Desired::Binary { sha256 }),
            ..Change::new(address, Action::NoOp, observed)
        };
        return Ok((change, effects));
    }
    let sha256 = sha256_tag(&running().map_err(|e| HostError::io("read the running scf", e))?);
    let action = match &seen {
        Seen::Absent => Action::Create,
        Seen::File { mode, .. } if observed == sha256 && *mode == 0o755 => Action::NoOp,
        _ => Action::Update,
    };
    let diff = (action != Action::NoOp).then(|| {
        format!(
            "binary {INSTALL_PATH}: {} → {sha256} (scf {})\n",
            short(&observed),
            env!("CARGO_PKG_VERSION")
        )
    });
    Ok((
        Change {
            diff,
            desired: Some(Desired::Binary { sha256 }),
            ..Change::new(address, action, observed)
        },
        effects,
    ))
}

fn short(observed: &str) -> &str {
    &observed[..observed.len().min(19)]
}
