//! The test bench: a framework.toml on the kubernetes profile with its secrets in files,
//! a client wired to the in-memory API server of [`crate::server`], what `scf apply
//! --auto-approve` does with them, and helpers to read plans and what reached the server.

use crate::server::{Seen, Server, serve};
use crate::support;
use http::{Request, Response};
use kube::client::Body;
use scf::cluster::apply::{ApplyOptions, Report, Step};
use scf::cluster::rollout::Wait;
use scf::cluster::{Cancel, Cluster, ClusterError, lease, plan, sequence};
use scf::doctor::Phase;
use scf::plan::{Action, Plan, show};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const NS: &str = "ai-supply-chain";
pub(crate) const IMAGE: &str = "registry.example.com/ai-supply-chain:1.0.0";
pub(crate) const NEW_IMAGE: &str = "registry.example.com/ai-supply-chain:1.1.0";
pub(crate) const DEPLOYMENT: &str = "k8s:apps/v1/Deployment/ai-supply-chain/framework";
pub(crate) const JOB: &str = "k8s:batch/v1/Job/ai-supply-chain/framework-migrate";
pub(crate) const SECRET: &str = "k8s:v1/Secret/ai-supply-chain/framework-secret";
pub(crate) const DEPLOYMENT_PATH: &str =
    "/apis/apps/v1/namespaces/ai-supply-chain/deployments/framework";
pub(crate) const SECRET_PATH: &str = "/api/v1/namespaces/ai-supply-chain/secrets/framework-secret";
pub(crate) const LEASE_PATH: &str =
    "/apis/coordination.k8s.io/v1/namespaces/ai-supply-chain/leases/scf-apply";

/// A framework.toml on the kubernetes profile, its secrets in files, and a client wired
/// to the in-memory API server.
pub(crate) struct Mock {
    pub(crate) server: Arc<Mutex<Server>>,
    cluster: Cluster,
    dir: tempfile::TempDir,
    config: PathBuf,
    /// `--allow-data-loss`.
    allow_data_loss: Cell<bool>,
    interrupt_after: RefCell<Option<String>>,
}

pub(crate) const CANARY: &str = "canary-7f3a9e";

