//! Where the real tools live: the venvs `scripts/install-tools` creates under
//! `$SCF_TOOLS_DIR` (default `~/.cache/scf-tools`), PostgreSQL's versioned bin dir, then `PATH`.
//! A missing tool is an error that names the install script; tests never skip silently.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// PostgreSQL's server binaries (initdb, postgres) are not on `PATH` on Debian.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A tool the harness needs is not installed.
#[derive(Debug, thiserror::Error)]
#[error("`{tool}` not found (looked in {searched}): run scripts/install-tools")]
pub struct ToolMissing {
    /// The program name that was looked for.
    pub tool: String,
    /// The directories searched, joined for the message.
    pub searched: String,
}

/// The tools dir shared with `scripts/install-tools`: `$SCF_TOOLS_DIR`, else `~/.cache/scf-tools`.
pub fn tools_dir() -> Option<PathBuf> {
    match env::var_os("SCF_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => env::var_os("HOME").map(|home| Path::new(&home).join(".cache/scf-tools")),
    }
}

fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(tools) = tools_dir() {
        dirs.push(tools.join("venv/bin"));
        dirs.push(tools.join("checkov/bin"));
    }
    dirs.push(PathBuf::from(PG_BIN));
    if let Some(path) = env::var_os("PATH") {
        dirs.extend(env::split_paths(&path));
    }
    // nginx lives in /usr/sbin, which is not on every user's PATH.
    dirs.push(PathBuf::from("/usr/sbin"));
    dirs
}

/// The full path of `tool`, searched in the tools dir, PostgreSQL's bin dir, then `PATH`.
pub fn find(tool: &str) -> Result<PathBuf, ToolMissing> {
    let dirs = search_dirs();
    dirs.iter()
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| ToolMissing {
            tool: tool.to_owned(),
            searched: dirs
                .iter()
                .map(|dir| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        })
}

/// A `Command` for `tool`, found as [`find`] does.
pub fn command(tool: &str) -> Result<Command, ToolMissing> {
    find(tool).map(Command::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_the_install_script() {
        let err = find("scf-testkit-no-such-tool").expect_err("not installed");
        assert!(
            err.to_string().contains("run scripts/install-tools"),
            "{err}"
        );
        assert!(err.searched.contains("/usr/lib/postgresql/15/bin"), "{err}");
    }

    #[test]
    fn installed_tools_are_found() {
        assert!(find("psql").is_ok_and(|path| path.is_absolute()));
    }
}
