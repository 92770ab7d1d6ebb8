//! The ufw script: `bash -n` and shellcheck for the example and every profile, and its
//! idempotence, run against a stand-in `ufw` that records its calls (no ufw here; the rules
//! themselves are reviewed in the snapshots). Its state file lives on a tmpfs over /var/lib
//! inside a private mount namespace, so the host is untouched.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = "host/usr/local/lib/ai-supply-chain/firewall.sh";

/// Builds `file` and returns its firewall script.
fn build(dir: &Path, file: &Path) -> PathBuf {
    support::build(dir, file).join(SCRIPT)
}

#[test]
fn every_script_passes_bash_n_and_shellcheck() {
    let shellcheck =
        scf_testkit::tools::find("shellcheck").expect("shellcheck: run scripts/install-tools");
    let scenarios = support::scenarios();
    let hosts = scenarios.iter().flat_map(|(scenario, dir, file)| {
        support::hosts(scenario, &support::build(dir.path(), file))
    });
    for (name, root) in hosts {
        let script = root.join(SCRIPT);
        if name == "profile-kubernetes" {
            assert!(!script.exists(), "no firewall without [host]");
            continue;
        }
        let bash = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("bash");
        support::silent(&format!("{name}: bash -n"), &bash);
        let check = Command::new(&shellcheck)
            .arg(&script)
            .output()
            .expect("shellcheck");
        support::silent(&format!("{name}: shellcheck"), &check);
    }
}

/// Builds the example with `edit` applied and returns the script.
fn variant(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let file = dir.join("framework.toml");
    std::fs::write(&file, edit(example)).expect("write");
    build(dir, &file)
}

#[test]
fn reruns_change_nothing_and_dropped_rules_are_deleted() {
    let work = tempfile::tempdir().expect("temp dir");
    let first = variant(&work.path().join("a"), |t| t);
    let second = variant(&work.path().join("b"), |t| {
        t.replace("ssh = true", "ssh = false")
            .replace("10.0.0.0/8", "192.168.0.0/16")
    });
    let shims = work.path().join("shims");
    std::fs::create_dir(&shims).expect("shims");
    let log = work.path().join("ufw.log");
    let ufw = shims.join("ufw");
    std::fs::write(
        &ufw,
        format!("#!/bin/sh\necho \"ufw $*\" >>'{}'\n", log.display()),
    )
    .expect("shim");
    std::fs::set_permissions(&ufw, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let script = format!(
        "set -e; mount -t tmpfs scf-test /var/lib; bash '{a}'; echo RUN >>'{log}'; bash '{a}'; echo RUN >>'{log}'; bash '{b}'; cat /var/lib/scf/ai-supply-chain/firewall.rules",
        a = first.display(),
        b = second.display(),
        log = log.display(),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", shims.display()),
        )
        .output()
        .expect("unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "allow 80/tcp\nallow 443/tcp\nallow proto tcp from 192.168.0.0/16 to any port 5432\nallow proto tcp from 192.168.0.0/16 to any port 6379\n",
        "the state records the rules of the last run"
    );
    let calls = std::fs::read_to_string(&log).expect("log");
    let runs: Vec<&str> = calls.split("RUN\n").collect();
    let tag = "comment scf ai-supply-chain";
    assert_eq!(
        runs[0],
        format!(
            "ufw default deny incoming\nufw default allow outgoing\n\
             ufw limit 22/tcp {tag}\nufw allow 80/tcp {tag}\nufw allow 443/tcp {tag}\n\
             ufw allow proto tcp from 10.0.0.0/8 to any port 5432 {tag}\n\
             ufw allow proto tcp from 10.0.0.0/8 to any port 6379 {tag}\nufw --force enable\n"
        )
    );
    assert_eq!(
        runs[1], runs[0],
        "a rerun deletes nothing and asks for the same rules"
    );
    let deleted: Vec<&str> = runs[2]
        .lines()
        .filter(|l| l.starts_with("ufw delete"))
        .collect();
    assert_eq!(
        deleted,
        [
            "ufw delete limit 22/tcp",
            "ufw delete allow proto tcp from 10.0.0.0/8 to any port 5432",
            "ufw delete allow proto tcp from 10.0.0.0/8 to any port 6379",
        ]
    );
    assert!(runs[2].ends_with("ufw --force enable\n"), "{}", runs[2]);
}
