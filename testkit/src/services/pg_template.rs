//! The initdb'd data dir every throwaway cluster is copied from: a copy takes a fraction of
//! initdb's time. It is cached across test runs in the tools dir
//! (`$SCF_TOOLS_DIR/postgres-template`, rebuilt when `initdb --version` changes, built under a
//! file lock so parallel test processes wait for one build), or made once per test process
//! in a temp dir when there is no usable tools dir.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::ServiceError;
use crate::process::{Account, Watchdog, work_dir};
use crate::tools;

/// The template's data dir, built on first use.
pub(crate) fn data_dir() -> Result<PathBuf, ServiceError> {
    // The watchdog (per-process template only) removes the template when the process exits.
    static TEMPLATE: Mutex<Option<(PathBuf, Option<Watchdog>)>> = Mutex::new(None);
    let mut slot = TEMPLATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((data, _)) = slot.as_ref() {
        return Ok(data.clone());
    }
    let cached = tools::tools_dir().map(|dir| cached(&dir));
    let (data, watchdog) = match cached {
        Some(Ok(data)) => (data, None),
        Some(Err(err)) => {
            eprintln!(
                "scf-testkit: no cached PostgreSQL template ({err}); making one for this process"
            );
            per_process()?
        }
        None => per_process()?,
    };
    *slot = Some((data.clone(), watchdog));
    Ok(data)
}

fn cached(tools_dir: &Path) -> Result<PathBuf, ServiceError> {
    fs::create_dir_all(tools_dir).map_err(|err| ServiceError::io("create the tools dir", err))?;
    let lock_path = tools_dir.join(".postgres-template.lock");
    let lock = fs::File::create(&lock_path)
        .map_err(|err| ServiceError::io(format!("create {}", lock_path.display()), err))?;
    lock.lock()
        .map_err(|err| ServiceError::io("lock the PostgreSQL template", err))?;
    let root = tools_dir.join("postgres-template");
    let (data, marker) = (root.join("data"), root.join("initdb-version"));
    let version = initdb_version()?;
    if fs::read_to_string(&marker).is_ok_and(|built| built == version) {
        return Ok(data);
    }
    if root.exists() {
        fs::remove_dir_all(&root)
            .map_err(|err| ServiceError::io("remove a stale template", err))?;
    }
    let scratch = work_dir("scf-pg-template-", Account::Postgres)?;
    initdb(&scratch.path().join("data"))?;
    fs::create_dir_all(&root).map_err(|err| ServiceError::io("create the template dir", err))?;
    copy_tree(&scratch.path().join("data"), &data)?;
    // The marker goes last: a half-built template is rebuilt next time.
    fs::write(&marker, version)
        .map_err(|err| ServiceError::io("write the template marker", err))?;
    Ok(data)
}

fn per_process() -> Result<(PathBuf, Option<Watchdog>), ServiceError> {
    let dir = work_dir("scf-pg-template-", Account::Postgres)?.keep();
    let watchdog = Watchdog::spawn(None, "TERM", &dir)?;
    initdb(&dir.join("data"))?;
    Ok((dir.join("data"), Some(watchdog)))
}

fn initdb_version() -> Result<String, ServiceError> {
    let output = Command::new(tools::find("initdb")?)
        .arg("--version")
        .output()
        .map_err(|err| ServiceError::io("run initdb --version", err))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn initdb(data: &Path) -> Result<(), ServiceError> {
    let output = Account::Postgres
        .command(&tools::find("initdb")?)
        .arg("-D")
        .arg(data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ServiceError::io("run initdb", source))?;
    if output.status.success() {
        return Ok(());
    }
    Err(ServiceError::Command {
        command: "initdb".to_owned(),
        output: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `cp -a`: keeps the postgres ownership and 0700 modes the server insists on.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), ServiceError> {
    let output = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .map_err(|source| ServiceError::io("run cp", source))?;
    if output.status.success() {
        return Ok(());
    }
    Err(ServiceError::Command {
        command: format!("cp -a {} {}", from.display(), to.display()),
        output: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
