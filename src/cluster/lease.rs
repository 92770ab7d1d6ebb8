//! The apply lock on a cluster: a `coordination.k8s.io/v1` Lease `scf-apply` in the
//! namespace, naming its holder. The holder renews it while it works; a lease nobody
//! renewed for its duration ([`DURATION`] on a real apply) is expired, and the next apply takes it over and says so. So
//! a crashed apply never leaves a lock that needs a manual fix (Helm's `pending-upgrade`),
//! and a live one is refused with who holds it, since when, and how to break it. A renewal
//! that fails loses the lease: the apply asks [`Lock::check`] before each write and stops.

use super::connect::Cluster;
use super::error::{ClusterError, Held};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, PostParams};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The Lease's name.
pub const NAME: &str = "scf-apply";
/// How long a real apply's lease lasts without renewal.
pub const DURATION: Duration = Duration::from_secs(60);

/// A held lease; renewed in the background until [`Lock::release`].
#[derive(Debug)]
pub struct Lock {
    api: Api<Lease>,
    identity: String,
    renewal: tokio::task::JoinHandle<()>,
    /// Why the renewal failed, once it has.
    lost: Arc<OnceLock<String>>,
    /// The holder of an expired lease this apply took over, to report.
    pub reclaimed: Option<String>,
}

/// `user@host pid N`: who this apply is.
pub fn identity() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{host} pid {}", std::process::id())
}

/// The note of an apply that took over an expired lease.
pub fn took_over(namespace: &str, holder: &str) -> String {
    format!("took over the expired Lease {namespace}/{NAME} left by {holder}")
}

fn shown(t: Option<&MicroTime>) -> String {
    t.map_or_else(|| "(unknown)".into(), |t| format!("{:.0}", t.0))
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// When `lease` expires, if it has a holder.
fn expiry(lease: &Lease) -> Option<Timestamp> {
    let spec = lease.spec.as_ref()?;
    spec.holder_identity.as_ref().filter(|h| !h.is_empty())?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let secs = spec.lease_duration_seconds.unwrap_or(0);
    renewed
        .checked_add(SignedDuration::from_secs(i64::from(secs)))
        .ok()
}

fn held(namespace: &str, lease: &Lease) -> Held {
    let spec = lease.spec.clone().unwrap_or_default();
    Held {
        namespace: namespace.into(),
        lease: NAME.into(),
        holder: spec.holder_identity.unwrap_or_else(|| "(unknown)".into()),
        acquired: shown(spec.acquire_time.as_ref()),
        renewed: shown(spec.renew_time.as_ref()),
        expires: expiry(lease).map_or_else(|| "(unknown)".into(), |t| format!("{t:.0}")),
    }
}

/// Takes the lease in `namespace` (which must exist) as `identity`, for `duration`, and
/// renews it every third of that.
pub async fn acquire(
    cluster: &Cluster,
    namespace: &str,
    identity: &str,
    duration: Duration,
) -> Result<Lock, ClusterError> {
    let api: Api<Lease> = cluster.typed(namespace);
    let fail = |e| cluster.fail(format!("take the Lease {namespace}/{NAME}"), e);
    let now = MicroTime(Timestamp::now());
    let mut mine = Lease {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(identity.into()),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_duration_seconds: Some(seconds(duration)),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    };
    let live = api.get_opt(NAME).await.map_err(fail)?;
    let mut reclaimed = None;
    let taken = match &live {
        None => api.create(&PostParams::default(), &mine).await,
        Some(live) => {
            if expiry(live).is_some_and(|t| t > Timestamp::now()) {
                return Err(held(namespace, live).into());
            }
            reclaimed = live.spec.as_ref().and_then(|s| s.holder_identity.clone());
            mine.metadata.resource_version = live.metadata.resource_version.clone();
            if let Some(spec) = mine.spec.as_mut() {
                let before = live.spec.as_ref().and_then(|s| s.lease_transitions);
                spec.lease_transitions = Some(before.unwrap_or(0) + 1);
            }
            api.replace(NAME, &PostParams::default(), &mine).await
        }
    };
    match taken {
        Ok(_) => {}
        // Another apply took it between our read and our write.
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let now_held = api.get(NAME).await.map_err(fail)?;
            return Err(held(namespace, &now_held).into());
        }
        Err(e) => return Err(fail(e)),
    }
    let lost = Arc::new(OnceLock::new());
    let renewal = tokio::spawn(renew(
        cluster.clone(),
        api.clone(),
        identity.to_string(),
        duration / 3,
        lost.clone(),
    ));
    Ok(Lock {
        api,
        identity: identity.into(),
        renewal,
        lost,
        reclaimed: reclaimed.filter(|h| !h.is_empty()),
    })
}

/// Renews the lease every `period`; stops at the first renewal that fails, saying why in
/// `lost`.
async fn renew(
    cluster: Cluster,
    api: Api<Lease>,
    identity: String,
    period: Duration,
    lost: Arc<OnceLock<String>>,
) {
    loop {
        tokio::time::sleep(period).await;
        if let Err(cause) = renew_once(&api, &identity).await {
            let cause = match cause {
                Renewal::Failed(action, e) => cluster.fail(action, e).to_string(),
                Renewal::Taken(holder) => format!("{holder} holds it now"),
            };
            let _ = lost.set(cause);
            return;
        }
    }
}

/// Why a renewal failed.
enum Renewal {
    /// A request failed: what it was for, and how.
    Failed(&'static str, kube::Error),
    /// Another holder has it.
    Taken(String),
}

async fn renew_once(api: &Api<Lease>, identity: &str) -> Result<(), Renewal> {
    let mut lease = api
        .get(NAME)
        .await
        .map_err(|e| Renewal::Failed("read it", e))?;
    let spec = lease.spec.get_or_insert_default();
    if spec.holder_identity.as_deref() != Some(identity) {
        let holder = spec.holder_identity.as_deref().unwrap_or("nobody");
        return Err(Renewal::Taken(holder.to_string()));
    }
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    api.replace(NAME, &PostParams::default(), &lease)
        .await
        .map_err(|e| Renewal::Failed("renew it", e))?;
    Ok(())
}

impl Lock {
    /// Fails once a renewal failed: `next` is the write the apply was about to make.
    pub fn check(&self, next: &str) -> Result<(), ClusterError> {
        match self.lost.get() {
            None => Ok(()),
            Some(cause) => Err(ClusterError::LeaseLost {
                lease: format!("{}/{NAME}", self.api.namespace().unwrap_or_default()),
                cause: cause.clone(),
                next: next.into(),
            }),
        }
    }

    /// Stops renewing and deletes the lease, if it is still ours.
    pub async fn release(self) {
        self.renewal.abort();
        let ours = self
            .api
            .get_opt(NAME)
            .await
            .ok()
            .flatten()
            .is_some_and(|l| {
                l.spec.and_then(|s| s.holder_identity).as_deref() == Some(self.identity.as_str())
            });
        if ours {
            let _ = self.api.delete(NAME, &DeleteParams::default()).await;
        }
    }
}

/// Takes the lease when `namespace` exists; `None` when it does not yet, and the apply
/// takes it right after creating the namespace.
pub async fn acquire_if_namespace(
    cluster: &Cluster,
    namespace: &str,
    identity: &str,
    duration: Duration,
) -> Result<Option<Lock>, ClusterError> {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
    let exists = namespaces
        .get_opt(namespace)
        .await
        .map_err(|e| cluster.fail(format!("read the Namespace {namespace}"), e))?
        .is_some();
    if !exists {
        return Ok(None);
    }
    acquire(cluster, namespace, identity, duration)
        .await
        .map(Some)
}
