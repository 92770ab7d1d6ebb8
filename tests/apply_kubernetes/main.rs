//! `scf plan` and `scf apply` on Kubernetes, against a mock API server in the style of
//! kube-rs's own `mock_tests.rs`: a `tower_test::mock::pair` answers the client, a small
//! in-memory API server asserts every request (method, path, `fieldManager`, `dryRun`,
//! body) and answers with JSON, and a [`Scenario`] drives one story and checks what
//! reached the server. No API server runs on our machines; the end-to-end test against a
//! real cluster runs when `SCF_TEST_KUBECONFIG` is set (see CONTRIBUTING.md).

mod server;
#[path = "../support/mod.rs"]
mod support;

use http::{Request, Response};
use kube::client::Body;
use scf::cluster::apply::{ApplyOptions, Report, Step};
use scf::cluster::rollout::Wait;
use scf::cluster::{Cluster, ClusterError, apply, lease, plan};
use scf::plan::{Action, Plan, show};
use serde_json::{Value, json};
use server::{Seen, Server, serve};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NS: &str = "ai-supply-chain";
const IMAGE: &str = "registry.example.com/ai-supply-chain:1.0.0";
const NEW_IMAGE: &str = "registry.example.com/ai-supply-chain:1.1.0";
const DEPLOYMENT: &str = "k8s:apps/v1/Deployment/ai-supply-chain/framework";
const JOB: &str = "k8s:batch/v1/Job/ai-supply-chain/framework-migrate";
const SECRET: &str = "k8s:v1/Secret/ai-supply-chain/framework-secret";
const DEPLOYMENT_PATH: &str = "/apis/apps/v1/namespaces/ai-supply-chain/deployments/framework";
const SECRET_PATH: &str = "/api/v1/namespaces/ai-supply-chain/secrets/framework-secret";
const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/ai-supply-chain/leases/scf-apply";

/// The story a test tells, and what it checks.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    FirstApplyCreatesEverything,
    SecondPlanFindsNoChange,
    ImageChangeUpdatesOnlyTheDeployment,
    RemovedObjectIsPruned,
    LeaseHeldByAnotherIsRefused,
    FieldManagerConflictIsReported,
    FailedRolloutIsReportedAndRolledBack,
    SecretDiffIsMasked,
    SavedPlanIsRefusedWhenStale,
}

/// A framework.toml on the kubernetes profile, its secrets in files, and a client wired
/// to the in-memory API server.
struct Mock {
    server: Arc<Mutex<Server>>,
    cluster: Cluster,
    dir: tempfile::TempDir,
    config: PathBuf,
}

const CANARY: &str = "canary-7f3a9e";

impl Mock {
    fn new() -> Self {
        let (dir, config) = support::starter("kubernetes");
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).expect("secrets dir");
        let mut text = std::fs::read_to_string(&config).expect("read");
        for var in [
            "SCF_DB_PASSWORD",
            "SCF_REDIS_PASSWORD",
            "SCF_SECRET_KEY",
            "SCF_FIELD_KEY",
        ] {
            let file = secrets.join(var);
            std::fs::write(&file, format!("{CANARY}-{var}")).expect("secret");
            text = text.replace(&format!("env:{var}"), &format!("file:{}", file.display()));
        }
        std::fs::write(&config, text).expect("write");
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = Arc::new(Mutex::new(Server::default()));
        tokio::spawn(serve(server.clone(), handle));
        let cluster = Cluster::new(
            kube::Client::new(service, "default"),
            "mock",
            "https://mock.invalid",
        );
        Mock {
            server,
            cluster,
            dir,
            config,
        }
    }

    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).expect("read");
        assert!(text.contains(from), "framework.toml has {from:?}");
        std::fs::write(&self.config, text.replacen(from, to, 1)).expect("write");
    }

    fn set_secret(&self, var: &str, value: &str) {
        std::fs::write(self.dir.path().join("secrets").join(var), value).expect("secret");
    }

    fn compiled(&self) -> (scf::compile::Compiled, Vec<scf::artifact::Artifact>) {
        let compiled = scf::compile::load(&self.config).expect("a valid framework.toml");
        let artifacts = scf::compile::artifacts(&compiled.model).expect("artifacts");
        (compiled, artifacts)
    }

    async fn plan(
        &self,
        resolve_secrets: bool,
        force_conflicts: bool,
    ) -> Result<Plan, ClusterError> {
        let (compiled, artifacts) = self.compiled();
        plan::plan(
            &self.cluster,
            &compiled,
            &artifacts,
            plan::Options {
                resolve_secrets,
                force_conflicts,
            },
        )
        .await
    }

    /// What `scf apply --auto-approve` does: lease, plan with secrets, apply, release.
    async fn apply(
        &self,
        atomic: bool,
        force_conflicts: bool,
    ) -> (Result<Report, ClusterError>, Vec<Step>) {
        let (compiled, _) = self.compiled();
        let mut steps = Vec::new();
        let mut lock = match lease::acquire_if_namespace(&self.cluster, NS, "test@mock pid 1").await
        {
            Ok(lock) => lock,
            Err(e) => return (Err(e), steps),
        };
        let result = match self.plan(true, force_conflicts).await {
            Ok(plan) => {
                let order: Vec<String> = scf::targets::kubernetes::objects(&compiled.model)
                    .expect("objects")
                    .iter()
                    .map(scf::targets::kubernetes::Object::address)
                    .collect();
                let opts = ApplyOptions {
                    wait: Wait {
                        timeout: Duration::from_secs(5),
                        poll: Duration::from_millis(10),
                    },
                    atomic,
                    force_conflicts,
                };
                apply::execute(
                    &self.cluster,
                    &plan,
                    &order,
                    NS,
                    opts,
                    &mut lock,
                    &mut |s| steps.push(s),
                )
                .await
            }
            Err(e) => Err(e),
        };
        if let Some(lock) = lock {
            lock.release().await;
        }
        (result, steps)
    }

    fn mark(&self) -> usize {
        self.server.lock().expect("server").seen.len()
    }

    fn seen_since(&self, mark: usize) -> Vec<Seen> {
        self.server.lock().expect("server").seen[mark..].to_vec()
    }

    fn object(&self, path: &str) -> Option<Value> {
        self.server
            .lock()
            .expect("server")
            .objects
            .get(path)
            .cloned()
    }
}

