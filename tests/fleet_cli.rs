//! `scf plan` and `scf apply` with `[[hosts]]`, where no host answers: they go to the fleet
//! over ssh, name every host they cannot reach within the connect timeout, refuse a
//! `--host` that is not in the inventory, `--root` and a saved plan that is not a fleet's, all
//! before touching anything; and `scf agent` answers a malformed request with a failure in
//! its reply. The fleet on real hosts is `tests/fleet_nodes.rs`.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

/// The example deployment on two hosts whose sshd does not answer: nothing listens on
/// port 1 of loopback, so each connection is refused at once.
fn fleet() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let hosts = "
[[hosts]]
name = \"app-1\"
address = \"127.0.0.1\"
internal_address = \"10.0.0.2\"
port = 1
roles = [\"app\"]

[[hosts]]
name = \"edge\"
address = \"127.0.0.2\"
internal_address = \"10.0.0.3\"
port = 1
roles = [\"proxy\", \"database\", \"cache\", \"monitoring\", \"app\"]
";
    let file = dir.path().join("framework.toml");
    std::fs::write(&file, format!("{example}{hosts}")).expect("write");
    let file = file.to_str().expect("utf-8").to_string();
    (dir, file)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn every_unreachable_host_is_named_within_the_connect_timeout() {
    let (dir, file) = fleet();
    for command in ["plan", "apply"] {
        let mut args = vec![command, "--config", &file, "--connect-timeout", "2s"];
        if command == "apply" {
            args.push("--auto-approve");
        }
        let start = Instant::now();
        let out = support::scf(dir.path(), &args);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        for host in [
            "cannot reach host app-1 at 127.0.0.1",
            "cannot reach host edge at 127.0.0.2",
        ] {
            assert!(shown.contains(host), "{host} in:\n{shown}");
        }
    }
}

#[test]
fn an_unknown_host_a_root_and_a_host_plan_are_refused_before_connecting() {
    let (dir, file) = fleet();
    let out = support::scf(dir.path(), &["plan", "--config", &file, "--host", "app-9"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(
            "--host app-9: framework.toml's [[hosts]] has no such host; the hosts are app-1, edge"
        ),
        "{shown}"
    );
    let out = support::scf(dir.path(), &["plan", "--config", &file, "--root", "/tmp"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("--root /tmp plans one host, but framework.toml has [[hosts]]"),
        "{shown}"
    );
    let plan = dir.path().join("host-plan.json");
    std::fs::write(&plan, r#"{"format_version": 2, "target": "host"}"#).expect("write");
    let out = support::scf(
        dir.path(),
        &["apply", "--config", &file, plan.to_str().expect("utf-8")],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("not a fleet plan"), "{shown}");
    assert!(
        !shown.contains("cannot reach"),
        "no connection was tried: {shown}"
    );
}

#[test]
fn the_agent_answers_a_malformed_request_with_a_failure() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scf"))
        .arg("agent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("scf runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"{not json}\n")
        .expect("write");
    let out = child.wait_with_output().expect("scf ends");
    assert_eq!(out.status.code(), Some(1));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON reply");
    assert_eq!(reply["kind"], "failed");
    assert!(
        reply["error"]
            .as_str()
            .is_some_and(|e| e.contains("one request as JSON on stdin")),
        "{reply}"
    );
}
