//! What the progress WebSockets share. [`Progress::follow`] gives every socket on one
//! implementation the same feed: one poller per implementation reads it from the
//! database and publishes each change to a watch channel, however many sockets follow
//! it, and stops once nobody follows or the run reached a final state. [`Progress::open`]
//! caps the sockets one user (or API key) and one tenant may hold on this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use prometheus::IntGauge;
use tokio::sync::watch;

use crate::domain::implementation::State as RunState;
use crate::settings::Connections;
use crate::tenancy::implementations::ImplementationRow;
use crate::tenancy::store::TenantDb;

/// How often a poller reads its implementation.
const POLL: Duration = Duration::from_millis(200);

/// The latest view of an implementation, as its sockets send it (JSON); `None` until the
/// first read. The channel closes after the final state, or when the run is gone.
pub type Feed = watch::Receiver<Option<Arc<str>>>;

/// Renders an implementation as its sockets send it.
pub type Render = fn(&ImplementationRow) -> Result<String, serde_json::Error>;

/// The publishing end of a feed, shared by its poller and the map of feeds.
type Publisher = Arc<watch::Sender<Option<Arc<str>>>>;

/// Why a socket was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SocketLimit {
    /// The user or key holds its share.
    #[error(
        "this user or API key already follows {0} implementations, the most allowed (WEBSOCKETS_PER_USER); close one first"
    )]
    User(usize),
    /// The tenant holds its share.
    #[error(
        "this tenant already has {0} progress WebSockets open, the most allowed (WEBSOCKETS_PER_TENANT); close one first"
    )]
    Tenant(usize),
}

#[derive(Default)]
struct Open {
    users: HashMap<String, usize>,
    tenants: HashMap<String, usize>,
}

/// The feeds and the socket counts of one server.
pub struct Progress {
    feeds: Mutex<HashMap<(String, String), Publisher>>,
    open: Mutex<Open>,
    limits: Connections,
    sockets: IntGauge,
    pollers: IntGauge,
}

/// One open socket's place in the counts, given back when dropped.
pub struct Permit {
    progress: Arc<Progress>,
    user: String,
    tenant: String,
}

impl Progress {
    /// No feeds and no sockets yet; `sockets` and `pollers` are the gauges to keep.
    pub fn new(limits: Connections, sockets: IntGauge, pollers: IntGauge) -> Arc<Self> {
        Arc::new(Self {
            feeds: Mutex::default(),
            open: Mutex::default(),
            limits,
            sockets,
            pollers,
        })
    }

    /// Counts a socket of `user` in `tenant`, or refuses it past either cap.
    pub fn open(self: &Arc<Self>, user: &str, tenant: &str) -> Result<Permit, SocketLimit> {
        let mut open = lock(&self.open);
        let held = |map: &HashMap<String, usize>, key: &str| map.get(key).copied().unwrap_or(0);
        if held(&open.users, user) >= self.limits.sockets_per_user {
            return Err(SocketLimit::User(self.limits.sockets_per_user));
        }
        if held(&open.tenants, tenant) >= self.limits.sockets_per_tenant {
            return Err(SocketLimit::Tenant(self.limits.sockets_per_tenant));
        }
        *open.users.entry(user.to_owned()).or_default() += 1;
        *open.tenants.entry(tenant.to_owned()).or_default() += 1;
        self.sockets.inc();
        Ok(Permit {
            progress: self.clone(),
            user: user.to_owned(),
            tenant: tenant.to_owned(),
        })
    }

    /// The feed of implementation `id` in `store`, starting its poller when nobody
    /// follows it yet.
    pub fn follow(self: &Arc<Self>, store: TenantDb, id: &str, render: Render) -> Feed {
        let key = (store.tenant.to_string(), id.to_owned());
        let mut feeds = lock(&self.feeds);
        if let Some(feed) = feeds.get(&key) {
            return feed.subscribe();
        }
        let (tx, rx) = watch::channel(None);
        let tx = Arc::new(tx);
        feeds.insert(key.clone(), tx.clone());
        self.pollers.inc();
        tokio::spawn(self.clone().poll(key, store, tx, render));
        rx
    }

    async fn poll(
        self: Arc<Self>,
        key: (String, String),
        store: TenantDb,
        tx: Publisher,
        render: Render,
    ) {
        let mut last = String::new();
        loop {
            let row = match store.implementation(&key.1).await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(implementation = %key.1, error = %e, "progress events stopped: storage failed");
                    break;
                }
            };
            match render(&row) {
                Ok(json) if json != last => {
                    tx.send_replace(Some(Arc::from(json.as_str())));
                    last = json;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(implementation = %key.1, error = %e, "cannot encode a progress event (a bug)");
                    break;
                }
            }
            if RunState::parse(&row.state).is_final() {
                break;
            }
            tokio::time::sleep(POLL).await;
            // Checked under the lock `follow` takes, so no socket joins a feed that ends.
            let mut feeds = lock(&self.feeds);
            if tx.receiver_count() == 0 {
                feeds.remove(&key);
                self.pollers.dec();
                return;
            }
        }
        // Only this poller removes its entry, so the entry is still this one.
        lock(&self.feeds).remove(&key);
        self.pollers.dec();
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut guard = lock(&self.progress.open);
        let open = &mut *guard;
        for (map, key) in [
            (&mut open.users, &self.user),
            (&mut open.tenants, &self.tenant),
        ] {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
        self.progress.sockets.dec();
    }
}

/// A lock whose holder never panics while holding it; poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