/// The base64 of `text`, as the API carries Secret values.
fn base64(text: &str) -> String {
    serde_json::to_value(k8s_openapi::ByteString(text.as_bytes().to_vec()))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("base64")
}

fn addresses(plan: &Plan, action: Action) -> Vec<&str> {
    plan.changes
        .iter()
        .filter(|c| c.action == action)
        .map(|c| c.address.as_str())
        .collect()
}

fn shown(plan: &Plan) -> String {
    show::human(
        plan,
        "the cluster of context `mock` (namespace ai-supply-chain)",
        false,
    )
}

/// The non-dry-run applies (PATCH) in order, by path and field manager.
fn applied(seen: &[Seen]) -> Vec<(String, String)> {
    seen.iter()
        .filter(|s| s.method == "PATCH" && !s.dry_run())
        .map(|s| (s.path.clone(), s.query["fieldManager"].clone()))
        .collect()
}

impl Scenario {
    async fn run(self) {
        let mock = Mock::new();
        match self {
            Scenario::FirstApplyCreatesEverything => first_apply(&mock).await,
            Scenario::SecondPlanFindsNoChange => second_plan(&mock).await,
            Scenario::ImageChangeUpdatesOnlyTheDeployment => image_change(&mock).await,
            Scenario::RemovedObjectIsPruned => prune(&mock).await,
            Scenario::LeaseHeldByAnotherIsRefused => lease_held(&mock).await,
            Scenario::FieldManagerConflictIsReported => conflict(&mock).await,
            Scenario::FailedRolloutIsReportedAndRolledBack => failed_rollout(&mock).await,
            Scenario::SecretDiffIsMasked => secret_masked(&mock).await,
            Scenario::SavedPlanIsRefusedWhenStale => stale_plan(&mock).await,
        }
    }
}

async fn applied_once(mock: &Mock) {
    let (result, _) = mock.apply(false, false).await;
    result.expect("the first apply succeeds");
}

