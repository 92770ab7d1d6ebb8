//! The chain's head, kept outside the database. After each entry the runtime appends the
//! new head (`{"seq", "hash", "seal"}`, sealed with the audit key) to a file it only ever
//! appends to, `DATA_DIR/audit-anchors.jsonl`, and logs it. Verification then holds the
//! database to the newest anchor: a log that ends before it lost its tail (or was
//! truncated), and one whose entry there has another hash was rewritten.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::seal::Seal;

/// The anchor file in a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit-anchors.jsonl")
}

/// A head of the chain, as anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The entry's position.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// The seal over both.
    pub seal: String,
}

fn sealed_text(seq: i64, hash: &str) -> String {
    format!("anchor:{seq}:{hash}")
}

impl Anchor {
    /// The anchor of entry `seq` with `hash`.
    pub fn new(seal: &Seal, seq: i64, hash: &str) -> Self {
        Self {
            seq,
            hash: hash.to_owned(),
            seal: seal.seal(&sealed_text(seq, hash)),
        }
    }

    fn verifies(&self, seal: &Seal) -> bool {
        seal.verifies(&sealed_text(self.seq, &self.hash), &self.seal)
    }
}

/// Appends `anchor` to the file at `path` (created, mode 0600, when missing, and its
/// directory with it). The directory is created only when the file cannot be opened
/// without it: a group of entries costs one anchor, so the usual append is one open,
/// one write and one close.
pub fn append(path: &Path, anchor: &Anchor) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut line = serde_json::to_string(anchor).map_err(std::io::Error::other)?;
    line.push('\n');
    let open = || {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
    };
    let mut file = match (open(), path.parent()) {
        (Err(e), Some(dir)) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            open()?
        }
        (opened, _) => opened?,
    };
    file.write_all(line.as_bytes())
}

/// The newest anchor sealed with the audit key, and a problem for each line that is not
/// one (forged or damaged). No file: no anchor.
pub fn newest(path: &Path, seal: &Seal) -> std::io::Result<(Option<Anchor>, Vec<String>)> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, Vec::new())),
        Err(e) => return Err(e),
    };
    let mut newest: Option<Anchor> = None;
    let mut problems = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        match serde_json::from_str::<Anchor>(&line) {
            Ok(anchor) if anchor.verifies(seal) => {
                if newest.as_ref().is_none_or(|a| anchor.seq > a.seq) {
                    newest = Some(anchor);
                }
            }
            _ => problems.push(format!(
                "{} line {}: not an anchor sealed with this deployment's key (forged or damaged)",
                path.display(),
                n + 1
            )),
        }
    }
    Ok((newest, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn appending_creates_the_missing_directory_and_keeps_every_anchor() {
        let seal = Seal::new(&[Secret::new("key")]).expect("HMAC takes any key");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = path(&dir.path().join("data").join("nested"));
        for seq in 1..=3 {
            append(&file, &Anchor::new(&seal, seq, "ab")).expect("appended");
        }
        let (newest, problems) = newest(&file, &seal).expect("read");
        assert_eq!(newest.map(|a| a.seq), Some(3));
        assert!(problems.is_empty(), "{problems:?}");
        let text = std::fs::read_to_string(&file).expect("read");
        assert_eq!(text.lines().count(), 3);
    }
}
