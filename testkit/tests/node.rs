//! The real-host harness itself: a node boots with systemd as PID 1 in a namespace of its
//! own, runs commands, installs a package through the apt proxy and has no other way out.

use scf_testkit::node::{self, Node};

#[test]
fn a_node_boots_runs_commands_and_installs_through_the_proxy() {
    if let Some(why) = node::unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let marker = std::env::temp_dir().join(format!("scf-node-bind-{}", std::process::id()));
    std::fs::write(&marker, "from the machine\n").expect("write the bind source");
    let node = Node::builder("harness")
        .bind_ro(&marker, "/opt/marker")
        .boot()
        .expect("boot");

    assert_eq!(
        node.run(&["cat", "/proc/1/comm"]).expect("pid 1").trim(),
        "systemd"
    );
    assert_eq!(node.run(&["hostname"]).expect("hostname").trim(), "harness");
    assert_eq!(
        node.run(&["cat", "/opt/marker"]).expect("bind"),
        "from the machine\n"
    );
    let failing = node
        .exec(&["sh", "-c", "echo out; echo err >&2; exit 3"])
        .expect("exec");
    assert_eq!(
        (
            failing.status,
            failing.stdout.as_str(),
            failing.stderr.as_str()
        ),
        (3, "out\n", "err\n")
    );
    node.write("/root/in", b"copied in", 0o600).expect("write");
    assert_eq!(
        node.run(&["cat", "/root/in"]).expect("read back"),
        "copied in"
    );

    // Its own address on the bridge, and no route beyond the nodes' subnet.
    let addresses = node
        .run(&["ip", "-4", "-o", "addr", "show", "host0"])
        .expect("ip");
    assert!(
        addresses.contains(&format!("{}/24", node.address())),
        "{addresses}"
    );
    let out = node
        .exec(&["ip", "route", "get", "192.0.2.1"])
        .expect("ip route");
    assert!(
        !out.success() && out.stderr.contains("unreachable"),
        "{out:?}"
    );

    // apt reaches the mirror only through the proxy on the machine's end of the bridge.
    node.run(&["apt-get", "update", "-q"])
        .expect("apt-get update through the proxy");
    node.run(&[
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "hello",
    ])
    .expect("apt-get install through the proxy");
    assert!(
        node.run(&["hello"])
            .expect("hello")
            .contains("Hello, world!")
    );
    assert!(
        node.run(&["systemctl", "is-active", "ssh"])
            .expect("sshd")
            .contains("active")
    );

    let netns = format!("/run/netns/scf-node-{}", node.address().octets()[3]);
    let root = node.path("/");
    assert!(std::path::Path::new(&netns).exists());
    node.teardown().expect("teardown");
    assert!(
        !std::path::Path::new(&netns).exists(),
        "namespace left behind"
    );
    assert!(!root.exists(), "overlay left behind");
    let _ = std::fs::remove_file(marker);
}