async fn first_apply(mock: &Mock) {
    let mark = mock.mark();
    let plan = mock.plan(false, false).await.expect("plan");
    let seen = mock.seen_since(mark);
    assert!(
        seen.iter().all(|s| !s.writes()),
        "a plan writes nothing: {seen:?}"
    );
    assert!(
        addresses(&plan, Action::Update).is_empty() && addresses(&plan, Action::Delete).is_empty()
    );
    let creates = addresses(&plan, Action::Create);
    assert!(
        creates.contains(&DEPLOYMENT) && creates.contains(&JOB) && creates.contains(&SECRET),
        "{creates:?}"
    );
    assert_eq!(creates.len(), plan.changes.len(), "everything is new");
    println!("{}", shown(&plan));

    let mark = mock.mark();
    let (result, steps) = mock.apply(false, false).await;
    let report = result.expect("apply");
    assert_eq!(report.applied.len(), plan.changes.len());
    let seen = mock.seen_since(mark);
    let writes = applied(&seen);
    // The namespace first, then the lease, the inventory, and the rest in order.
    assert_eq!(writes[0].0, "/api/v1/namespaces/ai-supply-chain");
    let first_lease = seen
        .iter()
        .position(|s| s.method == "POST" && s.path.ends_with("/leases"))
        .expect("lease taken");
    let second_apply = seen
        .iter()
        .position(|s| s.method == "PATCH" && !s.dry_run() && s.path.contains("/configmaps/"))
        .expect("configmap applied");
    assert!(
        first_lease < second_apply,
        "the lease is held before anything in the namespace is written"
    );
    let order: Vec<&str> = writes
        .iter()
        .map(|(p, _)| p.rsplit('/').nth(1).unwrap_or_default())
        .collect();
    let pos = |plural: &str| {
        order
            .iter()
            .position(|p| *p == plural)
            .unwrap_or_else(|| panic!("{plural} applied: {order:?}"))
    };
    assert!(
        pos("configmaps") < pos("statefulsets")
            && pos("statefulsets") < pos("jobs")
            && pos("jobs") < pos("deployments")
    );
    assert!(
        pos("deployments") < pos("ingresses") && pos("ingresses") < pos("horizontalpodautoscalers")
    );
    assert!(
        writes.contains(&(SECRET_PATH.to_string(), "scf-secrets".to_string())),
        "the Secret's values are filled"
    );
    let secret = mock.object(SECRET_PATH).expect("the Secret");
    assert_eq!(
        secret["data"].as_object().map(|d| d.len()),
        Some(4),
        "{secret}"
    );
    assert!(
        steps.contains(&Step::Ready(JOB.into())) && steps.contains(&Step::Ready(DEPLOYMENT.into()))
    );
    assert!(mock.object(LEASE_PATH).is_none(), "the lease is released");
    let inventory = mock
        .object("/api/v1/namespaces/ai-supply-chain/secrets/scf-inventory")
        .expect("inventory");
    assert!(inventory["data"].get("objects.json").is_some());
    // No value of a secret ever travelled outside the Secret's own data.
    for s in &seen {
        let text = s.body.as_ref().map(Value::to_string).unwrap_or_default();
        assert!(
            !text.contains(CANARY),
            "a secret in plain text in {} {}",
            s.method,
            s.path
        );
    }
}

async fn second_plan(mock: &Mock) {
    applied_once(mock).await;
    for resolve in [false, true] {
        let plan = mock.plan(resolve, false).await.expect("plan");
        assert!(
            !plan.has_changes(),
            "no change (resolve={resolve}):\n{}",
            shown(&plan)
        );
        assert!(shown(&plan).contains("No changes"), "{}", shown(&plan));
    }
    // Even after the finished Job is deleted by its TTL, it is not run again.
    mock.server
        .lock()
        .expect("server")
        .objects
        .remove("/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-migrate");
    let plan = mock.plan(false, false).await.expect("plan");
    assert!(!plan.has_changes(), "{}", shown(&plan));
}

async fn image_change(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(IMAGE, NEW_IMAGE);
    let plan = mock.plan(false, false).await.expect("plan");
    println!("{}", shown(&plan));
    assert_eq!(
        addresses(&plan, Action::Update),
        vec![DEPLOYMENT, JOB],
        "the Job reruns the new image's migrations"
    );
    assert!(
        addresses(&plan, Action::Create).is_empty() && addresses(&plan, Action::Delete).is_empty()
    );
    let diff = plan
        .changes
        .iter()
        .find(|c| c.address == DEPLOYMENT)
        .and_then(|c| c.diff.clone())
        .expect("a diff");
    assert!(
        diff.contains(&format!("-        image: {IMAGE}"))
            && diff.contains(&format!("+        image: {NEW_IMAGE}")),
        "{diff}"
    );
    assert!(
        !diff.contains("managedFields")
            && !diff.contains("resourceVersion")
            && !diff.contains("revisionHistoryLimit"),
        "{diff}"
    );
    let mark = mock.mark();
    mock.apply(false, false).await.0.expect("apply");
    let seen = mock.seen_since(mark);
    let writes: Vec<String> = applied(&seen)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.ends_with("scf-inventory"))
        .collect();
    assert_eq!(
        writes,
        vec![
            "/apis/batch/v1/namespaces/ai-supply-chain/jobs/framework-migrate".to_string(),
            DEPLOYMENT_PATH.into()
        ]
    );
    assert!(
        seen.iter()
            .any(|s| s.method == "DELETE" && s.path.ends_with("/jobs/framework-migrate")),
        "the changed Job is replaced"
    );
}

