//! The apply lock: one `scf apply` or `scf rollback` at a time per root. It is an OS file
//! lock (released by the kernel if the holder dies), and the file names its holder, so a
//! second apply says who holds it, and a lock left by a dead process is reclaimed loudly.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Who holds the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
    /// What it is doing.
    pub command: String,
}

impl Holder {
    fn me(command: &str) -> Self {
        Self {
            pid: std::process::id(),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            command: command.to_string(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} since {} ({})",
            self.pid, self.host, self.since, self.command
        )
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another scf holds the lock at {path}: {holder}; wait for it, retry with --lock-timeout DURATION, or if that process is gone for good, delete the file"
    )]
    Held {
        /// The lock file.
        path: String,
        /// Its holder, as recorded.
        holder: String,
    },
    /// The lock file could not be used.
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    /// A dead holder whose lock was reclaimed, to report.
    pub reclaimed: Option<Holder>,
}

impl Lock {
    /// Takes the lock at `path`, waiting up to `timeout` for a live holder.
    pub fn acquire(path: &Path, command: &str, timeout: Duration) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            super::fsio::create_dirs(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(TryLockError::WouldBlock) => {
                    let holder = read_holder(&mut file)
                        .map_or_else(|| "an unknown process".to_string(), |h| h.to_string());
                    return Err(LockError::Held {
                        path: path.display().to_string(),
                        holder,
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // A record left behind means its holder died holding the lock (the kernel freed it).
        let reclaimed = read_holder(&mut file);
        let me = serde_json::to_string(&Holder::me(command)).map_err(|e| io(e.into()))?;
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(Self { file, reclaimed })
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Clear the record first, so a later apply does not report a reclaimed lock.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = Lock::acquire(&path, "scf apply", Duration::ZERO).unwrap();
        assert!(first.reclaimed.is_none());
        let err = Lock::acquire(&path, "scf apply", Duration::from_millis(250))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("scf apply"), "{err}");
        drop(first);
        assert!(Lock::acquire(&path, "scf apply", Duration::ZERO).is_ok());
    }

    #[test]
    fn a_dead_holders_lock_is_reclaimed_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let dead = Holder {
            pid: u32::MAX - 1,
            host: "h".into(),
            since: "then".into(),
            command: "scf apply".into(),
        };
        std::fs::write(&path, serde_json::to_string(&dead).unwrap()).unwrap();
        let lock = Lock::acquire(&path, "scf apply", Duration::ZERO).unwrap();
        assert_eq!(lock.reclaimed, Some(dead));
    }
}
