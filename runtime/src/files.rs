//! Writing a file whole or not at all. The bytes go to a temporary file beside the target,
//! created with `O_EXCL` under a random name (so no file already there, or a link planted
//! in its place, is ever opened), synced, and given the target's name in one rename: a
//! reader sees the old file or the new one, never half of one.

use std::fs::Permissions;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What happens when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// It is replaced.
    Replace,
    /// It is kept, and the write fails with [`io::ErrorKind::AlreadyExists`].
    Keep,
}

/// Writes `bytes` to `path` with permissions `mode` (less the umask).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".scf-tmp-")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    let persisted = match existing {
        Existing::Replace => temp.persist(path),
        Existing::Keep => temp.persist_noclobber(path),
    };
    persisted.map(drop).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policy.csv");
        write_atomic(&path, b"first", 0o644, Existing::Replace).expect("write");
        write_atomic(&path, b"second", 0o644, Existing::Replace).expect("replace");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second");
        assert_eq!(names(dir.path()), ["policy.csv"]);
    }

    #[test]
    fn keep_refuses_an_existing_file_and_leaves_it_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dev-keys.json");
        write_atomic(&path, b"winner", 0o600, Existing::Keep).expect("write");
        let e = write_atomic(&path, b"loser", 0o600, Existing::Keep).expect_err("exists");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "winner");
        assert_eq!(names(dir.path()), ["dev-keys.json"]);
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_link_planted_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").expect("victim");
        let path = dir.path().join("out.csv");
        std::os::unix::fs::symlink(&victim, &path).expect("symlink");
        write_atomic(&path, b"policies", 0o644, Existing::Replace).expect("write");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "untouched");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "policies");
        assert!(!std::fs::symlink_metadata(&path).expect("stat").is_symlink());
    }
}
