//! The runtime's deployment commands (`scf db|tenant|audit|queue|agents`) find the
//! deployment's settings, from framework.toml (secrets from the environment) or from an
//! env file, and say exactly what is missing; the development store only with `--dev`.

mod support;

use scf_testkit::services::{postgres, psql};
use std::path::Path;
use std::process::{Command, Output};
use support::database::{Deployment, SECRETS};
use support::host::text;

/// `scf ARGS` in `dir` with a clean environment: no runtime variable leaks in from the
/// machine running the tests.
fn scf(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("scf runs")
}

#[test]
fn without_settings_every_command_refuses_and_creates_nothing() {
    if Path::new("/var/lib/scf/state.json").exists() {
        eprintln!("skipped: this machine is an scf-managed host, whose env file would be found");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["db", "verify"][..],
        &["db", "migrate"],
        &["tenant", "list"],
        &["audit", "verify"],
        &["queue", "status"],
        &["agents", "status"],
        &["backup", "verify", "/backup/ai-supply-chain/latest"],
    ] {
        let out = scf(dir.path(), args, &[]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {said}");
        for needle in [
            "DATABASE_URL is not set",
            "./framework.toml",
            "--config",
            "--dev",
        ] {
            assert!(said.contains(needle), "{args:?} names {needle}: {said}");
        }
        assert!(
            !dir.path().join(".scf").exists(),
            "{args:?} created the development store: {said}"
        );
    }
    let out = scf(dir.path(), &["db", "init", "--dev"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join(".scf").exists(), "--dev asks for the store");
}

/// A deployment whose role exists beforehand, with CREATEDB, as `scf db init` wants.
fn deployment(tag: &str) -> Deployment {
    let d = Deployment::new(tag, "");
    psql(
        &postgres().admin_url(),
        &format!("CREATE ROLE \"{}\" LOGIN CREATEDB", d.role),
    )
    .expect("create the role");
    d
}

impl Deployment {
    /// `scf ARGS` in the deployment's directory, its `DATA_DIR` in there too.
    fn scf(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let data = self.dir.path().join("data");
        let data = data.to_str().expect("utf-8");
        let mut env = env.to_vec();
        env.push(("DATA_DIR", data));
        scf(self.dir.path(), args, &env)
    }

    /// `scf --config FILE ARGS`.
    fn with_config(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let config = self.config.to_str().expect("utf-8");
        let mut all = vec!["--config", config];
        all.extend_from_slice(args);
        self.scf(&all, env)
    }
}

#[test]
fn framework_toml_gives_the_settings_and_a_missing_secret_is_named() {
    let d = deployment("rtcfg");
    let out = d.with_config(&["db", "init"], &SECRETS[..3]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "FIELD_ENCRYPTION_KEY comes from `env:SCF_FIELD_KEY`, and SCF_FIELD_KEY is not set"
        ),
        "{said}"
    );
    for step in [&["db", "init"][..], &["db", "migrate"], &["db", "verify"]] {
        let out = d.with_config(step, &SECRETS);
        let said = text(&out);
        assert!(out.status.success(), "{step:?}: {said}");
        assert!(
            said.contains(&d.database),
            "{step:?} works on framework.toml's database: {said}"
        );
    }
    assert!(!d.dir.path().join(".scf").exists(), "no development store");
}

#[test]
fn an_env_file_gives_the_settings_and_an_unapplied_one_is_refused() {
    let d = deployment("rtenvf");
    let built = d.dir.path().join("out");
    let config = d.config.to_str().expect("utf-8");
    let out = d.scf(&["build", "--config", config, "--out", "out"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let env_file = built.join("host/etc/ai-supply-chain/ai-supply-chain.env");
    let file = env_file.to_str().expect("utf-8");
    let out = d.scf(&["db", "migrate", "--env-file", file], &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("DATABASE_PASSWORD still holds its secret marker"),
        "{said}"
    );
    // What `scf apply` installs: the markers filled in.
    let mut applied = std::fs::read_to_string(&env_file).expect("env file");
    for (reference, value) in SECRETS {
        applied = applied.replace(&format!("@@scf-secret:env:{reference}@@"), value);
    }
    std::fs::write(&env_file, applied).expect("fill the secrets");
    let out = d.scf(&["db", "init", "--env-file", file], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = d.scf(&["db", "migrate", "--env-file", file], &[]);
    let said = text(&out);
    assert!(out.status.success() && said.contains(&d.database), "{said}");
}
