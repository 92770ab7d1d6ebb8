//! Nodes booted together and reached over SSH as a deploy reaches them: the test's identity
//! logs in to each with strict host key checking against the known_hosts it was given, and a
//! node whose host key changed is refused, with the new key's fingerprint.

use scf_testkit::node::{self, Fleet, Node};
use std::process::Output;
use std::time::Instant;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn booted_nodes_take_the_test_key_and_pin_their_host_keys() {
    if let Some(why) = node::unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let started = Instant::now();
    let fleet = Fleet::boot(vec![Node::builder("one"), Node::builder("two")]).expect("boot");
    eprintln!("two nodes booted in {:.1?}", started.elapsed());

    let known = std::fs::read_to_string(fleet.known_hosts()).expect("known_hosts");
    for node in fleet.nodes() {
        let line = format!("{} {}", node.address(), node.host_key().expect("host key"));
        assert!(known.lines().any(|l| l == line), "{line} in:\n{known}");
        let out = node
            .ssh(fleet.identity(), fleet.known_hosts())
            .arg("hostname")
            .output()
            .expect("ssh runs");
        assert!(
            out.status.success(),
            "ssh to {}: {}",
            node.name(),
            text(&out)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), node.name());
    }
    let [one, two] = fleet.nodes() else {
        panic!("two nodes")
    };
    assert_ne!(
        one.host_key().expect("one's key"),
        two.host_key().expect("two's key"),
        "every node has host keys of its own"
    );

    // Another key pair is not let in.
    let stranger = tempfile::tempdir().expect("temp dir");
    let stranger = node::Identity::generate(stranger.path()).expect("a second key");
    let out = one
        .ssh(&stranger, fleet.known_hosts())
        .arg("true")
        .output()
        .expect("ssh runs");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Permission denied"), "{}", text(&out));

    // A new host key is refused, naming the key the node now shows; the other node, whose
    // services are its own (its own cgroups), keeps its sshd and its key.
    let sshd = |node: &Node| {
        node.run(&["systemctl", "show", "-p", "MainPID", "ssh.service"])
            .expect("sshd's pid")
    };
    let two_sshd = sshd(two);
    let before = one.host_key_fingerprint().expect("fingerprint");
    one.rekey().expect("rekey");
    let after = one.host_key_fingerprint().expect("new fingerprint");
    assert_ne!(before, after);
    let out = one
        .ssh(fleet.identity(), fleet.known_hosts())
        .arg("true")
        .output()
        .expect("ssh runs");
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") && said.contains(&after),
        "{said}"
    );
    assert_eq!(
        sshd(two),
        two_sshd,
        "restarting one's sshd left two's alone"
    );
    let out = two
        .ssh(fleet.identity(), fleet.known_hosts())
        .arg("true")
        .output()
        .expect("ssh runs");
    assert!(out.status.success(), "{}", text(&out));

    fleet.teardown().expect("teardown");
}
