//! Parity between the host and the Kubernetes targets: built from one framework.toml, the
//! runtime must get the same variables (values differing only in the hosts it listens on
//! and connects to), the same port, probes, stop timeout and hardening intent on both.
//! Monitoring too ([`monitoring`]): every alert the host's Prometheus evaluates, the
//! cluster's does (with the same condition, scoped to the namespace), and the same
//! dashboard, or [`monitoring::ALERT_GAPS`] names why not.
//! The test reads the built files, not scf's internals, so it fails when either target
//! drifts from the other.

mod monitoring;
#[path = "../support/mod.rs"]
mod support;

// The container target's half of the parity checks: the image and the compose stack
// against the host env file and the Kubernetes Deployment.
#[path = "../container/built.rs"]
mod built;
#[path = "../container/parity.rs"]
mod container;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Probe, Secret};
use std::collections::BTreeMap;
use std::path::Path;

const NAME: &str = "ai-supply-chain";

/// The example, built once into a temp dir.
struct Built {
    _dir: tempfile::TempDir,
    out: std::path::PathBuf,
}

fn build_example() -> Built {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = support::root().join("examples/framework.toml");
    let o = support::scf(
        dir.path(),
        &[
            "build",
            "--config",
            example.to_str().expect("utf-8"),
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    Built { _dir: dir, out }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn object<T: serde::de::DeserializeOwned>(out: &Path, file: &str) -> T {
    serde_saphyr::from_str(&read(&out.join("kubernetes").join(file)))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// `KEY=VALUE` lines of the host's env file, with the env-file quoting undone.
fn host_env(out: &Path) -> BTreeMap<String, String> {
    read(&out.join(format!("host/etc/{NAME}/{NAME}.env")))
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A value with the parts that rightly differ between placements masked: the listen
/// hosts (the API's and the metrics listener's), and the host of the database and Redis URLs.
fn placement_free(var: &str, value: &str) -> String {
    match var {
        "LISTEN_ADDR" | "METRICS_LISTEN" => value
            .rsplit_once(':')
            .map_or(value, |(_, port)| port)
            .to_string(),
        "DATABASE_URL" | "REDIS_URL" => {
            let (scheme, rest) = value.split_once("://").expect("a URL");
            let (user, rest) = rest.split_once('@').map_or(("", rest), |(u, r)| (u, r));
            let port_and_path = rest.split_once(':').map_or(rest, |(_, p)| p);
            format!("{scheme}://{user}@HOST:{port_and_path}")
        }
        // The proxy in front: nginx on the host's loopback; unknown in a cluster.
        "TRUSTED_PROXIES" => "PROXY".to_string(),
        _ => value.to_string(),
    }
}

fn framework(d: &Deployment) -> (&PodSpec, &Container) {
    let pod = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec");
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == "framework")
        .expect("framework container");
    (pod, container)
}

#[test]
fn host_and_kubernetes_give_the_runtime_the_same_environment_port_and_probes() {
    let built = build_example();
    let host = host_env(&built.out);
    let config: ConfigMap = object(&built.out, "configmap-framework-config.yaml");
    let secret: Secret = object(&built.out, "secret-framework-secret.yaml");
    let deployment: Deployment = object(&built.out, "deployment-framework.yaml");
    let (_, container) = framework(&deployment);

    let plain = config.data.clone().unwrap_or_default();
    let refs: BTreeMap<String, String> = serde_json::from_str(
        &secret.metadata.annotations.clone().unwrap_or_default()["scf.dev/secret-refs"],
    )
    .expect("refs JSON");
    let mut from_secret = BTreeMap::new();
    for var in container.env.iter().flatten() {
        let key = var
            .value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
            .expect("only secrets are set one by one");
        assert_eq!(key.name, "framework-secret");
        from_secret.insert(var.name.clone(), refs[&key.key].clone());
    }

    let mut k8s_names: Vec<&String> = plain.keys().chain(from_secret.keys()).collect();
    k8s_names.sort();
    let host_names: Vec<&String> = host.keys().collect();
    assert_eq!(k8s_names, host_names, "the same variables on both");

    for (var, value) in &plain {
        assert_eq!(
            placement_free(var, value),
            placement_free(var, &host[var]),
            "{var} differs beyond its hosts"
        );
    }
    for (var, reference) in &from_secret {
        assert_eq!(
            host[var],
            format!("@@scf-secret:{reference}@@"),
            "{var} comes from the same reference"
        );
    }

    let port = container
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("http"));
    let host_port: i32 = placement_free("LISTEN_ADDR", &host["LISTEN_ADDR"])
        .parse()
        .expect("a port");
    assert_eq!(port.map(|p| p.container_port), Some(host_port));

    let path = |p: &Option<Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|g| g.path.clone())
    };
    assert_eq!(path(&container.liveness_probe).as_deref(), Some("/health"));
    assert_eq!(path(&container.readiness_probe).as_deref(), Some("/ready"));
}

#[test]
fn host_and_kubernetes_run_the_runtime_with_the_same_hardening_intent() {
    let built = build_example();
    let deployment: Deployment = object(&built.out, "deployment-framework.yaml");
    let unit = built
        .out
        .join(format!("host/etc/systemd/system/{NAME}.service"));
    if unit.exists() {
        compare_with_systemd_unit(&read(&unit), &deployment, &built.out);
    } else {
        // LEAD: the systemd target lands on branch hostA. Once both are merged the unit is
        // always built: replace this `if` with `assert!(unit.exists())`.
        eprintln!("no systemd unit in the build yet: compared the Kubernetes side alone");
    }
    let (pod, c) = framework(&deployment);
    let sc = c
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_string()])
    );
    assert_eq!(pod.automount_service_account_token, Some(false));
}

