//! A real nginx serving a generated site as `nobody`, every `listen` moved to a free
//! loopback port and every proxied address pointed at a given backend, so tests can check
//! redirects, headers and WebSocket upgrades against the real runtime.

use std::collections::BTreeMap;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};

use super::rewrite::Live;
use super::{Findings, TestTree};
use crate::process::{Account, Server, lost_port_race, read_log};
use crate::services::ServiceError;

/// Settings for a [`LiveNginx`]; start it with [`LiveNginxBuilder::start`].
#[derive(Debug)]
pub struct LiveNginxBuilder {
    site: PathBuf,
    http_snippets: Vec<PathBuf>,
    backend: Option<SocketAddr>,
    remaps: Vec<(String, PathBuf)>,
}

impl LiveNginxBuilder {
    /// Adds an http-level snippet (included before the site).
    pub fn http_snippet(mut self, path: &Path) -> Self {
        self.http_snippets.push(path.to_owned());
        self
    }

    /// Points every `proxy_pass`/`grpc_pass` with an explicit port, and every upstream
    /// `server`, at `addr`.
    pub fn backend(mut self, addr: SocketAddr) -> Self {
        self.backend = Some(addr);
        self
    }

    /// Serves `root`/`alias` paths under `from` out of `to` (which `nobody` must be able to read).
    pub fn remap(mut self, from: &str, to: &Path) -> Self {
        self.remaps.push((from.to_owned(), to.to_owned()));
        self
    }

    /// Starts nginx and waits until it accepts connections; a config nginx rejects comes
    /// back as [`Findings::Rejected`] with nginx's output.
    pub fn start(self) -> Result<LiveNginx, Findings> {
        let mut attempt = 0;
        loop {
            match self.try_start() {
                Err(Findings::Rejected { ref output, .. })
                    if attempt < 5 && lost_port_race(output) =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn try_start(&self) -> Result<LiveNginx, Findings> {
        let mut live = Live {
            backend: self.backend,
            remaps: self.remaps.clone(),
            ..Live::default()
        };
        let snippets: Vec<&Path> = self.http_snippets.iter().map(PathBuf::as_path).collect();
        let tree = TestTree::build(&self.site, &snippets, Some(&mut live))?;
        let Some(&first_port) = live.ports.values().next() else {
            return Err(Findings::Harness(
                "the site has no listen directive".to_owned(),
            ));
        };
        own_tree(tree.root())?;
        let mut cmd = Account::Nobody.command(&crate::tools::find("nginx")?);
        tree.args(&mut cmd);
        cmd.args(["-g", "daemon off;"]);
        let root = tree.root().to_owned();
        let mut server = Server::spawn(cmd, "TERM", &root.join("logs/stderr.log"), &root)?;
        server.wait_ready("nginx", || {
            TcpStream::connect(("127.0.0.1", first_port)).is_ok()
        })?;
        Ok(LiveNginx {
            server,
            ports: live.ports,
            tree,
        })
    }
}

/// A running nginx serving the site; stopped on Drop.
#[derive(Debug)]
pub struct LiveNginx {
    server: Server,
    ports: BTreeMap<u16, u16>,
    /// Removed after the server (declared first, so dropped first) has stopped.
    tree: TestTree,
}

impl LiveNginx {
    /// Settings for a live nginx serving `site`.
    pub fn builder(site: &Path) -> LiveNginxBuilder {
        LiveNginxBuilder {
            site: site.to_owned(),
            http_snippets: Vec::new(),
            backend: None,
            remaps: Vec::new(),
        }
    }

    /// The loopback port now serving what the site listened on as `original` (e.g. 443).
    pub fn port(&self, original: u16) -> Option<u16> {
        self.ports.get(&original).copied()
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        read_log(&self.tree.root().join("logs/error.log")) + &self.server.log()
    }

    /// Fails if nginx has logged anything at `warn` or above (the log level the harness sets).
    pub fn check_error_log(&self) -> Result<(), Findings> {
        let log = self.error_log();
        if log.trim().is_empty() {
            return Ok(());
        }
        Err(Findings::Rejected {
            tool: "nginx".to_owned(),
            command: "nginx (live)".to_owned(),
            status: "error log not empty".to_owned(),
            output: log,
        })
    }
}

/// Hands the work dir and everything in it (the key included) to `nobody`.
fn own_tree(dir: &Path) -> Result<(), ServiceError> {
    Account::Nobody.own(dir)?;
    let entries =
        fs::read_dir(dir).map_err(|err| ServiceError::io("list the nginx work dir", err))?;
    for entry in entries {
        let path = entry
            .map_err(|err| ServiceError::io("list the nginx work dir", err))?
            .path();
        if path.is_dir() {
            own_tree(&path)?;
        } else {
            Account::Nobody.own(&path)?;
        }
    }
    Ok(())
}
