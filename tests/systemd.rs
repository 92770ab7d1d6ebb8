//! The systemd units and tmpfiles.d entry, judged by the real tools for the example and
//! every profile: `systemd-analyze verify` silent, the exposure score of every service at
//! most 2.0, and `systemd-tmpfiles --create` making the shared directories.

mod support;

use scf::targets::systemd::MAX_EXPOSURE;
use scf_testkit::validators::systemd;
use std::path::{Path, PathBuf};
use std::process::Command;

fn units(out: &Path) -> Vec<PathBuf> {
    let dir = out.join("host/etc/systemd/system");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut units: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
    units.sort();
    units
}

#[test]
fn every_unit_verifies_and_every_service_scores_at_most_2() {
    let mut scored = Vec::new();
    let (backups, runtime) = (
        [
            "ai-supply-chain-backup-full.service",
            "ai-supply-chain-backup-full.timer",
            "ai-supply-chain-backup-verify.service",
            "ai-supply-chain-backup-verify.timer",
            "ai-supply-chain-backup.service",
            "ai-supply-chain-backup.timer",
        ],
        "ai-supply-chain.service",
    );
    let scenarios = support::scenarios();
    let hosts = scenarios.iter().flat_map(|(scenario, dir, file)| {
        support::hosts(scenario, &support::build(dir.path(), file))
    });
    for (name, root) in hosts {
        let units = units(&root);
        // The backups go with the database, the runtime with the app role.
        let expected: Vec<&str> = match name.as_str() {
            "profile-kubernetes" | "fleet-edge" => Vec::new(),
            "fleet-app-1" | "fleet-app-2" => vec![runtime],
            "fleet-data" => backups.to_vec(),
            _ => backups.iter().copied().chain([runtime]).collect(),
        };
        let names: Vec<String> = units
            .iter()
            .filter_map(|u| Some(u.file_name()?.to_str()?.to_string()))
            .collect();
        assert_eq!(names, expected, "{name}");
        if units.is_empty() {
            continue;
        }
        let refs: Vec<&Path> = units.iter().map(PathBuf::as_path).collect();
        systemd::verify(&refs).unwrap_or_else(|e| panic!("{name}: {e}"));
        for unit in units
            .iter()
            .filter(|u| u.extension().is_some_and(|e| e == "service"))
        {
            let score = systemd::security(unit).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                score <= MAX_EXPOSURE,
                "{name}: {} scores {score}",
                unit.display()
            );
            scored.push(format!("{name} {}: {score}", unit.display()));
        }
    }
    eprintln!("exposure:\n{}", scored.join("\n"));
}

/// A database and Redis on other hosts: addresses are allowed by address, a name is
/// explained in a comment and left to `internal_cidr`.
#[test]
fn remote_peers_enter_the_allow_list_by_address_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let text = example
        .replace(
            "[database]\n",
            "[database]\nhost = \"10.1.2.3\"\nmanaged = false\n",
        )
        .replace("[redis]\n", "[redis]\nhost = \"cache.internal\"\n")
        .replace(
            "listen = \"127.0.0.1:5000\"",
            "listen = \"192.168.7.2:5000\"",
        );
    let file = dir.path().join("framework.toml");
    std::fs::write(&file, text).expect("write");
    let out = support::build(dir.path(), &file);
    let unit_path = out.join("host/etc/systemd/system/ai-supply-chain.service");
    let unit = std::fs::read_to_string(&unit_path).expect("unit");
    assert!(
        unit.contains("\nIPAddressAllow=localhost 192.168.7.2 10.1.2.3 10.0.0.0/8\n"),
        "{unit}"
    );
    assert!(
        unit.contains("redis.host `cache.internal` is a name"),
        "{unit}"
    );
    assert!(
        unit.contains("After=network-online.target redis-server.service\n"),
        "{unit}"
    );
    systemd::verify(&[&unit_path]).expect("verify");
    let score = systemd::security(&unit_path).expect("score");
    assert!(score <= MAX_EXPOSURE, "{score}");
}