async fn prune(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(
        "[kubernetes]",
        "[monitoring]\nprometheus = false\n\n[kubernetes]",
    );
    let plan = mock.plan(false, false).await.expect("plan");
    println!("{}", shown(&plan));
    let scrape = "k8s:v1/ConfigMap/ai-supply-chain/prometheus-scrape";
    assert_eq!(addresses(&plan, Action::Delete), vec![scrape]);
    assert!(shown(&plan).contains(&format!("- {scrape}")));
    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let report = result.expect("apply");
    assert_eq!(report.pruned, vec![scrape.to_string()]);
    let seen = mock.seen_since(mark);
    let last_delete = seen
        .iter()
        .rposition(|s| s.method == "DELETE" && s.path.ends_with("/prometheus-scrape"))
        .expect("pruned");
    let last_apply = seen
        .iter()
        .rposition(|s| s.method == "PATCH" && !s.dry_run() && !s.path.ends_with("scf-inventory"))
        .expect("applied");
    assert!(last_apply < last_delete, "prunes come last");
    assert!(
        mock.object("/api/v1/namespaces/ai-supply-chain/configmaps/prometheus-scrape")
            .is_none()
    );
    assert!(!mock.plan(false, false).await.expect("plan").has_changes());
}

async fn lease_held(mock: &Mock) {
    applied_once(mock).await;
    let now = k8s_openapi::jiff::Timestamp::now();
    mock.server.lock().expect("server").objects.insert(
        LEASE_PATH.into(),
        json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "scf-apply", "namespace": NS, "resourceVersion": "1"},
        "spec": {"holderIdentity": "alice@laptop pid 4242", "leaseDurationSeconds": 60,
                 "acquireTime": now.to_string(), "renewTime": now.to_string()}}),
    );
    mock.edit(IMAGE, NEW_IMAGE);
    let mark = mock.mark();
    let (result, _) = mock.apply(false, false).await;
    let err = result.expect_err("refused").to_string();
    assert!(
        err.contains("alice@laptop pid 4242")
            && err.contains("kubectl -n ai-supply-chain delete lease scf-apply"),
        "{err}"
    );
    assert!(err.contains("expires by itself"), "{err}");
    assert!(
        mock.seen_since(mark).iter().all(|s| !s.writes()),
        "nothing written under another's lease"
    );
    // An expired lease is taken over.
    let old = "2020-01-01T00:00:00Z";
    mock.server
        .lock()
        .expect("server")
        .objects
        .get_mut(LEASE_PATH)
        .expect("lease")["spec"]["renewTime"] = json!(old);
    let (result, _) = mock.apply(false, false).await;
    result.expect("an expired lease is taken over");
}

async fn conflict(mock: &Mock) {
    applied_once(mock).await;
    mock.server.lock().expect("server").conflicts.insert(
        DEPLOYMENT_PATH.into(),
        (
            "kubectl-edit".into(),
            ".spec.template.spec.containers[name=\"framework\"].image".into(),
        ),
    );
    mock.edit(IMAGE, NEW_IMAGE);
    let plan = mock.plan(false, false).await.expect("plan");
    let text = shown(&plan);
    println!("{text}");
    assert!(
        text.contains("BLOCKED: Apply failed with 1 conflict: conflict with \"kubectl-edit\""),
        "{text}"
    );
    assert!(text.contains("pass --force-conflicts"), "{text}");
    let mark = mock.mark();
    let err = mock
        .apply(false, false)
        .await
        .0
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains(DEPLOYMENT)
            && err.contains("kubectl-edit")
            && err.contains("--force-conflicts"),
        "{err}"
    );
    assert!(
        applied(&mock.seen_since(mark)).is_empty(),
        "nothing applied while a conflict stands"
    );
    let mark = mock.mark();
    mock.apply(false, true)
        .await
        .0
        .expect("--force-conflicts takes ownership");
    let forced = mock
        .seen_since(mark)
        .into_iter()
        .find(|s| s.path == DEPLOYMENT_PATH && s.method == "PATCH" && !s.dry_run())
        .expect("applied");
    assert_eq!(forced.query.get("force").map(String::as_str), Some("true"));
}

