//! Writing the targets' seeds: files a staged file's check needs that scf leaves to another
//! owner afterwards (the placeholder certificate nginx starts with until the ACME client
//! installs the issued one). A seed is written whole when any of its files is absent, and
//! never touched while they all exist (leaf).

use crate::host::{HostError, fsio};
use crate::model::Model;
use crate::targets::Seed;
use std::path::Path;

/// Writes each seed missing a file under `root`; returns what it wrote, for the operator.
pub(super) fn write(model: &Model, seeds: &[Seed], root: &Path) -> Result<Vec<String>, HostError> {
    let mut wrote = Vec::new();
    for seed in seeds {
        let absent = seed
            .files
            .iter()
            .any(|(path, _)| !fsio::under(root, path).exists());
        if !absent {
            continue;
        }
        let contents =
            (seed.make)(model).map_err(|e| HostError::io(&seed.what, std::io::Error::other(e)))?;
        for ((path, mode), bytes) in seed.files.iter().zip(contents) {
            let at = fsio::under(root, path);
            if let Some(dir) = at.parent() {
                fsio::create_dirs(dir)
                    .map_err(|e| HostError::io(format!("create {}", dir.display()), e))?;
            }
            fsio::write_file(&at, &bytes, *mode)
                .map_err(|e| HostError::io(format!("write {path}"), e))?;
        }
        let paths: Vec<&str> = seed.files.iter().map(|(p, _)| p.as_str()).collect();
        wrote.push(format!("{} ({})", seed.what, paths.join(", ")));
    }
    Ok(wrote)
}
