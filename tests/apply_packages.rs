//! Debian packages in `scf plan` and `scf apply` on a host root that has a dpkg status: the
//! plan lists exactly the missing packages, apply sends apt-get to the service-manager shim
//! before any file is written (with every daemon held), a failed install writes nothing,
//! and no package scf did not ask for is touched. The shim records what apt-get would have
//! seen; real installs are tested on booted Debian nodes.

mod support;

use scf::model::Model;
use scf::targets::{Origin, packages};
use support::host::{Host, text};

/// Every package the single-tenant starter (and the example) needs on its host.
const NEEDED: &[&str] = &[
    "nginx",
    "postgresql-15",
    "postgresql-client-15",
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "redis-server",
    "systemd",
    "ufw",
];

/// Installed on the root from the start: two needed packages and one scf never asks for.
const PRESENT: &[&str] = &["nginx", "systemd", "vim"];

/// A shim that records each command and, for apt-get, what apt-get would have found: its
/// environment, what `policy-rc.d` answers, and how many files are under the root outside
/// `/var/lib` (dpkg's and scf's records). With `SHIM_APT_FAIL` set, `apt-get install`
/// fails as apt does.
const SHIM: &str = r#"#!/bin/sh
echo "$*" >> "$SHIM_LOG"
if [ "$1" = apt-get ]; then
    echo "  DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "$SHIM_LOG"
    "$SHIM_ROOT/usr/sbin/policy-rc.d" nginx start >/dev/null 2>&1
    echo "  policy-rc.d exits $?" >> "$SHIM_LOG"
    files=$(find "$SHIM_ROOT" -type f ! -path "$SHIM_ROOT/var/lib/*" ! -path "$SHIM_ROOT/usr/sbin/policy-rc.d" | wc -l)
    echo "  files under the root: $files" >> "$SHIM_LOG"
    if [ -n "$SHIM_APT_FAIL" ] && [ "$2" = install ]; then
        echo "E: Unable to locate package prometheus-alertmanager" >&2
        exit 100
    fi
fi
exit 0
"#;

/// A dpkg status paragraph.
fn paragraph(name: &str, status: &str) -> String {
    format!(
        "Package: {name}\nStatus: {status}\nPriority: optional\nVersion: 1.0-1\nDescription: {name}\n a continuation line\n"
    )
}

/// Makes the host's root a Debian system with `installed` installed, `ufw` removed with its
/// config files left, and the recording shim of [`SHIM`].
fn debian(host: &Host, installed: &[&str]) {
    let mut status: Vec<String> = installed
        .iter()
        .map(|name| paragraph(name, "install ok installed"))
        .collect();
    if !installed.contains(&"ufw") {
        status.push(paragraph("ufw", "deinstall ok config-files"));
    }
    let path = host.root.join("var/lib/dpkg/status");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dpkg dir");
    std::fs::write(path, status.join("\n")).expect("status");
    std::fs::write(&host.shim, SHIM).expect("shim");
}

/// `scf apply --root … --service-manager SHIM --auto-approve EXTRA…` with the shim's root.
fn apply(host: &Host, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    host.apply_command()
        .args(extra)
        .env("SHIM_ROOT", &host.root)
        .envs(env.iter().copied())
        .output()
        .expect("scf runs")
}

fn missing() -> Vec<&'static str> {
    NEEDED
        .iter()
        .copied()
        .filter(|n| !PRESENT.contains(n))
        .collect()
}

#[test]
fn missing_packages_are_planned_and_installed_before_any_file() {
    let host = Host::new("canary-pkg");
    debian(&host, PRESENT);
    let root = host.root_arg();
    let planned = host.scf(&["plan", "--root", &root, "-o", "plan.json"], &[]);
    assert!(planned.status.success(), "{}", text(&planned));
    let shown = text(&planned);
    let listed: Vec<&str> = shown
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("+ package:"))
        .collect();
    let expected: Vec<String> = missing()
        .iter()
        .map(|n| format!("{n} (from the distribution's archive)"))
        .collect();
    assert_eq!(listed, expected, "{shown}");
    assert!(
        !shown.contains("package:vim") && !shown.contains("package:nginx"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "install packages: {} (apt-get, daemons held until their config is in place)",
            missing().join(" ")
        )),
        "{shown}"
    );
    assert!(
        shown.contains("systemctl enable --now prometheus-node-exporter.service")
            && !shown.contains("systemctl enable --now nginx.service"),
        "a new package's units start, an installed one's are left: {shown}"
    );
    assert!(
        shown.contains("Note: package grafana is not installed, and scf does not install it"),
        "{shown}"
    );

    // The saved plan round-trips: apply recomputes it and carries it out.
    let applied = apply(&host, &["plan.json"], &[]);
    assert!(applied.status.success(), "{}", text(&applied));
    let log = host.shim_log();
    let lines: Vec<&str> = log.lines().collect();
    let install = format!(
        "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold {}",
        missing().join(" ")
    );
    let seen = [
        "  DEBIAN_FRONTEND=noninteractive",
        "  policy-rc.d exits 101",
        "  files under the root: 0",
    ];
    assert_eq!(lines[0], "apt-get update -q", "{log}");
    assert_eq!(lines[1..4], seen, "{log}");
    assert_eq!(lines[4], install, "{log}");
    assert_eq!(lines[5..8], seen, "{log}");
    assert_eq!(
        log.matches("apt-get").count(),
        2,
        "apt-get runs twice and never removes: {log}"
    );
    assert!(
        lines[8..].iter().any(|l| l.starts_with("nginx -t")),
        "the staged files are checked after the install: {log}"
    );
    assert!(
        !host.root.join("usr/sbin/policy-rc.d").exists(),
        "the policy-rc.d scf wrote is gone"
    );
    assert!(
        host.root
            .join("etc/nginx/sites-available/ai-supply-chain")
            .exists(),
        "the files follow"
    );

    // Once apt-get has installed them, nothing is left to do.
    let mut all = NEEDED.to_vec();
    all.push("vim");
    debian(&host, &all);
    let again = host.plan(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains("Plan: 0 to add, 0 to change, 0 to destroy."),
        "{}",
        text(&again)
    );
}

