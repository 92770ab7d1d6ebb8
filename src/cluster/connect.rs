//! Reaching the cluster: the kubeconfig (`--kubeconfig`, else `$KUBECONFIG`, else
//! `~/.kube/config`) and its context (`--context`, else the current one), with short
//! timeouts so that an unreachable API server fails in seconds, naming the context and the
//! server, instead of hanging.

use super::error::ClusterError;
use kube::api::{Api, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};
use std::path::PathBuf;
use std::time::Duration;

/// How long a TCP (and TLS) connection to the API server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the API server may take to answer one request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Which cluster to talk to.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The kubeconfig file; `None` reads `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The context; `None` is the kubeconfig's current context.
    pub context: Option<String>,
}

/// A client for one cluster, with the names its errors quote.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// The kubeconfig context (or a label, for tests).
    pub context: String,
    /// The API server's URL.
    pub server: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cluster({} at {})", self.context, self.server)
    }
}

impl Cluster {
    /// A cluster over an existing client (tests build one on a mock API server).
    pub fn new(client: Client, context: &str, server: &str) -> Self {
        Self {
            client,
            context: context.into(),
            server: server.into(),
        }
    }

    /// Loads the kubeconfig and makes a client; no request is sent yet.
    pub async fn connect(opts: &ConnectOptions) -> Result<Self, ClusterError> {
        let place = opts.kubeconfig.as_ref().map_or_else(
            || "from $KUBECONFIG or ~/.kube/config".to_string(),
            |p| p.display().to_string(),
        );
        let bad = |cause: String| ClusterError::Kubeconfig {
            place: place.clone(),
            cause,
        };
        let kubeconfig = match &opts.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(|e| bad(e.to_string()))?;
        let context = opts
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .ok_or_else(|| bad("it names no current context".into()))?;
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| bad(format!("context `{context}`: {e}")))?;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        config.reset_reader_on_write = true;
        let server = config.cluster_url.to_string();
        let client =
            Client::try_from(config).map_err(|e| bad(format!("context `{context}`: {e}")))?;
        Ok(Self {
            client,
            context,
            server,
        })
    }

    /// The dynamic API of `resource`, in `namespace` or cluster-wide.
    pub fn api(&self, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, resource),
            None => Api::all_with(self.client.clone(), resource),
        }
    }

    /// The typed API of a namespaced built-in kind.
    pub fn typed<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The error for a failed request made to `action` (e.g. `read Deployment ns/name`).
    pub fn fail(&self, action: impl Into<String>, e: kube::Error) -> ClusterError {
        let action = action.into();
        match e {
            kube::Error::Api(status) => ClusterError::Api {
                action,
                message: status.message.clone(),
                reason: status.reason.clone(),
                code: status.code,
            },
            other => ClusterError::Unreachable {
                context: self.context.clone(),
                server: self.server.clone(),
                action,
                cause: error_chain(&other),
            },
        }
    }
}

/// An error with its causes, `a: b: c`, since the client's top error is often just
/// "client error (Connect)".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
