//! A backup set as `backup.sh` writes it (`BACKUP_DIR/KIND/STAMP/`): `DB.dump` per database
//! (pg_dump's custom format), in a full set also `globals.sql`, and `SHA256SUMS` over them.
//! [`open`] checks every checksum, and that no file is missing from the list, before anything
//! reads a dump: a damaged set fails here, naming each damaged file.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::db::ident::TENANT_DATABASE_INFIX;

/// The checksum list of a set.
pub const SUMS: &str = "SHA256SUMS";

/// A set whose checksums all match.
#[derive(Debug)]
pub struct BackupSet {
    /// The set's directory, links resolved (`latest` names the set it points at).
    pub dir: PathBuf,
    /// The deployment's dumps: the main database's first, then each tenant database's.
    pub dumps: Vec<Dump>,
    /// Files checked by checksum only: dumps of other databases, `globals.sql`.
    pub others: Vec<String>,
    /// The size of the set's files, in bytes.
    pub bytes: u64,
}

/// One database's dump in a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// The database it was dumped from.
    pub database: String,
    /// The dump file.
    pub path: PathBuf,
}

/// Why a set cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// The directory or a file of it cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The set is damaged or incomplete; each line names a file and what is wrong.
    #[error("backup set {dir} is damaged:\n  {}", problems.join("\n  "))]
    Damaged {
        /// The set.
        dir: PathBuf,
        /// What is wrong, one line per file.
        problems: Vec<String>,
    },
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> SetError + '_ {
    move |source| SetError::Read {
        path: path.to_owned(),
        source,
    }
}

/// Opens the set at `dir` of the deployment whose main database is `main`, checking every
/// file against SHA256SUMS.
pub fn open(dir: &Path, main: &str) -> Result<BackupSet, SetError> {
    let dir = dir.canonicalize().map_err(read_error(dir))?;
    let sums_path = dir.join(SUMS);
    let sums = std::fs::read_to_string(&sums_path).map_err(read_error(&sums_path))?;
    let listed = parse_sums(&sums);
    let mut problems = Vec::new();
    let mut bytes = 0;
    for (n, entry) in listed.iter().enumerate() {
        let Ok((expected, name)) = entry else {
            problems.push(format!("{SUMS}:{}: not a `HASH  FILE` line", n + 1));
            continue;
        };
        let path = dir.join(name);
        match sha256(&path) {
            Ok((actual, len)) if actual == *expected => bytes += len,
            Ok((actual, _)) => problems.push(format!(
                "{name}: checksum mismatch ({SUMS} has {expected}, the file hashes to {actual})"
            )),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    let names: Vec<&str> = listed.iter().flatten().map(|(_, name)| *name).collect();
    for entry in std::fs::read_dir(&dir).map_err(read_error(&dir))? {
        let name = entry.map_err(read_error(&dir))?.file_name();
        let name = name.to_string_lossy().into_owned();
        if name != SUMS && !names.contains(&name.as_str()) {
            problems.push(format!("{name}: not in {SUMS}"));
        }
    }
    let main_dump = format!("{main}.dump");
    if !names.contains(&main_dump.as_str()) {
        problems.push(format!(
            "{main_dump}: missing; the set holds no dump of the database {main}"
        ));
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(SetError::Damaged { dir, problems });
    }
    let (dumps, others) = classify(&dir, main, names);
    Ok(BackupSet {
        dir,
        dumps,
        others,
        bytes,
    })
}

/// `HASH  FILE` lines as `sha256sum` writes them (`*FILE` in binary mode); `Err(())` for a
/// line that is not one, or names a file outside the set.
fn parse_sums(text: &str) -> Vec<Result<(String, &str), ()>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (hash, name) = line.split_once(' ').ok_or(())?;
            let name = name.strip_prefix([' ', '*']).ok_or(())?;
            let plain = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
            let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            match plain && hex {
                true => Ok((hash.to_ascii_lowercase(), name)),
                false => Err(()),
            }
        })
        .collect()
}

/// The deployment's dumps (main first, then its tenant databases, by name) and the rest.
fn classify(dir: &Path, main: &str, mut names: Vec<&str>) -> (Vec<Dump>, Vec<String>) {
    names.sort_unstable();
    let tenant_prefix = format!("{main}{TENANT_DATABASE_INFIX}");
    let mut dumps = Vec::new();
    let mut others = Vec::new();
    for name in names {
        match name.strip_suffix(".dump") {
            Some(db) if db == main || db.starts_with(&tenant_prefix) => dumps.push(Dump {
                database: db.to_owned(),
                path: dir.join(name),
            }),
            _ => others.push(name.to_owned()),
        }
    }
    // Sorted by name, the main database sorts before each of its tenants' (a longer name).
    (dumps, others)
}

/// The file's SHA-256 (lowercase hex) and length.
fn sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    let mut len = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), len));
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set in a temp dir with these files and a SHA256SUMS over them, as backup.sh
    /// writes it.
    fn set(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sums = String::new();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("file");
            sums.push_str(&format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))));
        }
        std::fs::write(dir.path().join(SUMS), sums).expect("sums");
        dir
    }

    #[test]
    fn a_whole_set_gives_the_main_dump_first_then_the_tenants() {
        let dir = set(&[
            ("app_t_b.dump", b"b"),
            ("app.dump", b"main"),
            ("app_t_a.dump", b"a"),
            ("app_archive.dump", b"other"),
            ("globals.sql", b"roles"),
        ]);
        let set = open(dir.path(), "app").expect("whole");
        let dbs: Vec<&str> = set.dumps.iter().map(|d| d.database.as_str()).collect();
        assert_eq!(dbs, ["app", "app_t_a", "app_t_b"]);
        assert_eq!(set.others, ["app_archive.dump", "globals.sql"]);
        assert_eq!(set.bytes, 4 + 1 + 1 + 5 + 5);
    }

    #[test]
    fn a_flipped_bit_an_unlisted_file_and_a_missing_main_dump_are_each_named() {
        let dir = set(&[("app.dump", b"main"), ("app_t_a.dump", b"a")]);
        std::fs::write(dir.path().join("app_t_a.dump"), b"c").expect("flip");
        std::fs::write(dir.path().join("stray.dump"), b"x").expect("stray");
        let Err(SetError::Damaged { problems, .. }) = open(dir.path(), "app") else {
            panic!("damaged");
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("app_t_a.dump: checksum mismatch"),
            "{problems:?}"
        );
        assert_eq!(problems[1], "stray.dump: not in SHA256SUMS");

        let Err(SetError::Damaged { problems, .. }) = open(dir.path(), "other") else {
            panic!("no main dump");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("other.dump: missing"))
        );
    }

    #[test]
    fn a_sums_line_may_not_name_a_path_outside_the_set() {
        let lines = format!(
            "{h}  ../etc/passwd\n{h} *x.dump\nnonsense\n",
            h = "a".repeat(64)
        );
        let parsed = parse_sums(&lines);
        assert_eq!(parsed[0], Err(()));
        assert_eq!(parsed[1], Ok(("a".repeat(64), "x.dump")));
        assert_eq!(parsed[2], Err(()));
    }
}
