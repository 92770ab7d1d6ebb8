//! nginx: `nginx -t` and gixy on a generated site, and a live nginx in front of a backend.
//!
//! The site (plus optional http-level snippets such as `map`/`limit_req_zone`) is included
//! from a test `nginx.conf` whose pid, temp paths and logs live in a work dir; certificate
//! and log paths in the site are swapped for throwaway ones without moving any line, so
//! findings point at the generated file's own line numbers.

mod live;
mod rewrite;

pub use live::{LiveNginx, LiveNginxBuilder};

use std::path::{Path, PathBuf};

use super::{Findings, Ran, Report, read, run, scratch, tool, write};
use rewrite::{Live, Paths};

/// `nginx -t` on the site: passes only if nginx prints nothing (`[warn]`s exit 0 too).
pub fn check(site: &Path, http_snippets: &[&Path]) -> Result<Report, Findings> {
    let tree = TestTree::build(site, http_snippets, None)?;
    let mut cmd = tool("nginx")?;
    cmd.arg("-t").arg("-q");
    tree.args(&mut cmd);
    tree.point_at_sources(run(&mut cmd)?).silent()
}

/// gixy on the same tree: passes only when it reports no issue. `--nginx-version` is not
/// used: it reports CVEs that Debian has patched.
pub fn gixy(site: &Path, http_snippets: &[&Path]) -> Result<Report, Findings> {
    let tree = TestTree::build(site, http_snippets, None)?;
    let ran = run(tool("gixy")?.arg(&tree.conf))?;
    tree.point_at_sources(ran).judge(true, "")
}

/// A work dir holding the test `nginx.conf`, the rewritten site and snippets, a throwaway
/// certificate, temp paths and logs.
#[derive(Debug)]
pub(crate) struct TestTree {
    dir: tempfile::TempDir,
    conf: PathBuf,
    /// (rewritten copy, the caller's file) pairs.
    sources: Vec<(PathBuf, PathBuf)>,
}

impl TestTree {
    /// Writes the tree for `site` and `http_snippets`; `live` adds the live-run rewrites.
    pub(crate) fn build(
        site: &Path,
        http_snippets: &[&Path],
        mut live: Option<&mut Live>,
    ) -> Result<TestTree, Findings> {
        let dir = scratch("scf-nginx-")?;
        let root = dir.path();
        for sub in ["logs", "tmp"] {
            std::fs::create_dir(root.join(sub))
                .map_err(|err| Findings::harness("could not create the nginx work dir", err))?;
        }
        let paths = Paths {
            cert: root.join("tls.crt"),
            key: root.join("tls.key"),
            logs: root.join("logs"),
        };
        self_signed(&paths)?;
        let mut allocate = || crate::process::free_port().ok();
        let mut includes = Vec::new();
        let sources = http_snippets.iter().copied().chain(std::iter::once(site));
        for (index, source) in sources.enumerate() {
            let text = rewrite::rewrite(&read(source)?, &paths, live.as_deref_mut(), &mut allocate)
                .map_err(|err| Findings::Harness(format!("{}: {err}", source.display())))?;
            let name = source
                .file_name()
                .map_or_else(|| "site.conf".into(), |n| n.to_string_lossy());
            let copy = root.join(format!("{index}-{name}"));
            write(&copy, text)?;
            includes.push((copy, source.to_owned()));
        }
        let conf = root.join("nginx.conf");
        let copies: Vec<&Path> = includes.iter().map(|(copy, _)| copy.as_path()).collect();
        write(&conf, main_conf(root, &copies))?;
        Ok(TestTree {
            dir,
            conf,
            sources: includes,
        })
    }

    /// The `-p -e -c` arguments that keep nginx inside the work dir.
    pub(crate) fn args(&self, cmd: &mut std::process::Command) {
        let root = self.dir.path();
        cmd.arg("-p").arg(format!("{}/", root.display()));
        cmd.arg("-e").arg(root.join("logs/error.log"));
        cmd.arg("-c").arg(&self.conf);
    }

    /// Findings name the caller's files (line numbers are unchanged by the rewrite).
    fn point_at_sources(&self, mut ran: Ran) -> Ran {
        for (copy, source) in &self.sources {
            let (copy, source) = (copy.display().to_string(), source.display().to_string());
            ran.output = ran.output.replace(&copy, &source);
        }
        ran
    }

    /// The work dir.
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }
}

fn main_conf(root: &Path, includes: &[&Path]) -> String {
    let r = root.display();
    let mut lines = vec![
        "# Written by scf-testkit: the generated files are included unchanged but for paths."
            .to_owned(),
        format!("pid {r}/nginx.pid;"),
        format!("error_log {r}/logs/error.log warn;"),
        "worker_processes 1;".to_owned(),
        "worker_rlimit_nofile 256;".to_owned(),
        "events {".to_owned(),
        "    worker_connections 64;".to_owned(),
        "}".to_owned(),
        "http {".to_owned(),
    ];
    let mime = Path::new("/etc/nginx/mime.types");
    if mime.exists() {
        lines.push(format!("    include {};", mime.display()));
    }
    lines.push("    default_type application/octet-stream;".to_owned());
    lines.push(format!("    access_log {r}/logs/access.log;"));
    for temp in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        lines.push(format!("    {temp}_temp_path {r}/tmp/{temp};"));
    }
    lines.extend(
        includes
            .iter()
            .map(|path| format!("    include {};", path.display())),
    );
    lines.push("}".to_owned());
    lines.join("\n") + "\n"
}

/// A P-256 self-signed certificate for `localhost` (instant, unlike RSA key generation).
fn self_signed(paths: &Paths) -> Result<(), Findings> {
    let mut cmd = tool("openssl")?;
    cmd.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
    ])
    .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
    .arg(&paths.key)
    .arg("-out")
    .arg(&paths.cert);
    let ran = run(&mut cmd)?;
    ran.judge(true, "")
        .map(drop)
        .map_err(|err| Findings::harness("could not make a test certificate", err))
}
