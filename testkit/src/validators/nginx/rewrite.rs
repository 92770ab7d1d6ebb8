//! Line-preserving rewrites that move a generated nginx site into a work dir: certificate
//! and log paths always; for a live run also `listen` ports, the backend address and
//! static file roots. One directive per line is assumed (generated files are laid out so);
//! every output line corresponds to the input line, so nginx's line numbers stay true.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the rewritten site finds its throwaway files.
#[derive(Debug)]
pub(crate) struct Paths {
    /// The self-signed certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// The dir log files go to.
    pub logs: PathBuf,
}

/// The extra rewrites for a live run.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// Original listen port → free loopback port; filled by the rewrite via `allocate`.
    pub ports: BTreeMap<u16, u16>,
    /// Replaces every proxied address that names a port, and upstream servers.
    pub backend: Option<SocketAddr>,
    /// `root`/`alias` prefixes to replace, e.g. the app's static dir → a test dir.
    pub remaps: Vec<(String, PathBuf)>,
}

/// Rewrites one file's text. `allocate` hands out free ports for new listen ports.
pub(crate) fn rewrite(
    text: &str,
    paths: &Paths,
    mut live: Option<&mut Live>,
    allocate: &mut dyn FnMut() -> Option<u16>,
) -> Result<String, String> {
    let mut in_upstream = false;
    let mut out = String::with_capacity(text.len() + 256);
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("upstream ") {
            in_upstream = true;
        } else if in_upstream && trimmed.starts_with('}') {
            in_upstream = false;
        }
        let new = match Directive::parse(line) {
            Some(directive) => {
                let ctx = Context {
                    paths,
                    in_upstream,
                    allocate: &mut *allocate,
                };
                directive
                    .rewrite(ctx, live.as_deref_mut())
                    .map_err(|err| format!("line {}: {err}", number + 1))?
            }
            None => line.to_owned(),
        };
        out.push_str(&new);
        out.push('\n');
    }
    Ok(out)
}

struct Context<'a> {
    paths: &'a Paths,
    in_upstream: bool,
    allocate: &'a mut dyn FnMut() -> Option<u16>,
}

/// `indent name args…rest` where rest starts at the terminating `;`.
struct Directive<'a> {
    indent: &'a str,
    name: &'a str,
    args: Vec<&'a str>,
    rest: &'a str,
}

