//! The nodes' only way out: an apt-cacher-ng of this test process on the bridge address,
//! forwarding to the Debian mirror the machine's own apt uses. Its cache lives in the tools
//! dir, so packages are downloaded once across runs; a second test process running at the
//! same time gets a cache of its own rather than sharing a directory with a live proxy.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::NodeError;
use super::net::GATEWAY;
use crate::process::{Server, lost_port_race};
use crate::services::ServiceError;

/// Where the proxies of concurrent test processes listen (3142 is apt-cacher-ng's own).
const PORTS: RangeInclusive<u16> = 3142..=3241;

/// The proxy of this test process, with the lock on the shared cache (when it got it).
#[derive(Debug)]
pub(crate) struct AptProxy {
    port: u16,
    _server: Server,
    _cache_lock: Option<File>,
    _dir: tempfile::TempDir,
}

/// The process's proxy, started on first use; it stops when the test process exits.
pub(crate) fn apt_proxy(node_dir: &Path) -> Result<&'static AptProxy, NodeError> {
    static PROXY: OnceLock<Result<AptProxy, String>> = OnceLock::new();
    PROXY
        .get_or_init(|| AptProxy::start(node_dir).map_err(|err| err.to_string()))
        .as_ref()
        .map_err(|err| NodeError::Setup(format!("the nodes' apt proxy did not start: {err}")))
}

impl AptProxy {
    fn start(node_dir: &Path) -> Result<AptProxy, NodeError> {
        let dir = tempfile::Builder::new()
            .prefix("scf-apt-proxy")
            .tempdir()
            .map_err(|source| NodeError::io("create the proxy's dir", source))?;
        let (cache, cache_lock) = cache_dir(node_dir, dir.path())?;
        let (server, port) = start_on_free_port(|port| {
            let conf = dir.path().join("conf");
            write_config(&conf, &cache, dir.path(), port)?;
            let mut cmd = Command::new("apt-cacher-ng");
            cmd.arg("-c").arg(&conf);
            let mut server = Server::spawn(cmd, "TERM", &dir.path().join("acng.out"), dir.path())?;
            let addr = SocketAddr::from((GATEWAY, port));
            server.wait_ready("apt-cacher-ng", || {
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            })?;
            Ok(server)
        })?;
        Ok(AptProxy {
            port,
            _server: server,
            _cache_lock: cache_lock,
            _dir: dir,
        })
    }

    /// The proxy URL a node's apt uses.
    pub(crate) fn url(&self) -> String {
        format!("http://{GATEWAY}:{}/", self.port)
    }
}

/// The shared cache when no other live proxy holds it, else a private one in `work`.
fn cache_dir(
    node_dir: &Path,
    work: &Path,
) -> Result<(std::path::PathBuf, Option<File>), NodeError> {
    let shared = node_dir.join("apt-cache");
    fs::create_dir_all(&shared).map_err(|source| NodeError::io("create the apt cache", source))?;
    let lock = File::create(node_dir.join("apt-cache.lock"))
        .map_err(|source| NodeError::io("open the apt cache lock", source))?;
    if lock.try_lock().is_ok() {
        return Ok((shared, Some(lock)));
    }
    let private = work.join("cache");
    fs::create_dir_all(&private).map_err(|source| NodeError::io("create an apt cache", source))?;
    Ok((private, None))
}

/// Starts a server on the first port of [`PORTS`] free on the bridge, trying the next one
/// when another process takes it first. (apt-cacher-ng 3.7 cannot bind ports above 32767,
/// so the kernel's ephemeral ports are no choice.)
fn start_on_free_port(
    mut start: impl FnMut(u16) -> Result<Server, ServiceError>,
) -> Result<(Server, u16), NodeError> {
    for port in PORTS {
        if TcpListener::bind((GATEWAY, port)).is_err() {
            continue;
        }
        match start(port) {
            Ok(server) => return Ok((server, port)),
            Err(ServiceError::Startup { log, .. }) if lost_port_race(&log) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(NodeError::Setup(format!(
        "no free port for the apt proxy on {GATEWAY} in {PORTS:?}"
    )))
}

/// A config of its own: no remapping to other mirrors, listening only on the bridge.
fn write_config(conf: &Path, cache: &Path, work: &Path, port: u16) -> Result<(), ServiceError> {
    fs::create_dir_all(conf)
        .map_err(|source| ServiceError::io("create the proxy config", source))?;
    let text = format!(
        "CacheDir: {cache}\nLogDir: {work}\nSupportDir: /usr/lib/apt-cacher-ng\n\
         Port: {port}\nBindAddress: {GATEWAY}\nPidFile: {work}/acng.pid\n\
         SocketPath: {work}/acng.socket\nForeGround: 1\nExThreshold: 4\n",
        cache = cache.display(),
        work = work.display(),
    );
    fs::write(conf.join("acng.conf"), text)
        .map_err(|source| ServiceError::io("write the proxy config", source))
}
