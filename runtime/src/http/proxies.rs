//! The client address of a request behind reverse proxies. A peer inside one of the
//! trusted networks (`TRUSTED_PROXIES`: nginx on the host, a fleet's proxy hosts, the
//! ingress controller's pods on Kubernetes) is believed about whom it forwards for: the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy (each proxy appends
//! the address it saw, so entries left of the last untrusted one are the client's own
//! claims), else its `X-Real-IP`. Anyone else's headers are ignored, so a client outside
//! the trusted networks cannot choose its own rate-limit key.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is inside a trusted network (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client a request from `peer` with these headers is for.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let forwarded = header("x-forwarded-for").and_then(|list| {
            let mut hops = list.rsplit(',').map(|hop| hop.trim().parse::<IpAddr>());
            // The first hop that does not parse ends the chain: nothing left of it is believed.
            hops.find_map(|hop| match hop {
                Ok(ip) if self.contains(ip) => None,
                other => Some(other.ok()),
            })
            .flatten()
        });
        forwarded
            .or_else(|| header("x-real-ip").and_then(|v| v.trim().parse().ok()))
            .unwrap_or(peer)
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses (`10.0.0.5`, one host) and networks (`10.0.0.0/8`).
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("`{item}` is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn addresses_and_networks_parse_and_junk_is_named() {
        let t: TrustedProxies = "127.0.0.1, 10.0.0.0/8,::1, fd00::/8"
            .parse()
            .expect("parses");
        assert!(t.contains(ip("10.42.7.9")));
        assert!(t.contains(ip("::ffff:127.0.0.1")));
        assert!(t.contains(ip("fd12::1")));
        assert!(!t.contains(ip("127.0.0.2")));
        assert!("".parse::<TrustedProxies>().expect("empty").0.is_empty());
        let err = "10.0.0.0/8,ingress"
            .parse::<TrustedProxies>()
            .expect_err("refused");
        assert!(err.contains("`ingress`"), "{err}");
    }

    #[test]
    fn a_trusted_peer_forwards_the_rightmost_untrusted_hop() {
        let t: TrustedProxies = "10.0.0.0/8".parse().expect("parses");
        let peer = ip("10.1.0.3");
        // The client claims 1.1.1.1; the load balancer (10.2.0.1, trusted) saw 203.0.113.7.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.2.0.1")]);
        assert_eq!(t.client(peer, &h), ip("203.0.113.7"));
        let h = headers(&[("x-real-ip", "198.51.100.4")]);
        assert_eq!(t.client(peer, &h), ip("198.51.100.4"));
        let h = headers(&[("x-forwarded-for", "garbage, 10.2.0.1")]);
        assert_eq!(
            t.client(peer, &h),
            peer,
            "an unparsable hop is not believed"
        );
        assert_eq!(t.client(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let t: TrustedProxies = "10.0.0.0/8".parse().expect("parses");
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-real-ip", "203.0.113.8"),
        ]);
        assert_eq!(t.client(ip("192.0.2.1"), &h), ip("192.0.2.1"));
    }
}