async fn failed_rollout(mock: &Mock) {
    applied_once(mock).await;
    mock.server.lock().expect("server").failing_image = Some(NEW_IMAGE.into());
    mock.edit(IMAGE, NEW_IMAGE);
    let (result, steps) = mock.apply(true, false).await;
    let err = result.expect_err("the rollout fails").to_string();
    println!("{err}");
    for needle in [
        "Deployment ai-supply-chain/framework failed",
        "ProgressDeadlineExceeded",
        "timed out progressing",
        "Warning BackOff: Back-off restarting failed container framework",
        "failing pod framework-6c9f-x7k2p, container framework: waiting: CrashLoopBackOff",
        "| error: DATABASE_URL: connection refused (postgres:5432)",
        "--atomic: rolled back k8s:apps/v1/Deployment/ai-supply-chain/framework",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(steps.contains(&Step::RolledBack(DEPLOYMENT.into())));
    let deployment = mock.object(DEPLOYMENT_PATH).expect("deployment");
    assert_eq!(
        deployment.pointer("/spec/template/spec/containers/0/image"),
        Some(&json!(IMAGE)),
        "back on the previous template"
    );
    let logs = mock
        .seen_since(0)
        .into_iter()
        .find(|s| s.path.ends_with("/log"))
        .expect("logs read");
    assert_eq!(
        logs.query.get("previous").map(String::as_str),
        Some("true"),
        "a restarted container's previous run"
    );
}

async fn secret_masked(mock: &Mock) {
    applied_once(mock).await;
    mock.set_secret("SCF_DB_PASSWORD", "rotated-password-1b2c");
    let plan = mock.plan(true, false).await.expect("plan");
    let change = plan
        .changes
        .iter()
        .find(|c| c.address == SECRET)
        .expect("the Secret");
    assert_eq!(change.action, Action::Update, "a rotated value is a change");
    assert!(change.sensitive);
    let text = format!("{}{}", shown(&plan), plan.to_json().expect("json"));
    println!("{}", shown(&plan));
    let diff = change.diff.clone().unwrap_or_default();
    assert!(
        diff.contains("-  DATABASE_PASSWORD: (sensitive, fp ")
            && diff.contains("+  DATABASE_PASSWORD: (sensitive, fp "),
        "{diff}"
    );
    assert_eq!(
        diff.lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count(),
        1,
        "only the rotated key: {diff}"
    );
    for secret in [
        format!("{CANARY}-SCF_DB_PASSWORD"),
        "rotated-password-1b2c".to_string(),
    ] {
        assert!(
            !text.contains(&secret) && !text.contains(&base64(&secret)),
            "a secret value in the plan"
        );
    }
    // Without resolving (scf plan), values are never compared nor shown.
    let plan = mock.plan(false, false).await.expect("plan");
    assert!(!plan.has_changes(), "{}", shown(&plan));
}

async fn stale_plan(mock: &Mock) {
    applied_once(mock).await;
    mock.edit(IMAGE, NEW_IMAGE);
    let saved = mock.plan(false, false).await.expect("plan");
    let again = Plan::from_json(&saved.to_json().expect("json")).expect("round trip");
    assert!(scf::plan::drift(&again, &mock.plan(false, false).await.expect("plan")).is_empty());
    // Someone changes the Deployment behind the plan's back.
    {
        let mut server = mock.server.lock().expect("server");
        let v = server.next_version();
        server.objects.get_mut(DEPLOYMENT_PATH).expect("deployment")["metadata"]["resourceVersion"] =
            json!(v);
    }
    let moved = scf::plan::drift(&again, &mock.plan(false, false).await.expect("plan"));
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        moved[0].starts_with(DEPLOYMENT) && moved[0].contains("rv:"),
        "{moved:?}"
    );
}

/// One `#[tokio::test]` per scenario, named after it.
macro_rules! scenario_tests {
    ($($name:ident => $scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                Scenario::$scenario.run().await;
            }
        )*
    };
}

scenario_tests! {
    first_apply_creates_everything => FirstApplyCreatesEverything,
    second_plan_finds_no_change => SecondPlanFindsNoChange,
    image_change_updates_only_the_deployment => ImageChangeUpdatesOnlyTheDeployment,
    removed_object_is_pruned => RemovedObjectIsPruned,
    lease_held_by_another_is_refused => LeaseHeldByAnotherIsRefused,
    field_manager_conflict_is_reported => FieldManagerConflictIsReported,
    failed_rollout_is_reported_and_rolled_back => FailedRolloutIsReportedAndRolledBack,
    secret_diff_is_masked => SecretDiffIsMasked,
    saved_plan_is_refused_when_stale => SavedPlanIsRefusedWhenStale,
}

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
