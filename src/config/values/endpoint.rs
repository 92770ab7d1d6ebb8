//! Endpoints that generated services dial: `host:port` pairs (an SMTP smarthost) and
//! http(s) URLs (a webhook, a runbook). Hosts are domain names or IP addresses, and URL
//! paths are restricted to characters that are inert in YAML, shell and templates.

use super::net::DomainName;
use super::value::{ValueError, string_value};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// A host to dial: a domain name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    Name(DomainName),
    Ip(IpAddr),
}

impl Host {
    /// `host` as written before `:port`; an IPv6 address in brackets.
    fn parse(raw: &str) -> Option<Self> {
        if let Some(v6) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return v6.parse::<Ipv6Addr>().ok().map(|ip| Self::Ip(ip.into()));
        }
        if let Ok(ip) = raw.parse::<std::net::Ipv4Addr>() {
            return Some(Self::Ip(ip.into()));
        }
        raw.parse().ok().map(Self::Name)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => name.fmt(f),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => ip.fmt(f),
        }
    }
}

/// Splits `host:port`, the port in 1..=65535.
fn host_port(raw: &str) -> Option<(Host, u16)> {
    let (host, port) = raw.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let digits = raw.len() - host.len() - 1;
    (digits == port.to_string().len()).then_some(())?;
    Some((Host::parse(host)?, port))
}

/// A `host:port` to dial, such as `smtp.example.com:587` or `127.0.0.1:25`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    host: Host,
    port: u16,
}

impl FromStr for HostPort {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        host_port(raw)
            .map(|(host, port)| Self { host, port })
            .ok_or_else(|| {
                ValueError::new(
                    format!("`{}` is not a host:port", raw.escape_debug()),
                    "write a domain name or IP address and a port, such as `smtp.example.com:587` or `localhost:25`",
                )
            })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

string_value!(
    HostPort,
    "host-port",
    "A host and port to dial, e.g. `smtp.example.com:587`."
);

/// Characters a URL path and query may hold: none that YAML, shell or a template treat
/// specially (no quotes, spaces, `#`, `$`, `{`, `}`, `\`, `;`), and no `@`, so a value
/// can never spell a secret marker that apply would fill in.
fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~/%+=&?,:!".contains(c)
}

/// An `http://` or `https://` URL with a domain-name or IP host, an optional port, and an
/// optional plain path, such as `https://hooks.example.com/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HttpUrl {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                format!("`{}` is not an http(s) URL", raw.escape_debug()),
                "write http:// or https://, a host name or IP address, an optional :port and a path of letters, digits and - . _ ~ / % + = & ? , : !, such as `https://hooks.example.com/alerts`",
            )
        };
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host_ok = Host::parse(authority).is_some() || host_port(authority).is_some();
        let path_ok = path.len() <= 2000 && path.chars().all(path_char);
        (host_ok && path_ok)
            .then(|| Self(raw.to_string()))
            .ok_or_else(bad)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(
    HttpUrl,
    "http-url",
    "An http(s) URL, e.g. `https://hooks.example.com/alerts`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_need_a_host_and_a_real_port() {
        for good in [
            "smtp.example.com:587",
            "localhost:25",
            "127.0.0.1:25",
            "[::1]:25",
        ] {
            let hp: HostPort = good.parse().unwrap_or_else(|e| panic!("{good}: {e:?}"));
            assert_eq!(hp.to_string(), good);
        }
        for bad in [
            "smtp.example.com",
            "smtp.example.com:0",
            "smtp.example.com:70000",
            "smtp.example.com:+25",
            "smtp.example.com:025",
            "a b:25",
            "a'b:25",
            "a\n:25",
            "::1:25",
            ":25",
        ] {
            assert!(bad.parse::<HostPort>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_http_and_plain() {
        for good in [
            "https://hooks.example.com/alerts",
            "http://127.0.0.1:9000/hook?team=ops&x=1",
            "https://[::1]:8443",
            "https://github.com/scf-dev/scf/blob/main/docs/runbooks.md",
        ] {
            assert!(good.parse::<HttpUrl>().is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.com/x",
            "https://",
            "https://exa mple.com",
            "https://example.com/a b",
            "https://example.com/a'b",
            "https://example.com/a\"b",
            "https://example.com/a#b",
            "https://example.com/{{ x }}",
            "https://example.com/a\nb",
            "https://example.com/$x",
            "https://user:pw@example.com/",
            "https://example.com/a@@scf-secret:env:SCF_SECRET_KEY@@",
            "example.com/x",
        ] {
            assert!(bad.parse::<HttpUrl>().is_err(), "{bad:?}");
        }
    }
}