/// `Key=` values of a unit file; a key given twice keeps every value.
fn unit_keys(unit: &str) -> BTreeMap<&str, Vec<&str>> {
    let mut keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in unit.lines().filter(|l| !l.starts_with('#')) {
        if let Some((k, v)) = line.split_once('=') {
            keys.entry(k.trim()).or_default().push(v.trim());
        }
    }
    keys
}

/// The systemd unit and the Deployment: same user intent (non-root), no new privileges,
/// read-only system, no capabilities, a syscall filter, private /tmp, the env file above,
/// the same command, port, stop timeout and state directory; and the same memory limit
/// when the unit sets one.
fn compare_with_systemd_unit(unit: &str, deployment: &Deployment, out: &Path) {
    let keys = unit_keys(unit);
    let one = |k: &str| -> &str {
        keys.get(k)
            .and_then(|v| v.last().copied())
            .unwrap_or_else(|| panic!("the unit has no {k}="))
    };
    let (pod, c) = framework(deployment);
    let sc = c.security_context.as_ref().expect("securityContext");

    assert!(
        !matches!(one("User"), "root" | "0"),
        "the unit runs as root"
    );
    assert!(sc.run_as_user.is_some_and(|u| u >= 10000) && sc.run_as_non_root == Some(true));
    assert_eq!(one("NoNewPrivileges"), "yes");
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        one("CapabilityBoundingSet"),
        "",
        "no capabilities on the host"
    );
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_string()])
    );
    assert!(sc.capabilities.as_ref().is_some_and(|c| c.add.is_none()));
    assert!(
        keys.contains_key("SystemCallFilter"),
        "a syscall filter on the host"
    );
    assert!(
        sc.seccomp_profile
            .as_ref()
            .is_some_and(|p| p.type_ == "RuntimeDefault")
    );
    assert_eq!(one("PrivateTmp"), "yes");
    let mounts = c.volume_mounts.clone().unwrap_or_default();
    assert!(
        mounts.iter().any(|m| m.mount_path == "/tmp"),
        "a private /tmp in the pod"
    );

    assert_eq!(one("EnvironmentFile"), format!("/etc/{NAME}/{NAME}.env"));
    assert!(out.join(format!("host/etc/{NAME}/{NAME}.env")).exists());
    let exec: Vec<&str> = one("ExecStart").split_whitespace().collect();
    // On Kubernetes the agents run in their own Deployments, not beside the API.
    let command: Vec<String> = c
        .command
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a != "--no-agents")
        .collect();
    assert_eq!(exec[1..], command[1..], "the same subcommand and flags");

    let pod_ports: Vec<String> = c
        .ports
        .iter()
        .flatten()
        .map(|p| format!("tcp:{}", p.container_port))
        .collect();
    assert_eq!(
        keys.get("SocketBindAllow").cloned().unwrap_or_default(),
        pod_ports,
        "the same ports listened on: the API's, then the metrics listener's"
    );
    assert_eq!(
        one("TimeoutStopSec")
            .trim_end_matches('s')
            .parse::<i64>()
            .ok(),
        pod.termination_grace_period_seconds,
        "the same time to stop"
    );
    let grace: u64 = host_env(out)["SHUTDOWN_GRACE_SECONDS"]
        .parse()
        .expect("SHUTDOWN_GRACE_SECONDS is a number");
    let stop = scf_runtime::settings::shutdown::stop_timeout(std::time::Duration::from_secs(grace));
    assert_eq!(
        one("TimeoutStopSec"),
        stop.as_secs().to_string(),
        "the stop timeout covers the runtime's whole drain (grace {grace}s)"
    );
    assert!(
        mounts
            .iter()
            .any(|m| m.mount_path == format!("/var/lib/{}", one("StateDirectory"))),
        "DATA_DIR is writable in both"
    );
    // LEAD: the host unit sets no MemoryMax= yet. Decide whether it should equal
    // kubernetes.resources.limits.memory; until then the limit is compared when present.
    if let Some(max) = keys.get("MemoryMax").and_then(|v| v.last()) {
        let limit = c
            .resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get("memory"))
            .map(|q| q.0.clone())
            .expect("a memory limit");
        assert_eq!(
            bytes(max),
            bytes(&limit),
            "MemoryMax={max} vs limit {limit}"
        );
    }
}

