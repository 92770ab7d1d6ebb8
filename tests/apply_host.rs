//! `scf plan` and `scf apply` on a host root in a temp dir, with a recording shim in place
//! of systemctl/nginx/systemd-analyze: the plan/apply cycle, saved and stale plans, the
//! lock, crash safety, validation failures, rollback, and the secret canary.

mod support;

use support::host::{Host, text};

#[test]
fn plan_apply_plan_converges_and_an_edit_touches_only_its_files() {
    let host = Host::new("canary-a");
    let first = host.plan(&[]);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    let shown = text(&first);
    assert!(
        shown.contains("to add, 0 to change, 0 to destroy."),
        "{shown}"
    );
    assert!(
        !shown
            .lines()
            .any(|l| l.starts_with("  ~ ") || l.starts_with("  - ")),
        "an empty root gives only creates: {shown}"
    );

    let applied = host.apply(&[]);
    assert!(applied.status.success(), "{}", text(&applied));
    let again = host.plan(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("Plan: 0 to add, 0 to change, 0 to destroy."));
    let noop = host.apply(&[]);
    assert!(
        noop.status.success() && text(&noop).contains("Plan: 0 to add"),
        "{}",
        text(&noop)
    );

    host.edit("[server]\n", "[server]\nworkers = 7\n");
    let edited = host.plan(&[]);
    assert_eq!(edited.status.code(), Some(2));
    let shown = text(&edited);
    assert!(
        shown.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{shown}"
    );
    assert!(
        shown.contains("-WORKERS=4") && shown.contains("+WORKERS=7"),
        "{shown}"
    );
    assert!(
        shown.contains("systemctl restart ai-supply-chain.service"),
        "the env file's unit restarts: {shown}"
    );
}