#[test]
fn a_failed_install_stops_before_any_file_and_releases_the_daemons() {
    let host = Host::new("canary-pkg-fail");
    debian(&host, PRESENT);
    let before = host.files();
    let failed = apply(&host, &[], &[("SHIM_APT_FAIL", "1")]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let shown = text(&failed);
    assert!(
        shown.contains("installing the packages failed, so no file was written")
            && shown.contains("apt-get install")
            && shown.contains("(exit 100)")
            && shown.contains("E: Unable to locate package prometheus-alertmanager"),
        "the step and apt's output are named: {shown}"
    );
    assert_eq!(
        host.files(),
        before,
        "nothing was written, and the policy-rc.d scf wrote is removed"
    );
    assert!(
        !host.shim_log().contains("nginx -t"),
        "the apply stopped at the install: {}",
        host.shim_log()
    );
}

#[test]
fn a_policy_rc_d_already_there_is_left_as_it_is() {
    let host = Host::new("canary-pkg-policy");
    debian(&host, PRESENT);
    let policy = host.root.join("usr/sbin/policy-rc.d");
    std::fs::create_dir_all(policy.parent().expect("dir")).expect("dir");
    let own = "#!/bin/sh\n# the operator's own\nexit 104\n";
    std::fs::write(&policy, own).expect("policy-rc.d");
    std::fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let applied = apply(&host, &[], &[]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(
        host.shim_log().contains("  policy-rc.d exits 104"),
        "{}",
        host.shim_log()
    );
    assert_eq!(std::fs::read_to_string(&policy).expect("kept"), own);
}

#[test]
fn without_a_service_manager_a_root_gets_no_packages_installed() {
    let host = Host::new("canary-pkg-skip");
    debian(&host, PRESENT);
    let root = host.root_arg();
    let applied = host.scf(&["apply", "--root", &root, "--auto-approve"], &[]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(
        text(&applied).contains("skipped") && host.shim_log().is_empty(),
        "{}",
        text(&applied)
    );
    assert!(!host.root.join("usr/sbin/policy-rc.d").exists());
    assert_eq!(
        host.plan(&[]).status.code(),
        Some(2),
        "the packages are still missing, and planned again"
    );
}

/// The example, with `extra` TOML layered over it.
fn model(extra: &str) -> Model {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml");
    let file = dir.path().join("framework.toml");
    let text = format!(
        "[project]\nname = \"ai-supply-chain\"\nextends = \"{}\"\n{extra}",
        example.display()
    );
    std::fs::write(&file, text).expect("write framework.toml");
    match scf::compile::load(&file) {
        Ok(compiled) => compiled.model,
        Err(invalid) => panic!("invalid test model: {:?}", invalid.diags),
    }
}

fn archive(model: &Model) -> Vec<&'static str> {
    packages(model)
        .iter()
        .filter(|p| p.origin == Origin::Archive)
        .map(|p| p.name)
        .collect()
}

#[test]
fn a_host_needs_the_packages_of_what_runs_on_it_each_once() {
    let example = model("");
    assert_eq!(archive(&example), NEEDED);
    let all = packages(&example);
    let units = |name: &str| {
        all.iter()
            .find(|p| p.name == name)
            .map(|p| p.units.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(
        units("prometheus-node-exporter"),
        Some(vec!["prometheus-node-exporter.service"])
    );
    assert_eq!(
        units("ufw"),
        Some(vec![]),
        "the firewall script enables ufw"
    );
    assert!(
        all.iter()
            .any(|p| p.name == "grafana" && matches!(p.origin, Origin::Elsewhere(_))),
        "Grafana is declared, from elsewhere"
    );

    let external = model(
        "[database]\nmanaged = false\nhost = \"10.0.0.5\"\n[backup]\ns3 = \"s3://bucket/prefix\"\n",
    );
    let names = archive(&external);
    assert!(
        names.contains(&"awscli") && names.contains(&"postgresql-client-15"),
        "the backups still dump, and copy to S3: {names:?}"
    );
    assert!(
        !names.contains(&"postgresql-15") && !names.contains(&"prometheus-postgres-exporter"),
        "an external database runs elsewhere: {names:?}"
    );
}