/// A systemd (`2G`) or Kubernetes (`2Gi`) memory size in bytes; both are binary here.
fn bytes(size: &str) -> u64 {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().unwrap_or_else(|_| panic!("size {size:?}"));
    let scale = match size[digits.len()..].trim_end_matches('i') {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        other => panic!("unit {other:?} in {size:?}"),
    };
    n * scale
}

/// The host's backup timers (`NAME-backup*.timer`), each with its `OnCalendar=`.
fn host_backup_timers(out: &Path) -> BTreeMap<String, String> {
    let units = out.join("host/etc/systemd/system");
    let prefix = format!("{NAME}-backup");
    std::fs::read_dir(&units)
        .expect("read the units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&prefix) && f.ends_with(".timer"))
        .map(|f| {
            let calendar = read(&units.join(&f))
                .lines()
                .find_map(|l| l.strip_prefix("OnCalendar="))
                .unwrap_or_else(|| panic!("{f} has no OnCalendar="))
                .to_string();
            (f, calendar)
        })
        .collect()
}

#[test]
fn every_backup_schedule_the_host_gets_kubernetes_gets_too() {
    use k8s_openapi::api::batch::v1::CronJob;
    let built = build_example();
    let timers = host_backup_timers(&built.out);
    assert_eq!(timers.len(), 3, "daily, full and the drill: {timers:?}");
    for (timer, calendar) in &timers {
        // NAME-backup-full.timer → the CronJob backup-full.
        let job = timer
            .strip_prefix(&format!("{NAME}-"))
            .and_then(|t| t.strip_suffix(".timer"))
            .expect("NAME-…timer");
        let file = built.out.join(format!("kubernetes/cronjob-{job}.yaml"));
        assert!(
            file.is_file(),
            "gap: the host runs {timer}, Kubernetes has no CronJob {job}"
        );
        let cron: CronJob = object(&built.out, &format!("cronjob-{job}.yaml"));
        let schedule: scf::config::values::Cron = cron
            .spec
            .as_ref()
            .expect("spec")
            .schedule
            .parse()
            .expect("a cron schedule scf reads");
        assert_eq!(
            &schedule.to_on_calendar(),
            calendar,
            "the CronJob {job} runs when {timer} does"
        );
        // The same script, with the same kind, as the host's service runs.
        let service = read(
            &built
                .out
                .join(format!("host/etc/systemd/system/{NAME}-{job}.service")),
        );
        let exec = service
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart=");
        let pod = cron
            .spec
            .and_then(|s| s.job_template.spec)
            .and_then(|j| j.template.spec)
            .expect("pod");
        let command = pod.containers[0].command.clone().unwrap_or_default();
        let tail = |words: &[String]| words[words.len().saturating_sub(1)..].to_vec();
        let host_words: Vec<String> = exec.split_whitespace().map(String::from).collect();
        assert_eq!(
            tail(&command),
            tail(&host_words),
            "{job}: {command:?} vs {exec}"
        );
        let program = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
        assert!(
            command
                .iter()
                .any(|w| program(w) == program(&host_words[0])),
            "{job} runs {command:?}, the host {exec}"
        );
    }
}

/// Every tenant the host provisions (its store's SQL file, which `scf apply` runs before
/// `scf tenant create`), the Kubernetes tenants Job provisions too, with the same command.
#[test]
fn every_tenant_the_host_gets_kubernetes_gets() {
    let built = build_example();
    let dir = built
        .out
        .join(format!("host/usr/local/share/{NAME}/sql/tenants"));
    let host: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            name.strip_suffix(".sql").unwrap_or(&name).to_string()
        })
        .collect();
    assert!(!host.is_empty(), "the example declares a tenant");
    let job: k8s_openapi::api::batch::v1::Job = object(&built.out, "job-framework-tenants.yaml");
    let pod = job
        .spec
        .and_then(|s| s.template.spec)
        .expect("the Job's pod");
    let kubernetes: std::collections::BTreeSet<String> = pod
        .init_containers
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            let command = c.command.unwrap_or_default();
            assert_eq!(command[..4], ["scf", "tenant", "create", "--if-absent"]);
            let at = command.iter().position(|a| a == "--tenant-id")?;
            command.get(at + 1).cloned()
        })
        .collect();
    assert_eq!(kubernetes, host);
}