#[test]
fn json_and_markdown_plans() {
    let host = Host::new("canary-b");
    let root = host.root_arg();
    let json = host.scf(&["plan", "--root", &root, "--format", "json"], &[]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json plan");
    assert_eq!(value["format_version"], 2);
    assert!(value["changes"].as_array().is_some_and(|c| !c.is_empty()));
    let md = host.scf(&["plan", "--root", &root, "--format", "markdown"], &[]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("<details>") && md.contains("**Plan: "), "{md}");
}

#[test]
fn a_saved_plan_is_refused_after_a_hand_edit_naming_the_file() {
    let host = Host::new("canary-c");
    assert!(host.apply(&[]).status.success());
    host.edit("[server]\n", "[server]\nworkers = 9\n");
    let root = host.root_arg();
    let saved = host.scf(&["plan", "--root", &root, "-o", "plan.json"], &[]);
    assert!(saved.status.success(), "{}", text(&saved));
    let env = host.root.join("etc/ai-supply-chain/ai-supply-chain.env");
    let mut bytes = std::fs::read(&env).expect("env");
    bytes.extend_from_slice(b"HAND_EDIT=1\n");
    std::fs::write(&env, bytes).expect("hand edit");
    let refused = host.apply(&["plan.json"]);
    assert_eq!(refused.status.code(), Some(1));
    let shown = text(&refused);
    assert!(
        shown.contains("stale") && shown.contains("file:/etc/ai-supply-chain/ai-supply-chain.env"),
        "{shown}"
    );
    assert!(
        std::fs::read_to_string(&env)
            .expect("env")
            .contains("HAND_EDIT=1"),
        "nothing was changed"
    );
}

#[test]
fn a_saved_plan_is_refused_when_framework_toml_changed() {
    let host = Host::new("canary-d");
    let root = host.root_arg();
    assert!(
        host.scf(&["plan", "--root", &root, "-o", "plan.json"], &[])
            .status
            .success()
    );
    host.edit("[server]\n", "[server]\nworkers = 3\n");
    let refused = host.apply(&["plan.json"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("framework.toml or a profile it extends changed"),
        "{}",
        text(&refused)
    );
    assert!(host.files().is_empty(), "nothing was written");
    host.edit("[server]\nworkers = 3\n", "[server]\n");
    let applied = host.apply(&["plan.json"]);
    assert!(
        applied.status.success(),
        "the same inputs again make the plan fresh: {}",
        text(&applied)
    );
}

#[test]
fn a_concurrent_apply_is_refused_with_the_holders_name() {
    let host = Host::new("canary-e");
    let lock_path = host.root.join("var/lib/scf/lock");
    let held = scf::host::lock::Lock::acquire(
        &lock_path,
        "scf apply (test holder)",
        std::time::Duration::ZERO,
    )
    .expect("lock");
    let refused = host.apply(&[]);
    assert_eq!(refused.status.code(), Some(1));
    let shown = text(&refused);
    assert!(
        shown.contains(&format!("pid {}", std::process::id())) && shown.contains("test holder"),
        "{shown}"
    );
    drop(held);
    assert!(host.apply(&[]).status.success());
}

#[test]
fn a_failed_validation_leaves_the_old_files() {
    let host = Host::new("canary-f");
    assert!(host.apply(&[]).status.success());
    let before = host.files();
    // A new port changes the env file, the nginx site and the unit: all are staged.
    host.edit("[server]\n", "[server]\nlisten = \"127.0.0.1:5001\"\n");
    // systemd-analyze runs inside `unshare`, which sees the staged programs in place.
    for (program, tool) in [("nginx", "nginx"), ("unshare", "systemd-analyze")] {
        let failed = host
            .apply_command()
            .env("SHIM_FAIL", program)
            .output()
            .expect("scf runs");
        assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
        let shown = text(&failed);
        assert!(
            shown.contains("failed validation, nothing was changed") && shown.contains(tool),
            "{shown}"
        );
        assert_eq!(host.files(), before, "{tool}: the old files stay");
    }
    assert!(
        host.apply(&[]).status.success(),
        "once the tools pass, the change goes through"
    );
}

#[test]
fn a_failed_probe_rolls_back_to_the_previous_generation() {
    let host = Host::new("canary-g");
    assert!(host.apply(&[]).status.success());
    let before = host.files();
    host.edit("[server]\n", "[server]\nworkers = 6\n");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .to_string();
    let failed = host.apply(&["--probe-address", &closed, "--probe-timeout", "1s"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(
        text(&failed).contains("generation 1 was restored"),
        "{}",
        text(&failed)
    );
    assert_eq!(host.files(), before, "the previous generation is back");
    assert_eq!(
        host.plan(&[]).status.code(),
        Some(2),
        "the wanted change is still pending"
    );
}

#[test]
fn rollback_walks_back_through_generations_to_the_original_host() {
    let host = Host::new("canary-h");
    assert!(host.apply(&[]).status.success());
    let first = host.files();
    host.edit("[server]\n", "[server]\nworkers = 8\n");
    assert!(host.apply(&[]).status.success());
    assert_ne!(host.files(), first);
    let root = host.root_arg();
    let shim = host.shim.display().to_string();
    let back = host.scf(
        &["rollback", "--root", &root, "--service-manager", &shim],
        &[],
    );
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(host.files(), first, "generation 1 is back");
    assert!(
        host.shim_log()
            .contains("systemctl restart ai-supply-chain.service"),
        "the restored files' units restart"
    );
    let to_zero = host.scf(
        &["rollback", "--root", &root, "--service-manager", &shim],
        &[],
    );
    assert!(to_zero.status.success(), "{}", text(&to_zero));
    assert!(
        host.files().is_empty(),
        "before scf, there was nothing: {:?}",
        host.files().keys()
    );
}

#[test]
fn rollback_works_with_a_relative_root() {
    let host = Host::new("canary-r");
    let shim = host.shim.display().to_string();
    let relative = |command: &str| {
        let mut args = vec![command, "--root", "./root", "--service-manager", &shim];
        if command == "apply" {
            args.push("--auto-approve");
        }
        let out = host.scf(&args, &[]);
        assert!(out.status.success(), "scf {command}: {}", text(&out));
    };
    relative("apply");
    let first = host.files();
    host.edit("[server]\n", "[server]\nworkers = 8\n");
    relative("apply");
    assert_ne!(host.files(), first);
    relative("rollback");
    assert_eq!(host.files(), first, "generation 1 is back");
}

#[test]
fn the_secret_canary_never_leaks() {
    let canary = format!("canary-{}-{}", std::process::id(), 0x5ec2e7u32);
    let host = Host::new(&canary);
    let root = host.root_arg();
    let mut outputs = vec![
        host.plan(&[]),
        host.scf(
            &[
                "plan",
                "--root",
                &root,
                "--format",
                "json",
                "-o",
                "plan.json",
            ],
            &[],
        ),
        host.scf(&["plan", "--root", &root, "--format", "markdown"], &[]),
        host.apply(&["plan.json"]),
    ];
    host.edit("[server]\n", "[server]\nworkers = 2\n");
    outputs.extend([
        host.plan(&[]),
        host.apply(&[]),
        host.scf(&["build", "--out", "build"], &[]),
    ]);
    for out in &outputs {
        assert!(
            !text(out).contains(&canary),
            "a command printed the secret:\n{}",
            text(out)
        );
    }
    for (path, bytes) in support::tree(host.dir.path()) {
        let holds = String::from_utf8_lossy(&bytes).contains(&canary);
        // Only the files that must hold secrets at run time: the runtime's env file,
        // redis.conf (requirepass) and the exporters' env files, and their kept generations.
        let secret_file = path.ends_with("etc/ai-supply-chain/ai-supply-chain.env")
            || path.ends_with("etc/redis/redis.conf")
            || path.ends_with("etc/default/prometheus-postgres-exporter")
            || path.ends_with("etc/default/prometheus-redis-exporter");
        assert!(!holds || secret_file, "{path} holds the secret");
    }
    let env = std::fs::read_to_string(host.root.join("etc/ai-supply-chain/ai-supply-chain.env"))
        .expect("env");
    assert!(
        env.contains(&format!("DATABASE_PASSWORD={canary}")),
        "the env file gets the value"
    );
}

#[test]
fn kill_9_at_any_point_leaves_old_or_new_files_and_the_next_apply_converges() {
    let host = Host::new("canary-k");
    assert!(host.apply(&[]).status.success());
    let old = host.files();
    host.edit(
        "[server]\n",
        "[server]\nworkers = 11\nlog_level = \"warn\"\n",
    );
    let new = {
        let probe = Host::new("canary-k");
        std::fs::copy(&host.config, &probe.config).expect("copy config");
        assert!(probe.apply(&[]).status.success());
        probe.files()
    };
    for i in 0..24u64 {
        let mut child = host
            .apply_command()
            .env("SHIM_SLEEP", "0.05")
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(3 + i * 7));
        let _ = child.kill();
        let _ = child.wait();
        for (path, bytes) in host.files() {
            if path.contains(".scf-tmp-") {
                continue; // a killed write's temporary file; the next apply sweeps it
            }
            let was = old.get(&path);
            let will = new.get(&path);
            assert!(
                was == Some(&bytes) || will == Some(&bytes),
                "attempt {i}: {path} is neither the old nor the new version"
            );
        }
        // A killed apply may hold no lock: the kernel freed it.
        let converged = host.apply(&[]);
        assert!(
            converged.status.success(),
            "attempt {i}: {}",
            text(&converged)
        );
        assert_eq!(host.files(), new, "attempt {i}: converged");
        assert_eq!(host.plan(&[]).status.code(), Some(0));
        // Back to the old config for the next round.
        let root = host.root_arg();
        let shim = host.shim.display().to_string();
        let back = host.scf(
            &["rollback", "--root", &root, "--service-manager", &shim],
            &[],
        );
        assert!(back.status.success(), "attempt {i}: {}", text(&back));
        assert_eq!(host.files(), old, "attempt {i}: rolled back");
    }
}

#[test]
fn apply_installs_the_running_scf_for_the_units_to_run() {
    let host = Host::new("canary-bin");
    let applied = host.apply(&["--install-binary"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let installed = host.root.join("usr/local/bin/scf");
    assert_eq!(
        std::fs::read(&installed).expect("installed"),
        std::fs::read(env!("CARGO_BIN_EXE_scf")).expect("scf")
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&installed).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
    let again = host.plan(&["--install-binary"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    std::fs::write(&installed, b"an older scf").expect("downgrade");
    let upgrade = host.plan(&["--install-binary"]);
    assert_eq!(upgrade.status.code(), Some(2));
    assert!(
        text(&upgrade).contains("~ file:/usr/local/bin/scf")
            && text(&upgrade).contains("systemctl restart ai-supply-chain.service"),
        "{}",
        text(&upgrade)
    );
}

#[test]
fn files_a_service_reads_get_its_group_and_drift_is_planned() {
    use std::os::unix::fs::MetadataExt;
    let host = Host::new("canary-own");
    std::fs::create_dir_all(host.root.join("etc")).expect("etc");
    std::fs::write(
        host.root.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nredis:x:4242:4243::/var/lib/redis:/usr/sbin/nologin\nprometheus:x:4244:4245::/var/lib/prometheus:/usr/sbin/nologin\npostgres:x:4246:4247::/var/lib/postgresql:/bin/bash\n",
    )
    .expect("passwd");
    std::fs::write(
        host.root.join("etc/group"),
        "root:x:0:\nredis:x:4243:\nprometheus:x:4245:\npostgres:x:4247:\n",
    )
    .expect("group");
    let applied = host.apply(&[]);
    assert!(applied.status.success(), "{}", text(&applied));
    let alertmanager = std::fs::metadata(host.root.join("etc/prometheus/alertmanager.yml"))
        .expect("alertmanager.yml");
    assert_eq!(
        (
            alertmanager.uid(),
            alertmanager.gid(),
            alertmanager.mode() & 0o777
        ),
        (0, 4245, 0o640),
        "root:prometheus 0640"
    );
    let conf = host.root.join("etc/redis/redis.conf");
    let meta = std::fs::metadata(&conf).expect("redis.conf");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (0, 4243, 0o640),
        "root:redis 0640"
    );
    let exporter = host.root.join("etc/default/prometheus-postgres-exporter");
    let meta = std::fs::metadata(&exporter).expect("postgres-exporter's env file");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (0, 4245, 0o640),
        "root:prometheus 0640"
    );
    std::os::unix::fs::chown(&conf, Some(0), Some(0)).expect("chown");
    let drift = host.plan(&[]);
    assert_eq!(drift.status.code(), Some(2));
    assert!(
        text(&drift).contains("new owner root:redis"),
        "{}",
        text(&drift)
    );
    assert!(host.apply(&[]).status.success());
    assert_eq!(std::fs::metadata(&conf).expect("redis.conf").gid(), 4243);
}

#[test]
fn a_changed_secret_is_shown_changed_by_fingerprint_only() {
    let mut host = Host::new("canary-rotate-old");
    assert!(host.apply(&[]).status.success());
    host.secrets
        .insert("SCF_DB_PASSWORD", "canary-rotate-new".into());
    let plan = host.plan(&[]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "plan does not resolve secrets: {}",
        text(&plan)
    );
    let rotated = host.apply(&[]);
    let shown = text(&rotated);
    assert!(rotated.status.success(), "{shown}");
    let old = shown
        .lines()
        .find(|l| l.contains("-DATABASE_PASSWORD=(sensitive, fp "))
        .expect("the old fingerprint");
    let new = shown
        .lines()
        .find(|l| l.contains("+DATABASE_PASSWORD=(sensitive, fp "))
        .expect("the new fingerprint");
    assert_ne!(
        old.trim_start_matches([' ', '-']),
        new.trim_start_matches([' ', '+'])
    );
    assert!(!shown.contains("canary-rotate"), "{shown}");
    assert!(
        !shown.contains("+REDIS_PASSWORD"),
        "an unchanged secret is not shown as changed: {shown}"
    );
}

/// Records what the apply sequence asks and reports, and answers its one question.
struct Recorder {
    answer: bool,
    shown: usize,
    asked: usize,
    steps: Vec<String>,
}

impl scf::host::apply::Operator for Recorder {
    fn show(&mut self, _: &scf::plan::Plan) {
        self.shown += 1;
    }
    fn approve(&mut self) -> Result<bool, String> {
        self.asked += 1;
        Ok(self.answer)
    }
    fn note(&mut self, note: &scf::host::apply::Note) {
        self.steps.push(format!("note {note:?}"));
    }
    fn begin(&mut self, steps: usize) {
        self.steps.push(format!("begin {steps}"));
    }
    fn step(&mut self, step: scf::host::apply::Step) {
        self.steps.push(format!("{step:?}"));
    }
}

/// The sequence `scf apply` runs is one library call: a declined plan changes nothing, an
/// approved one records generation 1, and the next call finds nothing to do and asks nothing.
#[test]
fn the_apply_sequence_is_the_library_call_the_cli_makes() {
    use scf::host::apply::{ApplyError, Outcome, ProbeAt, Request, apply};
    let host = Host::new("canary-library");
    // In-process, secrets come from files rather than this process's environment.
    for (var, value) in &host.secrets {
        let file = host.dir.path().join(var);
        std::fs::write(&file, value).expect("secret file");
        host.edit(&format!("env:{var}"), &format!("file:{}", file.display()));
    }
    let compiled = scf::compile::load(&host.config).expect("a valid framework.toml");
    let artifacts = scf::compile::artifacts(&compiled.model).expect("artifacts");
    let request = Request {
        saved: None,
        root: host.root.clone(),
        install_binary: false,
        database: None,
        services: scf::host::ServiceManager::Skip,
        lock_timeout: std::time::Duration::ZERO,
        probe: ProbeAt::Never,
        probe_timeout: std::time::Duration::ZERO,
    };
    let mut operator = Recorder {
        answer: false,
        shown: 0,
        asked: 0,
        steps: Vec::new(),
    };
    let declined = apply(&compiled, &artifacts, &request, &mut operator);
    assert!(
        matches!(declined, Err(ApplyError::Cancelled)),
        "{declined:?}"
    );
    assert_eq!((operator.shown, operator.asked), (1, 1));
    assert!(host.files().is_empty(), "a declined plan writes nothing");

    operator.answer = true;
    let applied = apply(&compiled, &artifacts, &request, &mut operator);
    let Ok(Outcome::Applied(report)) = applied else {
        panic!("applied: {applied:?}");
    };
    assert_eq!(report.generation, 1);
    assert!(!report.changed.is_empty() && report.ran.is_empty() && !report.skipped.is_empty());
    assert!(
        host.files().keys().any(|p| p.ends_with(".env")),
        "{:?}",
        host.files().keys()
    );
    assert!(
        operator.steps.iter().any(|s| s.starts_with("begin ")),
        "{:?}",
        operator.steps
    );

    let again = apply(&compiled, &artifacts, &request, &mut operator);
    assert!(matches!(again, Ok(Outcome::Unchanged)), "{again:?}");
    assert_eq!(
        (operator.shown, operator.asked),
        (3, 2),
        "no question without a change"
    );
}
