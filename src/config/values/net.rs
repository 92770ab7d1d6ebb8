//! Network values: CIDR blocks, IP and listen addresses, domain names, and the hosts ssh
//! connects to.

use super::value::{ValueError, string_value};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// An IP network such as `10.0.0.0/8`, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(pub ipnet::IpNet);

impl FromStr for Cidr {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let net: ipnet::IpNet = raw.parse().map_err(|_| {
            ValueError::new(
                format!("`{raw}` is not a CIDR block"),
                "write an address and a prefix length, such as `10.0.0.0/8`",
            )
        })?;
        if net.trunc() != net {
            return Err(ValueError::new(
                format!("`{raw}` has host bits set"),
                format!("write the network address: `{}`", net.trunc()),
            ));
        }
        Ok(Self(net))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

string_value!(Cidr, "cidr", "An IP network, e.g. `10.0.0.0/8`.");

/// A socket address the server binds, such as `127.0.0.1:5000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenAddr(pub SocketAddr);

impl FromStr for ListenAddr {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        raw.parse().map(Self).map_err(|_| {
            ValueError::new(
                format!("`{raw}` is not a socket address"),
                "write IP:PORT, such as `127.0.0.1:5000` or `[::1]:5000`",
            )
        })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

string_value!(
    ListenAddr,
    "socket-address",
    "An IP:PORT socket address, e.g. `127.0.0.1:5000`."
);

/// A fully qualified DNS host name (RFC 1123), lower case, such as `api.example.com`.
/// Only letters, digits, dots and hyphens: it is inert in nginx, YAML, SQL and shell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A name known to be valid at compile time.
    pub(crate) fn from_static(name: &'static str) -> Self {
        Self(name.to_string())
    }
    /// An IPv4 address, which the grammar always admits (digits and dots).
    pub(crate) fn from_ipv4(ip: Ipv4Addr) -> Self {
        Self(ip.to_string())
    }
}

impl FromStr for DomainName {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let help = "use letters, digits, hyphens and dots only, such as `api.example.com`";
        if raw.len() > 253 || raw.is_empty() {
            return Err(ValueError::new(
                format!(
                    "`{}` is not a domain name (1 to 253 characters)",
                    raw.escape_debug()
                ),
                help,
            ));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        {
            return Err(ValueError::new(
                format!(
                    "`{}` contains `{}`, which is not allowed in a domain name",
                    raw.escape_debug(),
                    c.escape_debug()
                ),
                help,
            ));
        }
        if raw.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ValueError::new(
                format!("`{raw}` has upper-case letters"),
                format!("write it in lower case: `{}`", raw.to_ascii_lowercase()),
            ));
        }
        for label in raw.split('.') {
            if label.is_empty()
                || label.len() > 63
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(ValueError::new(
                    format!("`{raw}` has an invalid label `{label}`"),
                    "each dot-separated label is 1 to 63 characters and neither starts nor ends with a hyphen",
                ));
            }
        }
        Ok(Self(raw.to_string()))
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(
    DomainName,
    "domain-name",
    "A DNS host name, e.g. `api.example.com`."
);

/// An IPv4 address such as `10.0.0.2`: what the other hosts of a fleet reach a host on.
/// (IPv4 only: Redis' bind list, the runtime's URLs and ufw rules are written for it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Address(pub Ipv4Addr);

impl FromStr for Ipv4Address {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        raw.parse().map(Self).map_err(|_| {
            ValueError::new(
                format!("`{}` is not an IPv4 address", raw.escape_debug()),
                "write an IPv4 address, such as `10.0.0.2`",
            )
        })
    }
}

impl fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

string_value!(
    Ipv4Address,
    "ipv4-address",
    "An IPv4 address, e.g. `10.0.0.2`."
);

/// What ssh connects to: an IP address, or a lower-case DNS name or `~/.ssh/config` alias
/// (the [`DomainName`] grammar, so it can never be read as an ssh option).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SshHost {
    /// An address.
    Ip(IpAddr),
    /// A DNS name or ssh alias.
    Name(DomainName),
}

impl SshHost {
    /// The address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            SshHost::Ip(ip) => Some(*ip),
            SshHost::Name(_) => None,
        }
    }
}

impl FromStr for SshHost {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        if let Ok(ip) = raw.parse() {
            return Ok(Self::Ip(ip));
        }
        raw.parse().map(Self::Name).map_err(|e: ValueError| {
            ValueError::new(
                format!(
                    "`{}` is neither an IP address nor a host name",
                    raw.escape_debug()
                ),
                format!(
                    "write an IP address such as `10.0.0.2`, or a host name or ssh alias: {}",
                    e.help
                ),
            )
        })
    }
}

impl fmt::Display for SshHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshHost::Ip(ip) => ip.fmt(f),
            SshHost::Name(name) => name.fmt(f),
        }
    }
}

string_value!(
    SshHost,
    "ssh-host",
    "What ssh connects to: an IP address, a DNS name or an ssh alias, e.g. `10.0.0.2`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_rejects_host_bits_with_the_fix() {
        assert_eq!(
            "10.0.0.0/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        let err = "10.1.2.3/8".parse::<Cidr>().unwrap_err();
        assert!(err.help.contains("10.0.0.0/8"));
    }

    #[test]
    fn domains_reject_syntax_of_every_artifact() {
        assert!("api.example.com".parse::<DomainName>().is_ok());
        for bad in [
            "a;b.com",
            "a{b}.com",
            "a\nb.com",
            "a\"b.com",
            "a b.com",
            "-a.com",
            "a..com",
            "API.example.com",
            "ä.com",
            "a$b.com",
            "",
        ] {
            assert!(bad.parse::<DomainName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ssh_hosts_are_addresses_or_names_never_options() {
        assert_eq!(
            "10.0.0.2".parse::<SshHost>().unwrap().ip(),
            Some("10.0.0.2".parse().unwrap())
        );
        assert!("fd00::2".parse::<SshHost>().unwrap().ip().is_some());
        assert_eq!("app-1".parse::<SshHost>().unwrap().ip(), None);
        for bad in ["-oProxyCommand=x", "a b", "", "App"] {
            assert!(bad.parse::<SshHost>().is_err(), "{bad:?}");
        }
        assert!("10.0.0.2".parse::<Ipv4Address>().is_ok());
        for bad in ["db.internal", "fd00::2"] {
            assert!(bad.parse::<Ipv4Address>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn listen_addresses_need_a_port() {
        assert!("127.0.0.1:5000".parse::<ListenAddr>().is_ok());
        assert!("127.0.0.1".parse::<ListenAddr>().is_err());
        assert!("localhost:5000".parse::<ListenAddr>().is_err());
    }
}
