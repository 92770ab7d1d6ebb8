//! Exploratory: scf apply on a booted bare Debian node.

use scf_testkit::node::{self, Node};

#[test]
#[ignore]
fn explore() {
    if let Some(why) = node::unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let node = Node::builder("web")
        .bind_ro(env!("CARGO_BIN_EXE_scf"), "/opt/scf-under-test/scf")
        .boot()
        .expect("boot");
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/framework.toml"
    ))
    .unwrap();
    let example = example.replace("grafana = true", "grafana = false");
    node.write("/root/framework.toml", example.as_bytes(), 0o600)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=api.example.com",
            "-addext",
            "subjectAltName=DNS:api.example.com",
            "-keyout",
        ])
        .arg(dir.path().join("key"))
        .arg("-out")
        .arg(dir.path().join("cert"))
        .output()
        .unwrap();
    assert!(st.status.success());
    node.copy_in(
        &dir.path().join("cert"),
        "/etc/ssl/scf/fullchain.pem",
        0o644,
    )
    .unwrap();
    node.copy_in(&dir.path().join("key"), "/etc/ssl/scf/privkey.pem", 0o600)
        .unwrap();
    let out = node.exec(&["sh", "-c", &std::env::var("EXPLORE").unwrap_or_else(|_| "cd /root && SCF_DB_PASSWORD=dbpw SCF_DB_ADMIN_PASSWORD=x SCF_REDIS_PASSWORD=redispw SCF_SECRET_KEY=0123456789abcdef0123456789abcdef SCF_FIELD_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= /opt/scf-under-test/scf apply --auto-approve 2>&1".into())]).unwrap();
    eprintln!("{}\n{}\nexit {}", out.stdout, out.stderr, out.status);
    let after = node.exec(&["sh", "-c", "systemctl is-active postgresql redis-server nginx ai-supply-chain prometheus prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter prometheus-alertmanager; journalctl -u ai-supply-chain --no-pager | tail -25; journalctl -u prometheus-postgres-exporter -u prometheus-redis-exporter --no-pager | tail -10"]).unwrap();
    eprintln!("after:\n{}{}", after.stdout, after.stderr);
    if std::env::var("EXPLORE_HOLD").is_ok() {
        eprintln!("holding: node {} at {}", node.name(), node.address());
        std::thread::sleep(std::time::Duration::from_secs(3000));
    }
}
