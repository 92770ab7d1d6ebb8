//! The runtime's deployment commands (`scf db|tenant|audit|queue|agents|backup`) on the
//! deployment's settings. The runtime reads the environment, and `--env-file FILE`; when
//! neither `--dev`, `--env-file` nor `DATABASE_URL` says where the deployment is, scf
//! finds it, in this order:
//!
//! 1. `--config FILE` (or `SCF_CONFIG`), when given;
//! 2. the env file `scf apply` installed on this host: `/var/lib/scf/state.json` names the
//!    project, whose env file is `/etc/NAME/NAME.env` (what the server runs with);
//! 3. `./framework.toml`.
//!
//! From a framework.toml the settings are the host's env file as `scf build` renders it,
//! each secret resolved from its reference (`env:NAME` from the environment, `file:/PATH`
//! read); one that cannot be is named, with its reference. Nothing found is an error that
//! says where scf looked: the development store is only ever used with `--dev`.

use super::report::{fail, load_or_report};
use crate::config::values::SecretRef;
use crate::host::state::{STATE_DIR, Store};
use crate::model::{EnvValue, Placement, layout, runtime_env};
use crate::secret::ResolveError;
use scf_runtime::cli::Command;
use scf_runtime::vars;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The `--config` value when none is given.
const DEFAULT_CONFIG: &str = "framework.toml";

/// Where the settings were found.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// An installed env file.
    EnvFile(PathBuf),
    /// A framework.toml.
    Config(PathBuf),
}

/// Runs a runtime command, with the deployment's settings for a deployment command.
pub fn run(config: &Path, mut cmd: Command) -> ExitCode {
    let mut computed = BTreeMap::new();
    let process = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    if let Some(settings) = cmd.settings_mut()
        && !settings.dev
        && settings.env_file.is_none()
        && process(vars::DATABASE_URL).is_none()
    {
        match discover(config, Path::new("/")) {
            Ok(Found::EnvFile(path)) => settings.env_file = Some(path),
            Ok(Found::Config(path)) => match config_env(&path) {
                Some(Ok(vars)) => computed = vars,
                Some(Err(message)) => return fail(message),
                None => return ExitCode::FAILURE,
            },
            Err(message) => return fail(message),
        }
    }
    scf_runtime::cli::execute(cmd, &|var| {
        process(var).or_else(|| computed.get(var).cloned())
    })
}

/// Where the deployment's settings are, for a host whose root is `root`.
fn discover(config: &Path, root: &Path) -> Result<Found, String> {
    if config != Path::new(DEFAULT_CONFIG) {
        return Ok(Found::Config(config.to_path_buf()));
    }
    let store = Store::new(root);
    let state = store.load().map_err(|e| {
        format!(
            "cannot read {}: {e}; run as root, or pass --config FILE or --env-file FILE",
            store.path("state.json").display()
        )
    })?;
    if !state.project.is_empty() {
        let env_file = layout::project_env_file(&state.project);
        return Ok(Found::EnvFile(crate::host::fsio::under(root, &env_file)));
    }
    if config.exists() {
        return Ok(Found::Config(config.to_path_buf()));
    }
    Err(format!(
        "no deployment settings found: {} is not set, scf apply installed no deployment on this host ({STATE_DIR}/state.json names none), and there is no ./{DEFAULT_CONFIG}. Run this on the deployment's host, pass --config FILE (with its secrets in the environment) or --env-file /etc/NAME/NAME.env, or pass --dev for the development store under ./.scf",
        vars::DATABASE_URL
    ))
}

/// The runtime's environment on the host framework.toml at `path` describes, secrets
/// resolved; `None` when the file is invalid (its findings are printed), `Some(Err)`
/// naming every secret that cannot be resolved.
fn config_env(path: &Path) -> Option<Result<BTreeMap<String, String>, String>> {
    let compiled = load_or_report(path)?;
    let mut env = BTreeMap::new();
    let mut unresolved = Vec::new();
    for var in runtime_env(&compiled.model, Placement::Host) {
        match var.value {
            EnvValue::Plain(value) => {
                env.insert(var.name.to_owned(), value);
            }
            EnvValue::Secret(reference) => match crate::secret::resolve(&reference) {
                Ok(secret) => {
                    env.insert(var.name.to_owned(), secret.expose().to_owned());
                }
                Err(e) => unresolved.push(unresolved_message(var.name, &reference, &e)),
            },
        }
    }
    if unresolved.is_empty() {
        return Some(Ok(env));
    }
    Some(Err(format!(
        "{} names secrets that cannot be resolved here:\n  {}\n(on the deployment's host, run as root without --config to use the env file scf apply installed)",
        path.display(),
        unresolved.join("\n  ")
    )))
}

fn unresolved_message(var: &str, reference: &SecretRef, e: &ResolveError) -> String {
    match e {
        ResolveError::EnvUnset(name) => {
            format!("{var} comes from `{reference}`, and {name} is not set: export it")
        }
        other => format!("{var} comes from `{reference}`: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::state::State;

    #[test]
    fn an_applied_host_gives_its_env_file_and_an_explicit_config_wins() {
        let root = tempfile::tempdir().expect("temp dir");
        let elsewhere = Path::new("/nonexistent/framework.toml");
        assert!(
            discover(Path::new(DEFAULT_CONFIG), root.path())
                .is_err_and(|e| e.contains("DATABASE_URL is not set") && e.contains("--dev")),
            "nothing applied, no framework.toml here"
        );
        let state = State {
            project: "acme".into(),
            generation: 1,
            ..State::default()
        };
        Store::new(root.path()).save(&state).expect("state");
        assert_eq!(
            discover(Path::new(DEFAULT_CONFIG), root.path()),
            Ok(Found::EnvFile(root.path().join("etc/acme/acme.env")))
        );
        assert_eq!(
            discover(elsewhere, root.path()),
            Ok(Found::Config(elsewhere.to_path_buf()))
        );
    }
}
