//! Backups proven by restore on a real host: one bare Debian 12 node (systemd-nspawn, as in
//! `host_node.rs`), one `scf apply` of the example, then the daily backup and the restore
//! drill started as their timers start them (`systemctl start`, so in their sandboxes, as
//! their users). Each writes its metrics file in node-exporter's textfile directory, and
//! node-exporter exports them; a set with a damaged dump fails the drill, which says so in
//! its metrics. Skipped, saying why, where nodes cannot run; CI runs it.

use scf_testkit::node::{self, Node};
use std::path::Path;

const SCF: &str = "/opt/scf-under-test/scf";
const TEXTFILES: &str = "/var/lib/prometheus/node-exporter";
const SECRETS: &str = "SCF_DB_PASSWORD=node-db-pw SCF_REDIS_PASSWORD=node-redis-pw \
     SCF_SECRET_KEY=node-secret-key-0123456789abcdef0123 \
     SCF_FIELD_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
     SCF_DB_MONITOR_PASSWORD=node-monitor-pw";

/// `systemctl start UNIT` (a oneshot: returns once it finished), and its journal.
fn start(node: &Node, unit: &str) -> (bool, String) {
    let started = node.exec(&["systemctl", "start", unit]).expect("systemctl");
    let journal = node
        .exec(&[
            "journalctl",
            "-u",
            unit,
            "--no-pager",
            "-o",
            "cat",
            "-n",
            "40",
        ])
        .expect("journalctl")
        .stdout;
    (started.success(), journal)
}

/// node-exporter's metrics, as the node itself reads them (bash's /dev/tcp).
fn exported(node: &Node) -> String {
    node.run(&[
        "bash",
        "-c",
        "exec 3<>/dev/tcp/127.0.0.1/9100 && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3",
    ])
    .expect("node-exporter's metrics")
}

#[test]
fn the_backup_and_the_restore_drill_run_as_units_and_node_exporter_exports_their_metrics() {
    let Some(node) = node::boot_with("backup", env!("CARGO_BIN_EXE_scf"), SCF) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    node.install_self_signed(
        "api.example.com",
        dir.path(),
        "/etc/ssl/scf/fullchain.pem",
        "/etc/ssl/scf/privkey.pem",
    )
    .expect("a certificate for nginx");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml"),
    )
    .expect("the example");
    node.write("/root/framework.toml", example.as_bytes(), 0o600)
        .expect("framework.toml");
    let apply = node
        .exec(&[
            "sh",
            "-c",
            &format!("cd /root && {SECRETS} {SCF} apply --auto-approve 2>&1"),
        ])
        .expect("scf apply");
    assert!(apply.success(), "scf apply:\n{}", apply.stdout);
    let timers = node
        .run(&[
            "systemctl",
            "is-enabled",
            "ai-supply-chain-backup-verify.timer",
        ])
        .expect("is-enabled");
    assert_eq!(timers.trim(), "enabled");

    let (ok, journal) = start(&node, "ai-supply-chain-backup.service");
    assert!(ok, "the backup failed:\n{journal}");
    let (ok, journal) = start(&node, "ai-supply-chain-backup-verify.service");
    assert!(ok, "the drill failed:\n{journal}");
    for needle in [
        "database verified",
        "restore drill passed in",
        "ok     tenant customer_123 store",
    ] {
        assert!(journal.contains(needle), "{needle}:\n{journal}");
    }
    eprintln!("the drill on the node:\n{journal}");

    let backup = node
        .run(&["cat", &format!("{TEXTFILES}/ai-supply-chain-backup.prom")])
        .expect("backup metrics");
    assert!(
        backup.contains("scf_backup_last_success_timestamp_seconds{kind=\"daily\"} ")
            && backup.contains("scf_backup_size_bytes{kind=\"daily\"} "),
        "{backup}"
    );
    let metrics = exported(&node);
    for needle in [
        "scf_restore_drill_success 1",
        "scf_backup_last_success_timestamp_seconds{kind=\"daily\"}",
        "scf_backup_size_bytes{kind=\"daily\"}",
        "scf_restore_drill_last_success_timestamp_seconds",
    ] {
        assert!(metrics.contains(needle), "node-exporter exports {needle}");
    }
    assert!(
        metrics.contains("node_textfile_scrape_error 0"),
        "node-exporter read every file"
    );

    // A damaged dump in the newest set: the drill fails, names the file, and says so.
    node.sh("cd /backup/ai-supply-chain/latest && printf x >>\"$(ls -- *.dump | head -1)\"")
        .expect("damage a dump");
    let (ok, journal) = start(&node, "ai-supply-chain-backup-verify.service");
    assert!(!ok, "a damaged set passed:\n{journal}");
    assert!(journal.contains("checksum mismatch"), "{journal}");
    assert!(exported(&node).contains("scf_restore_drill_success 0"));
}