impl<'a> Directive<'a> {
    fn parse(line: &'a str) -> Option<Directive<'a>> {
        let body_start = line.len() - line.trim_start().len();
        let (indent, body) = line.split_at(body_start);
        if body.starts_with('#') {
            return None;
        }
        let end = body.find(';')?;
        let mut words = body[..end].split_whitespace();
        let name = words.next()?;
        Some(Directive {
            indent,
            name,
            args: words.collect(),
            rest: &body[end..],
        })
    }

    fn with_args(&self, args: &[String]) -> String {
        format!(
            "{}{} {}{}",
            self.indent,
            self.name,
            args.join(" "),
            self.rest
        )
    }

    fn commented(&self, why: &str) -> String {
        let body = format!("{} {}{}", self.name, self.args.join(" "), self.rest);
        format!("{}# scf-testkit ({why}): {body}", self.indent)
    }

    fn replace_first(&self, first: String) -> String {
        let mut args: Vec<String> = self.args.iter().map(|arg| (*arg).to_owned()).collect();
        if let Some(slot) = args.first_mut() {
            *slot = first;
        }
        self.with_args(&args)
    }

    fn first(&self) -> &str {
        self.args
            .first()
            .map_or("", |arg| arg.trim_matches(['"', '\'']))
    }

    fn rewrite(&self, ctx: Context<'_>, live: Option<&mut Live>) -> Result<String, String> {
        let unchanged = || {
            format!(
                "{}{}{}{}",
                self.indent,
                self.name,
                spaced(&self.args),
                self.rest
            )
        };
        let paths = ctx.paths;
        match self.name {
            "ssl_certificate" | "ssl_trusted_certificate" | "ssl_client_certificate" => {
                Ok(self.replace_first(paths.cert.display().to_string()))
            }
            "ssl_certificate_key" => Ok(self.replace_first(paths.key.display().to_string())),
            "access_log" | "error_log" => Ok(self.log_path(&paths.logs).unwrap_or_else(unchanged)),
            _ => match live {
                Some(live) => Ok(self.live(ctx, live)?.unwrap_or_else(unchanged)),
                None => Ok(unchanged()),
            },
        }
    }

    fn log_path(&self, logs: &Path) -> Option<String> {
        let target = self.first();
        if matches!(target, "off" | "stderr" | "") || target.starts_with("syslog:") {
            return None;
        }
        let file = Path::new(target).file_name()?;
        Some(self.replace_first(logs.join(file).display().to_string()))
    }

    fn live(&self, ctx: Context<'_>, live: &mut Live) -> Result<Option<String>, String> {
        match self.name {
            "listen" => self.listen(ctx.allocate, live).map(Some),
            "proxy_pass" | "grpc_pass" => Ok(live.backend.and_then(|addr| self.proxy(addr))),
            "server" if ctx.in_upstream => Ok(live
                .backend
                .map(|addr| self.replace_first(addr.to_string()))),
            "root" | "alias" => Ok(self.remap(&live.remaps)),
            _ => Ok(None),
        }
    }

    fn listen(
        &self,
        allocate: &mut dyn FnMut() -> Option<u16>,
        live: &mut Live,
    ) -> Result<String, String> {
        let address = self.first();
        if address.starts_with("unix:") {
            return Ok(self.commented("unix socket"));
        }
        if address.starts_with('[') {
            // The IPv4 listen of the same server gets the loopback port.
            return Ok(self.commented("IPv6 listen"));
        }
        let port_text = address.rsplit(':').next().unwrap_or(address);
        let original: u16 = port_text
            .parse()
            .map_err(|_| format!("cannot move listen address `{address}` to loopback"))?;
        let port = match live.ports.get(&original) {
            Some(port) => *port,
            None => {
                let port = allocate().ok_or("no free loopback port")?;
                live.ports.insert(original, port);
                port
            }
        };
        Ok(self.replace_first(format!("127.0.0.1:{port}")))
    }

    /// `scheme://host:port/rest` → `scheme://backend/rest`; upstream names (no port) are
    /// left alone, their `server` lines are rewritten instead.
    fn proxy(&self, backend: SocketAddr) -> Option<String> {
        let url = self.first();
        let (scheme, after) = url.split_once("://")?;
        let (host_port, path) = after.find('/').map_or((after, ""), |at| after.split_at(at));
        if !host_port.contains(':') {
            return None;
        }
        Some(self.replace_first(format!("{scheme}://{backend}{path}")))
    }

    fn remap(&self, remaps: &[(String, PathBuf)]) -> Option<String> {
        let path = self.first();
        remaps.iter().find_map(|(from, to)| {
            let tail = path.strip_prefix(from.as_str())?;
            let mut new = to.join(tail.trim_start_matches('/')).display().to_string();
            if path.ends_with('/') && !new.ends_with('/') {
                new.push('/');
            }
            Some(self.replace_first(new))
        })
    }
}

fn spaced(args: &[&str]) -> String {
    args.iter().map(|arg| format!(" {arg}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            cert: "/w/tls.crt".into(),
            key: "/w/tls.key".into(),
            logs: "/w/logs".into(),
        }
    }

    #[test]
    fn swaps_certificates_and_logs_keeping_lines() {
        let site = "server {\n    ssl_certificate /etc/x.crt;\n  ssl_certificate_key \"/etc/x.key\";\n    access_log /var/log/nginx/app.log main;\n    access_log off;\n}\n";
        let out = rewrite(site, &paths(), None, &mut || None).expect("rewrite");
        assert_eq!(
            out,
            "server {\n    ssl_certificate /w/tls.crt;\n  ssl_certificate_key /w/tls.key;\n    access_log /w/logs/app.log main;\n    access_log off;\n}\n"
        );
    }

    #[test]
    fn live_moves_listens_and_backends() {
        let site = "upstream app {\n  server 10.0.0.1:5000 max_fails=3;\n}\nserver {\n  listen 443 ssl http2;\n  listen [::]:443 ssl;\n    proxy_pass http://127.0.0.1:5000/api;\n    alias /srv/app/uploads/;\n}\n  listen 0.0.0.0:443;\n  proxy_pass http://app;\n";
        let mut live = Live {
            backend: Some("127.0.0.1:7000".parse().expect("addr")),
            remaps: vec![("/srv/app".to_owned(), PathBuf::from("/w/srv"))],
            ..Live::default()
        };
        let mut next = 20000;
        let mut allocate = || {
            next += 1;
            Some(next)
        };
        let out = rewrite(site, &paths(), Some(&mut live), &mut allocate).expect("rewrite");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), site.lines().count());
        assert_eq!(lines[1], "  server 127.0.0.1:7000 max_fails=3;");
        assert_eq!(lines[4], "  listen 127.0.0.1:20001 ssl http2;");
        assert!(lines[5].starts_with("  # scf-testkit (IPv6 listen): listen [::]:443"));
        assert!(
            lines[6].contains("proxy_pass http://127.0.0.1:7000/api;"),
            "{}",
            lines[6]
        );
        assert!(lines[7].contains("alias /w/srv/uploads/;"), "{}", lines[7]);
        assert_eq!(lines[9], "  listen 127.0.0.1:20001;");
        assert_eq!(lines[10], "  proxy_pass http://app;");
        assert_eq!(live.ports.get(&443), Some(&20001));
    }
}
