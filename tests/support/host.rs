//! A host deployment under test: a framework.toml on the single-tenant profile, a root in
//! a temp dir, a recording shim in place of systemctl/nginx/systemd-analyze, and fixed
//! secrets (a canary) in the environment of every `scf` run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A deployment under test: a framework.toml, a root, a shim and its log, fixed secrets.
pub struct Host {
    /// The temp dir holding everything (the working directory of `scf`).
    pub dir: tempfile::TempDir,
    /// Its framework.toml.
    pub config: PathBuf,
    /// The root the host's paths are under.
    pub root: PathBuf,
    /// The recording shim given as `--service-manager`.
    pub shim: PathBuf,
    /// What the shim recorded, one command a line.
    pub log: PathBuf,
    /// The secrets' environment.
    pub secrets: BTreeMap<&'static str, String>,
}

impl Host {
    /// A starter on the single-tenant profile, an empty root, the shim; `canary` is the
    /// database password and the stem of the other secrets.
    pub fn new(canary: &str) -> Self {
        let (dir, config) = super::starter("single-tenant");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).expect("root");
        let log = dir.path().join("shim.log");
        let shim = dir.path().join("shim");
        std::fs::write(
            &shim,
            "#!/bin/sh\necho \"$*\" >> \"$SHIM_LOG\"\nif [ -n \"$SHIM_FAIL\" ] && [ \"$1\" = \"$SHIM_FAIL\" ]; then echo \"shim: $1 fails on request\" >&2; exit 1; fi\n[ -n \"$SHIM_SLEEP\" ] && sleep \"$SHIM_SLEEP\"\nexit 0\n",
        )
        .expect("shim");
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut std::fs::metadata(&shim).expect("meta").permissions(),
            0o755,
        );
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let secrets = BTreeMap::from([
            ("SCF_DB_PASSWORD", canary.to_string()),
            ("SCF_REDIS_PASSWORD", format!("{canary}-redis")),
            ("SCF_SECRET_KEY", format!("{canary}-key")),
            ("SCF_FIELD_KEY", format!("{canary}-field")),
            ("SCF_DB_MONITOR_PASSWORD", format!("{canary}-monitor")),
        ]);
        Host {
            dir,
            config,
            root,
            shim,
            log,
            secrets,
        }
    }

    /// Runs `scf ARGS --config FILE` with the secrets and `env`.
    pub fn scf(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        cmd.output().expect("scf runs")
    }

    /// `scf ARGS --config FILE` with the secrets, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scf"));
        cmd.args(args)
            .args(["--config", self.config.to_str().expect("utf-8")])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("SHIM_LOG", &self.log)
            .envs(self.secrets.iter().map(|(k, v)| (*k, v.as_str())));
        cmd
    }

    /// The root, as an argument.
    pub fn root_arg(&self) -> String {
        self.root.display().to_string()
    }

    /// `scf apply --root ROOT --service-manager SHIM --auto-approve --config FILE` with the
    /// secrets, not yet run.
    pub fn apply_command(&self) -> Command {
        let root = self.root_arg();
        let shim = self.shim.display().to_string();
        self.command(&[
            "apply",
            "--root",
            &root,
            "--service-manager",
            &shim,
            "--auto-approve",
        ])
    }

    /// `scf apply --root ROOT --service-manager SHIM --auto-approve EXTRA…`.
    pub fn apply(&self, extra: &[&str]) -> Output {
        self.apply_command().args(extra).output().expect("scf runs")
    }

    /// `scf plan --root ROOT --detailed-exitcode EXTRA…`.
    pub fn plan(&self, extra: &[&str]) -> Output {
        let root = self.root_arg();
        let mut args = vec!["plan", "--root", &root, "--detailed-exitcode"];
        args.extend_from_slice(extra);
        self.scf(&args, &[])
    }

    /// Replaces the first `from` in framework.toml with `to`.
    pub fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).expect("read");
        assert!(text.contains(from), "the starter has {from:?}");
        std::fs::write(&self.config, text.replacen(from, to, 1)).expect("write");
    }

    /// The commands the shim ran, one a line.
    pub fn shim_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every managed file under the root (not scf's own records), with its bytes.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        super::tree(&self.root)
            .into_iter()
            .filter(|(p, _)| !p.starts_with("var/lib/scf/"))
            .collect()
    }
}

/// stdout and stderr of a run.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
