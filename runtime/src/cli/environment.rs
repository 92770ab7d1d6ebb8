//! Where a deployment command (`db`, `tenant`, `audit`, `queue`, `agents`) finds its
//! settings: the process environment, over the deployment's env file (`--env-file`, the
//! file the host's systemd unit loads). Without `DATABASE_URL` in either, the command
//! refuses to run unless `--dev` asks for the development store: it never creates an empty
//! SQLite database in `./.scf` by accident and then fails on "no such table".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::common::CliError;
use crate::settings::parse::Lookup;
use crate::vars;

/// Where a deployment command's settings come from.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// Development, as `scf run --dev`: without DATABASE_URL, the development store
    /// (SQLite and keys under ./.scf) instead of a deployment's database.
    #[arg(long, global = true, conflicts_with = "env_file")]
    pub dev: bool,
    /// Read the settings from this env file, as the host's systemd unit does (scf apply
    /// installs it as /etc/NAME/NAME.env); variables set in the environment win.
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// The settings a deployment command reads.
pub(super) struct Environment<'a> {
    process: Lookup<'a>,
    file: BTreeMap<String, String>,
    dev: bool,
}

impl SettingsArgs {
    /// The environment these arguments name, checked to hold a deployment's database
    /// unless `--dev` was given.
    pub(super) fn environment<'a>(&self, process: Lookup<'a>) -> Result<Environment<'a>, CliError> {
        let file = match &self.env_file {
            Some(path) => read_env_file(path)?,
            None => BTreeMap::new(),
        };
        let env = Environment {
            process,
            file,
            dev: self.dev,
        };
        if !self.dev && env.get(vars::DATABASE_URL).is_none() {
            return Err(CliError::Failed(match &self.env_file {
                Some(path) => format!(
                    "{} is set neither in the environment nor in {}: is it the deployment's env file (/etc/NAME/NAME.env)?",
                    vars::DATABASE_URL,
                    path.display()
                ),
                None => format!(
                    "{} is not set, so there is no deployment database to work on: pass --env-file /etc/NAME/NAME.env (the file scf apply installs), set {} and the other variables the server runs with, or pass --dev for the development store under ./.scf",
                    vars::DATABASE_URL,
                    vars::DATABASE_URL
                ),
            }));
        }
        Ok(env)
    }
}

impl Environment<'_> {
    /// This environment as the settings read it.
    pub(super) fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |var| self.get(var)
    }

    /// A variable: the process's, else the env file's. Under `--dev` the environment is
    /// development's whatever `ENVIRONMENT` says, so the settings take the dev defaults.
    fn get(&self, var: &str) -> Option<String> {
        if self.dev && var == vars::ENVIRONMENT {
            return Some("development".to_owned());
        }
        (self.process)(var)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| self.file.get(var).cloned())
    }
}

/// `NAME=VALUE` lines, as systemd's `EnvironmentFile=` reads the file scf writes: blank
/// lines and `#` comments skipped, one pair of surrounding quotes removed.
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            " (it holds the secrets, mode 0600: run as root)"
        } else {
            ""
        };
        CliError::Failed(format!("cannot read {}: {e}{hint}", path.display()))
    })?;
    let mut vars = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let Some((name, value)) = line.split_once('=') else {
            return Err(CliError::Failed(format!("{}: expected NAME=VALUE", at())));
        };
        let value = unquote(value.trim());
        if value.starts_with(vars::SECRET_MARKER) {
            return Err(CliError::Failed(format!(
                "{}: {} still holds its secret marker: this is a built file, not the one scf apply installed with the secrets filled in",
                at(),
                name.trim()
            )));
        }
        vars.insert(name.trim().to_owned(), value.to_owned());
    }
    Ok(vars)
}

fn unquote(value: &str) -> &str {
    for quote in ['\'', '"'] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}