/// With an S3 copy the backup units drop the IP allow-list (S3 has no fixed addresses),
/// read AWS credentials from an optional file, and still score at most 2.0.
#[test]
fn an_s3_copy_opens_only_the_backup_units() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let text = example.replace(
        "# s3 = \"s3://bucket/prefix\"",
        "s3 = \"s3://bucket/prefix\"",
    );
    let file = dir.path().join("framework.toml");
    std::fs::write(&file, text).expect("write");
    let units = units(&support::build(dir.path(), &file));
    let refs: Vec<&Path> = units.iter().map(PathBuf::as_path).collect();
    systemd::verify(&refs).expect("verify");
    for unit in units
        .iter()
        .filter(|u| u.extension().is_some_and(|e| e == "service"))
    {
        let text = std::fs::read_to_string(unit).expect("unit");
        // The restore drill copies nothing off-site: it keeps its allow-list.
        let name = unit.to_string_lossy();
        let copies = name.contains("-backup") && !name.contains("-backup-verify");
        assert_eq!(
            !text.contains("IPAddressDeny=any"),
            copies,
            "{}",
            unit.display()
        );
        assert_eq!(
            text.contains("EnvironmentFile=-/etc/ai-supply-chain/backup.env"),
            copies
        );
        let score = systemd::security(unit).expect("score");
        assert!(score <= MAX_EXPOSURE, "{}: {score}", unit.display());
    }
}

#[test]
fn what_the_sandbox_cannot_honour_is_refused() {
    let fixture = "tests/fixtures/invalid/host-sandbox.toml";
    let out = support::scf(&support::root(), &["validate", fixture]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for code in ["scf::host-by-name", "scf::home-dir", "scf::backup-dir"] {
        assert!(stderr.contains(code), "{code} missing: {stderr}");
    }
}

#[test]
fn tmpfiles_creates_the_shared_directories() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (_, dir, file) = support::scenarios().swap_remove(0);
    let out = support::build(dir.path(), &file);
    let conf = out.join("host/etc/tmpfiles.d/ai-supply-chain.conf");
    let root = tempfile::tempdir().expect("root");
    std::fs::create_dir(root.path().join("etc")).expect("etc");
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nframework:x:990:990::/nonexistent:/usr/sbin/nologin\n",
    )
    .expect("passwd");
    std::fs::write(
        root.path().join("etc/group"),
        "root:x:0:\nframework:x:990:\nwww-data:x:33:\n",
    )
    .expect("group");
    let ran = Command::new("systemd-tmpfiles")
        .arg("--create")
        .arg(format!("--root={}", root.path().display()))
        .arg(&conf)
        .output()
        .expect("systemd-tmpfiles");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(ran.status.success() && said.is_empty(), "{said}");
    let expect = [
        ("opt/ai-supply-chain/static", 0o755, 0, 0),
        ("opt/ai-supply-chain/uploads", 0o2750, 990, 33),
        ("backup/ai-supply-chain", 0o750, 990, 990),
    ];
    for (path, mode, uid, gid) in expect {
        let meta = std::fs::metadata(root.path().join(path)).expect(path);
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{path}");
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{path}");
    }
}

/// With `[tls] acme`, the renewal unit and its timer verify, and the unit, which runs as
/// root and reaches the ACME server at any address, still scores at most 2.0.
#[test]
fn the_acme_renewal_unit_verifies_and_scores_at_most_2() {
    let (dir, file) = support::acme_example();
    let system = support::build(dir.path(), &file).join("host/etc/systemd/system");
    let (service, timer) = (
        system.join("scf-acme.service"),
        system.join("scf-acme.timer"),
    );
    systemd::verify(&[&service, &timer]).expect("verify");
    let score = systemd::security(&service).expect("score");
    eprintln!("exposure of scf-acme.service: {score}");
    assert!(score <= MAX_EXPOSURE, "{score}");
}