impl Mock {
    pub(crate) fn new() -> Self {
        let (dir, config) = support::starter("kubernetes");
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).expect("secrets dir");
        let mut text = std::fs::read_to_string(&config).expect("read");
        for var in [
            "SCF_DB_PASSWORD",
            "SCF_DB_ADMIN_PASSWORD",
            "SCF_DB_MONITOR_PASSWORD",
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
            allow_data_loss: Cell::new(false),
            interrupt_after: RefCell::new(None),
        }
    }

    /// Appends `text` to framework.toml.
    pub(crate) fn append(&self, text: &str) {
        let mut all = std::fs::read_to_string(&self.config).expect("read");
        all.push_str(text);
        std::fs::write(&self.config, all).expect("write");
    }

    /// Interrupts (Ctrl-C) every apply from now on right after it writes `address`.
    pub(crate) fn interrupt_after(&self, address: &str) {
        *self.interrupt_after.borrow_mut() = Some(address.to_string());
    }

    /// Plans and applies with `--allow-data-loss` from now on, or not.
    pub(crate) fn allow_data_loss(&self, on: bool) {
        self.allow_data_loss.set(on);
    }

    pub(crate) fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).expect("read");
        assert!(text.contains(from), "framework.toml has {from:?}");
        std::fs::write(&self.config, text.replacen(from, to, 1)).expect("write");
    }

    pub(crate) fn set_secret(&self, var: &str, value: &str) {
        std::fs::write(self.dir.path().join("secrets").join(var), value).expect("secret");
    }

    pub(crate) fn compiled(&self) -> (scf::compile::Compiled, Vec<scf::artifact::Artifact>) {
        let compiled = scf::compile::load(&self.config).expect("a valid framework.toml");
        let artifacts = scf::compile::artifacts(&compiled.model).expect("artifacts");
        (compiled, artifacts)
    }

    pub(crate) async fn plan(
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
                allow_data_loss: self.allow_data_loss.get(),
            },
        )
        .await
    }

    /// What `scf apply --auto-approve` does: lease, plan with secrets, apply, release.
    pub(crate) async fn apply(
        &self,
        atomic: bool,
        force_conflicts: bool,
    ) -> (Result<Report, ClusterError>, Vec<Step>) {
        self.run(None, atomic, force_conflicts, lease::DURATION)
            .await
    }

    /// [`Mock::apply`] with a Lease of `duration`, renewed every third of it.
    pub(crate) async fn apply_leasing(
        &self,
        duration: Duration,
    ) -> (Result<Report, ClusterError>, Vec<Step>) {
        self.run(None, false, false, duration).await
    }

    /// What `scf apply plan.json` does: lease, plan without secrets, check, apply, release.
    pub(crate) async fn apply_saved(
        &self,
        saved: &Plan,
    ) -> (Result<Report, ClusterError>, Vec<Step>) {
        self.run(Some(saved), false, false, lease::DURATION).await
    }

    /// The function `scf apply` calls, approving the plan; an empty report when nothing
    /// changed.
    async fn run(
        &self,
        saved: Option<&Plan>,
        atomic: bool,
        force_conflicts: bool,
        lease: Duration,
    ) -> (Result<Report, ClusterError>, Vec<Step>) {
        let (compiled, artifacts) = self.compiled();
        let mut steps = Vec::new();
        let cancel = Cancel::default();
        let interrupt_after = self.interrupt_after.borrow().clone();
        let request = sequence::Request {
            compiled: &compiled,
            artifacts: &artifacts,
            saved,
            options: ApplyOptions {
                wait: Wait {
                    timeout: Duration::from_secs(5),
                    poll: Duration::from_millis(10),
                },
                atomic,
                force_conflicts,
                lease,
                allow_data_loss: self.allow_data_loss.get(),
                cancel: cancel.clone(),
            },
        };
        let result = sequence::apply(&self.cluster, request, &mut |_| Ok(()), &mut |s| {
            // Ctrl-C, as the CLI's handler sets it, right after the step named.
            if matches!(&s, Step::Done(_, a) if Some(a) == interrupt_after.as_ref()) {
                cancel.cancel();
            }
            steps.push(s)
        })
        .await
        .map(Option::unwrap_or_default);
        (result, steps)
    }

    /// What `scf doctor --target kubernetes` reports, both phases, at `now`.
    pub(crate) async fn doctor(&self, now: std::time::SystemTime) -> scf::doctor::Report {
        let (compiled, _) = self.compiled();
        let evidence = scf::doctor::cluster::gather(&self.cluster, &compiled.model)
            .await
            .expect("doctor reads the cluster");
        scf::doctor::run_on_cluster(&compiled, &[Phase::Pre, Phase::Post], &evidence, now)
    }

    pub(crate) fn mark(&self) -> usize {
        self.server.lock().expect("server").seen.len()
    }

    pub(crate) fn seen_since(&self, mark: usize) -> Vec<Seen> {
        self.server.lock().expect("server").seen[mark..].to_vec()
    }

    pub(crate) fn object(&self, path: &str) -> Option<Value> {
        self.server
            .lock()
            .expect("server")
            .objects
            .get(path)
            .cloned()
    }
}

/// The base64 of `text`, as the API carries Secret values.
pub(crate) fn base64(text: &str) -> String {
    serde_json::to_value(k8s_openapi::ByteString(text.as_bytes().to_vec()))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("base64")
}

pub(crate) fn addresses(plan: &Plan, action: Action) -> Vec<&str> {
    plan.changes
        .iter()
        .filter(|c| c.action == action)
        .map(|c| c.address.as_str())
        .collect()
}

pub(crate) fn shown(plan: &Plan) -> String {
    show::human(
        plan,
        "the cluster of context `mock` (namespace ai-supply-chain)",
        false,
    )
}

/// The non-dry-run applies (PATCH) in order, by path and field manager.
pub(crate) fn applied(seen: &[Seen]) -> Vec<(String, String)> {
    seen.iter()
        .filter(|s| s.method == "PATCH" && !s.dry_run())
        .map(|s| (s.path.clone(), s.query["fieldManager"].clone()))
        .collect()
}

pub(crate) async fn applied_once(mock: &Mock) {
    let (result, _) = mock.apply(false, false).await;
    result.expect("the first apply succeeds");
}
