//! Several nodes booted at once, reachable over SSH from the machine as a deploy from CI
//! reaches its servers: one key pair made for the test, authorized for root on every node,
//! and a known_hosts file that pins each node's real host key.
//!
//! ```text
//! let fleet = Fleet::boot(vec![Node::builder("app-1"), Node::builder("app-2")])?;
//! fleet.node("app-1")                       // Option<&Node>
//! fleet.identity().private_key()            // for `ssh -i` / `scf --identity`
//! fleet.known_hosts()                       // for `UserKnownHostsFile` / `scf --known-hosts`
//! ```

use std::path::{Path, PathBuf};
use std::thread;

use super::ssh::{Identity, write_known_hosts};
use super::{Node, NodeBuilder, NodeError};

/// Nodes booted together, with the test's SSH identity and known_hosts; torn down on drop.
#[derive(Debug)]
pub struct Fleet {
    nodes: Vec<Node>,
    identity: Identity,
    known_hosts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fleet {
    /// Boots every node in parallel, authorizes a new identity on each and writes the
    /// known_hosts file; when one node fails to boot, the others are torn down.
    pub fn boot(builders: Vec<NodeBuilder>) -> Result<Fleet, NodeError> {
        let dir = tempfile::Builder::new()
            .prefix("scf-fleet")
            .tempdir()
            .map_err(|source| NodeError::io("create the fleet's dir", source))?;
        let identity = Identity::generate(dir.path())?;
        let booted: Vec<Result<Node, NodeError>> = thread::scope(|scope| {
            let boots: Vec<_> = builders
                .into_iter()
                .map(|builder| scope.spawn(move || builder.boot()))
                .collect();
            boots
                .into_iter()
                .map(|boot| {
                    boot.join()
                        .unwrap_or_else(|_| Err(NodeError::Setup("a node's boot panicked".into())))
                })
                .collect()
        });
        let nodes = booted.into_iter().collect::<Result<Vec<_>, _>>()?;
        for node in &nodes {
            node.authorize(&identity)?;
        }
        let known_hosts = dir.path().join("known_hosts");
        write_known_hosts(&known_hosts, &nodes)?;
        Ok(Fleet {
            nodes,
            identity,
            known_hosts,
            _dir: dir,
        })
    }

    /// Every node, in the order they were given.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with host name `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.name() == name)
    }

    /// The key pair every node lets log in as root.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The known_hosts file holding every node's host key as it booted.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// Tears every node down; the first error, after trying them all.
    pub fn teardown(self) -> Result<(), NodeError> {
        let results: Vec<_> = self.nodes.into_iter().map(Node::teardown).collect();
        results.into_iter().collect()
    }
}
