//! File writes that survive a crash: write a temporary file beside the target, fsync it,
//! rename it over the target, fsync the directory. A reader (or a reboot) sees the old file
//! or the new one, never a partial one. The temporary file is created exclusively
//! (`O_CREAT|O_EXCL`, no symlink followed), so nothing planted at its name is written
//! through.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.scf-tmp-")
}

/// Removes temporary files that a killed apply left beside `path`.
pub fn sweep_temps(path: &Path) {
    let prefix = temp_prefix(path);
    if let Ok(entries) = fs::read_dir(parent(path)) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// A temporary name beside `path`, after sweeping any left by a killed apply.
fn temp_beside(path: &Path) -> PathBuf {
    sweep_temps(path);
    path.with_file_name(format!("{}{}", temp_prefix(path), std::process::id()))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its parents (mode 0755), syncing each new directory's parent.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
    }
    match fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    dir.parent().map_or(Ok(()), sync_dir)
}

/// The bytes of the file at `path`, or `None` when there is none.
pub fn read_if_present(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Atomically replaces `path` with `bytes` and permission bits `mode`, owned by root.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_file_owned(path, bytes, mode, None)
}

/// Atomically replaces `path` with `bytes`, mode `mode` and, if given, owner `(uid, gid)`;
/// the temporary file gets its owner before the rename, so no reader sees it root's.
pub fn write_file_owned(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let dir = parent(path);
    create_dirs(dir)?;
    let tmp = temp_beside(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        // The umask may have narrowed `mode`; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some(ids) = owner {
            chown(&tmp, ids)?;
        }
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Atomically makes `path` a symbolic link to `to`.
pub fn write_link(path: &Path, to: &str) -> io::Result<()> {
    let dir = parent(path);
    create_dirs(dir)?;
    let tmp = temp_beside(path);
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(to, &tmp)?;
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Removes `path` if present, syncing its directory.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `root` joined with an absolute host path such as `/etc/x`.
pub fn under(root: &Path, host_path: &str) -> PathBuf {
    root.join(host_path.trim_start_matches('/'))
}

/// The numeric ids of `user:group` (or of numeric `uid:gid`) on the system under `root`,
/// from its passwd and group files. `Ok(None)` when `root` has no `/etc/passwd` (an image or test directory, where
/// ownership is left to whoever installs it).
pub fn owner_ids(root: &Path, owner: &str) -> io::Result<Option<(u32, u32)>> {
    if let Some((uid, gid)) = owner
        .split_once(':')
        .and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)))
    {
        return Ok(Some((uid, gid)));
    }
    let Ok(passwd) = fs::read_to_string(under(root, "/etc/passwd")) else {
        return Ok(None);
    };
    let group = fs::read_to_string(under(root, "/etc/group")).unwrap_or_default();
    let (user, grp) = owner.split_once(':').unwrap_or((owner, owner));
    let id = |table: &str, name: &str| {
        table
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(2)?.parse::<u32>().ok())
    };
    let missing = |what: &str, name: &str| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{what} `{name}` does not exist on this host; install the package that creates it (e.g. redis-server) first"
            ),
        )
    };
    let uid = id(&passwd, user).ok_or_else(|| missing("user", user))?;
    let gid = id(&group, grp).ok_or_else(|| missing("group", grp))?;
    Ok(Some((uid, gid)))
}

/// The owner of `path`, as `(uid, gid)`.
pub fn owner_of(path: &Path) -> io::Result<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path)?;
    Ok((meta.uid(), meta.gid()))
}

/// Gives `path` to `owner` (numeric ids).
pub fn chown(path: &Path, owner: (u32, u32)) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_atomically_with_exact_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/env");
        write_file(&path, b"one", 0o600).unwrap();
        write_file(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        write_link(&dir.path().join("a/link"), "b/env").unwrap();
        assert_eq!(fs::read(dir.path().join("a/link")).unwrap(), b"two");
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_planted_temp_name_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let tmp = path.with_file_name(format!("{}{}", temp_prefix(&path), std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        write_file(&path, b"new", 0o600).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }
}
