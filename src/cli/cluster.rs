//! `scf plan` and `scf apply` with `--target kubernetes` (or `target.kind = "kubernetes"`):
//! the same plan, output, saved plans and exit codes as on a host, against the cluster of
//! a kubeconfig context.

use super::progress::Rollouts;
use super::report::{color_stderr, confirm, fail};
use crate::artifact::Artifact;
use crate::cluster::apply::{self as cluster_apply, ApplyOptions};
use crate::cluster::plan::{self as cluster_plan, namespace};
use crate::cluster::rollout::Wait;
use crate::cluster::{Cancel, Cluster, ClusterError, ConnectOptions, lease, sequence};
use crate::compile::Compiled;
use crate::plan::{Plan, show};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Which cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Kubernetes: the kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Kubernetes: the kubeconfig (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// Which cluster, and how to write to it, for plan and apply.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Kubernetes: take over fields another field manager set (server-side apply force).
    #[arg(long)]
    pub force_conflicts: bool,
}

/// How a cluster apply waits and fails.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeApplyArgs {
    /// Kubernetes: when a workload fails, roll the changed workloads back to their
    /// previous pod template, the changed ConfigMaps and Secrets to their previous data
    /// (and delete what this apply created).
    #[arg(long)]
    pub atomic: bool,
    /// Kubernetes: how long each workload may take to become ready, e.g. `10m`.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: crate::config::values::Duration,
}

/// Runs `work` to completion on a runtime of its own.
fn block_on<T>(work: impl Future<Output = Result<T, ClusterError>>) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(work).map_err(|e| e.to_string())
}

async fn connect(args: &ClusterArgs) -> Result<Cluster, ClusterError> {
    Cluster::connect(&ConnectOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    })
    .await
}

/// Where the plan applies, in words.
fn place(cluster: &Cluster, namespace: &str) -> String {
    format!(
        "the cluster of context `{}` (namespace {namespace})",
        cluster.context
    )
}

/// Plans the cluster; the plan and where it applies.
pub fn plan(
    compiled: &Compiled,
    artifacts: &[Artifact],
    kube: &KubeArgs,
    allow_data_loss: bool,
) -> Result<(Plan, String), String> {
    block_on(async {
        let cluster = connect(&kube.cluster).await?;
        let opts = cluster_plan::Options {
            resolve_secrets: false,
            force_conflicts: kube.force_conflicts,
            allow_data_loss,
        };
        let plan = cluster_plan::plan(&cluster, compiled, artifacts, opts).await?;
        Ok((plan, place(&cluster, namespace(compiled)?)))
    })
}

/// Reads the deployment's state from the cluster for `scf doctor`; the evidence and where
/// it was read, in words.
pub fn doctor_evidence(
    compiled: &Compiled,
    args: &ClusterArgs,
) -> Result<(crate::doctor::cluster::Evidence, String), String> {
    block_on(async {
        let cluster = connect(args).await?;
        let evidence = crate::doctor::cluster::gather(&cluster, &compiled.model).await?;
        Ok((evidence, place(&cluster, namespace(compiled)?)))
    })
}

/// What `scf apply` asked for, on a cluster.
pub struct Request<'a> {
    /// The deployment.
    pub compiled: &'a Compiled,
    /// Its artifacts (for the inputs' hashes).
    pub artifacts: &'a [Artifact],
    /// A saved plan, applied only when the recomputed plan matches it exactly.
    pub saved: Option<Plan>,
    /// Apply without asking.
    pub auto_approve: bool,
    /// Which cluster.
    pub kube: &'a KubeArgs,
    /// How to wait.
    pub apply: &'a KubeApplyArgs,
    /// Let a removed tenant go.
    pub allow_data_loss: bool,
}

/// Applies a saved plan exactly, or plans (resolving secrets), asks, and applies, under
/// the namespace's Lease.
pub fn apply(request: Request) -> ExitCode {
    let result = block_on(async {
        let cluster = connect(&request.kube.cluster).await?;
        run(&cluster, &request).await
    });
    match result {
        Ok(Some(message)) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// From now on, the first Ctrl-C stops the apply at its next step (it then cleans up as a
/// failed apply does) and a second one quits at once. Before the plan is approved, Ctrl-C
/// keeps its default: quit.
fn on_interrupt(cancel: &Cancel) {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted: the apply stops at its next step and cleans up as a failed apply does (Ctrl-C again quits at once)"
            );
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

/// The apply: lease, plan, check or confirm, execute. `None`: nothing to do.
async fn run(cluster: &Cluster, request: &Request<'_>) -> Result<Option<String>, ClusterError> {
    let ns = namespace(request.compiled)?;
    let cancel = Cancel::default();
    let sequence = sequence::Request {
        compiled: request.compiled,
        artifacts: request.artifacts,
        saved: request.saved.as_ref(),
        options: ApplyOptions {
            wait: Wait {
                timeout: Duration::from_millis(request.apply.timeout.as_millis()),
                poll: cluster_apply::POLL,
            },
            atomic: request.apply.atomic,
            force_conflicts: request.kube.force_conflicts,
            lease: lease::DURATION,
            allow_data_loss: request.allow_data_loss,
            cancel: cancel.clone(),
        },
    };
    if sequence.saved.is_some() {
        on_interrupt(&cancel);
    }
    let mut approve = |fresh: &Plan| {
        print!(
            "{}",
            show::human(fresh, &place(cluster, ns), color_stderr())
        );
        match fresh.has_changes().then(|| confirm(request.auto_approve)) {
            None | Some(Ok(true)) => {
                on_interrupt(&cancel);
                Ok(())
            }
            Some(Ok(false)) => Err(ClusterError::Refused("apply cancelled".into())),
            Some(Err(e)) => Err(ClusterError::Refused(e)),
        }
    };
    let mut progress = Rollouts::new();
    let result = sequence::apply(cluster, sequence, &mut approve, &mut |s| progress.step(s)).await;
    progress.finish();
    let Some(report) = result? else {
        return Ok(None);
    };
    Ok(Some(format!(
        "Apply complete: {} applied, {} pruned, on {}.",
        report.applied.len(),
        report.pruned.len(),
        place(cluster, ns)
    )))
}
