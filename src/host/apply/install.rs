//! The packages phase of an apply, before any file is staged (the pre-swap checks run the
//! packages' programs: `nginx -t`): apt-get installs the plan's packages while a
//! `policy-rc.d` that refuses every start holds each daemon, so none runs on its packaged
//! default config; the plan's commands start them once scf's config is in place. The
//! `policy-rc.d` scf wrote is removed afterwards, also when apt-get fails; one that was
//! there already is left as it is.

use super::request::{Report, Step};
use super::write::run_commands;
use crate::host::fsio::{self, under};
use crate::host::packages::{POLICY_RC_D, address, install_commands};
use crate::host::{HostError, ServiceManager};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What the `policy-rc.d` scf writes says: no daemon starts (exit 101).
const HOLD_ALL: &str = "#!/bin/sh\n# Written by `scf apply` while it installs packages, and removed after: no daemon\n# starts before scf's config is in place.\nexit 101\n";

/// Installs `names` through `services`, noting in `report` what ran and was installed.
pub(super) fn install(
    root: &Path,
    names: &[String],
    services: &ServiceManager,
    report: &mut Report,
    log: &mut dyn FnMut(Step),
) -> Result<(), HostError> {
    let commands = install_commands(names);
    // Nothing runs here: a root that is not a live system gets no policy-rc.d either.
    let held = match services {
        ServiceManager::Skip => None,
        _ => Some(Held::hold(&under(root, POLICY_RC_D))?),
    };
    run_commands(&commands, services, report, log, HostError::Install)?;
    // Held only where the commands run: there, the packages are now installed.
    if let Some(held) = held {
        held.release()?;
        report.changed.extend(names.iter().map(|n| address(n)));
    }
    Ok(())
}

/// A `policy-rc.d` written by scf, removed when dropped; `None` inside when one was there.
struct Held(Option<PathBuf>);

impl Held {
    fn hold(path: &Path) -> Result<Self, HostError> {
        if path.symlink_metadata().is_ok() {
            return Ok(Self(None));
        }
        let io = |e| HostError::io(format!("hold the daemons with {}", path.display()), e);
        if let Some(dir) = path.parent() {
            fsio::create_dirs(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(path)
            .map_err(io)?;
        // Written once it exists, so a failed write still leaves it to remove.
        let held = Self(Some(path.to_path_buf()));
        file.write_all(HOLD_ALL.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(held)
    }

    /// Removes the `policy-rc.d` scf wrote, saying so when it cannot: it would hold every
    /// daemon a later package upgrade restarts.
    fn release(mut self) -> Result<(), HostError> {
        match self.0.take() {
            Some(path) => std::fs::remove_file(&path).map_err(|e| {
                HostError::io(format!("remove {} (remove it by hand)", path.display()), e)
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}
