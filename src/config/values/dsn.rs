//! Connection URLs of managed services (`[database] external_url`, `[redis]
//! external_url`): `postgres://[USER@]HOST[:PORT][/DATABASE]` and
//! `redis://HOST[:PORT]`. They carry no credentials: a password written in the URL is
//! refused without being echoed, since it belongs in the section's `password` reference.
//! Every part maps onto a key the section already has (`host`, `port`, `user`, `name`),
//! so the URL is a spelling of those keys, not a second way to reach a server.

use super::names::Identifier;
use super::net::DomainName;
use super::value::{ValueError, string_value};
use std::fmt;
use std::str::FromStr;

/// The parts of a service URL after its scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Parts {
    user: Option<Identifier>,
    host: DomainName,
    port: Option<u16>,
    path: Option<Identifier>,
}

/// Splits `[USER@]HOST[:PORT][/PATH]`; `what` names the section for the errors.
fn parts(rest: &str, what: &str, example: &str) -> Result<Parts, ValueError> {
    let bad = |message: String| ValueError::new(message, format!("write it as `{example}`"));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((user, _)) if user.contains(':') => {
            // Never echo the URL: the part after `:` is a password.
            return Err(ValueError::new(
                format!("{what} external_url holds a password"),
                format!(
                    "remove it from the URL and set {what}.password to a reference instead (`env:NAME` or `file:/PATH`); write the URL as `{example}`"
                ),
            ));
        }
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad(format!("`{}` is not a port", port.escape_debug())))?;
            (host, Some(port))
        }
        None => (hostport, None),
    };
    let name = |raw: &str| raw.parse::<Identifier>();
    Ok(Parts {
        user: user.map(name).transpose()?,
        host: host.parse()?,
        port,
        path: match path {
            "" => None,
            p => Some(name(p)?),
        },
    })
}

/// A managed PostgreSQL: `postgres://[USER@]HOST[:PORT][/DATABASE]` (or `postgresql://`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PostgresUrl {
    /// The role, if the URL names one.
    pub user: Option<Identifier>,
    /// The server's host name or address.
    pub host: DomainName,
    /// The port, if the URL names one.
    pub port: Option<u16>,
    /// The database, if the URL names one.
    pub database: Option<Identifier>,
}

const PG_EXAMPLE: &str = "postgres://framework@db.example.com:5432/ai_supply_chain";

impl FromStr for PostgresUrl {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let rest = raw
            .strip_prefix("postgres://")
            .or_else(|| raw.strip_prefix("postgresql://"))
            .ok_or_else(|| {
                ValueError::new(
                    "a database URL starts with postgres:// or postgresql://",
                    format!("write it as `{PG_EXAMPLE}`"),
                )
            })?;
        if rest.contains('?') {
            return Err(ValueError::new(
                "the database URL has query parameters, which scf does not pass on",
                format!("write it as `{PG_EXAMPLE}`"),
            ));
        }
        let p = parts(rest, "database", PG_EXAMPLE)?;
        Ok(Self {
            user: p.user,
            host: p.host,
            port: p.port,
            database: p.path,
        })
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        f.write_str(self.host.as_str())?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(db) = &self.database {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

string_value!(
    PostgresUrl,
    "postgres-url",
    "A managed PostgreSQL, without its password: `postgres://USER@HOST:PORT/DATABASE`."
);

/// A managed Redis: `redis://HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedisUrl {
    /// The server's host name or address.
    pub host: DomainName,
    /// The port, if the URL names one.
    pub port: Option<u16>,
}

const REDIS_EXAMPLE: &str = "redis://cache.example.com:6379";

impl FromStr for RedisUrl {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        if raw.starts_with("rediss://") {
            return Err(ValueError::new(
                "the runtime's Redis client has no TLS, so a rediss:// server cannot be reached",
                format!(
                    "reach the server over a private network with `{REDIS_EXAMPLE}`, or put a TLS proxy (stunnel) beside the runtime"
                ),
            ));
        }
        let rest = raw.strip_prefix("redis://").ok_or_else(|| {
            ValueError::new(
                "a Redis URL starts with redis://",
                format!("write it as `{REDIS_EXAMPLE}`"),
            )
        })?;
        let p = parts(rest, "redis", REDIS_EXAMPLE)?;
        if p.user.is_some() || p.path.is_some() {
            return Err(ValueError::new(
                "a Redis URL names its host and port only (the runtime uses database 0)",
                format!("write it as `{REDIS_EXAMPLE}`"),
            ));
        }
        Ok(Self {
            host: p.host,
            port: p.port,
        })
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}", self.host.as_str())?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

string_value!(
    RedisUrl,
    "redis-url",
    "A managed Redis, without its password: `redis://HOST:PORT`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_map_onto_their_parts_and_round_trip() {
        let url: PostgresUrl = PG_EXAMPLE.parse().unwrap();
        assert_eq!(url.user.as_ref().map(Identifier::as_str), Some("framework"));
        assert_eq!(url.host.as_str(), "db.example.com");
        assert_eq!(url.port, Some(5432));
        assert_eq!(
            url.database.as_ref().map(Identifier::as_str),
            Some("ai_supply_chain")
        );
        assert_eq!(url.to_string(), PG_EXAMPLE);
        let bare: PostgresUrl = "postgresql://10.0.0.5".parse().unwrap();
        assert_eq!((bare.user, bare.port, bare.database), (None, None, None));
    }

    #[test]
    fn a_password_in_a_url_is_refused_without_echo() {
        for raw in [
            "postgres://framework:hunter2@db.example.com/app",
            "redis://:hunter2@cache.example.com",
        ] {
            let e = match raw.parse::<PostgresUrl>() {
                Err(e) if raw.starts_with("postgres") => e,
                _ => raw.parse::<RedisUrl>().unwrap_err(),
            };
            let text = format!("{e}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("password"), "{text}");
        }
    }

    #[test]
    fn bad_urls_are_refused() {
        for raw in [
            "mysql://db.example.com",
            "postgres://db.example.com:0/app",
            "postgres://db.example.com/app?sslmode=require",
            "postgres://db example.com/app",
            "postgres://db.example.com/App-Name",
            "postgres://Fr;amework@db.example.com",
        ] {
            assert!(raw.parse::<PostgresUrl>().is_err(), "{raw}");
        }
        for raw in [
            "rediss://cache.example.com:6380",
            "redis://cache.example.com/1",
            "redis://default@cache.example.com",
            "http://cache.example.com",
        ] {
            assert!(raw.parse::<RedisUrl>().is_err(), "{raw}");
        }
        assert_eq!(
            "redis://10.1.2.3:6380"
                .parse::<RedisUrl>()
                .unwrap()
                .to_string(),
            "redis://10.1.2.3:6380"
        );
    }
}
