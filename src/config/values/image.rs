//! Container image references: `[registry[:port]/]path[:tag][@sha256:DIGEST]`.

use super::value::{ValueError, string_value};
use std::fmt;
use std::str::FromStr;

/// A container image, optionally pinned by digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Registry and repository path, e.g. `registry.example.com/ai-supply-chain`.
    pub repository: String,
    /// The tag, e.g. `1.0.0`.
    pub tag: Option<String>,
    /// The `sha256:…` digest, when pinned.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Whether the image is pinned by digest (the tag alone can move).
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }
}

fn component_ok(c: &str) -> bool {
    !c.is_empty()
        && c.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
}

impl FromStr for ImageRef {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let bad = |what: &str| {
            ValueError::new(
                format!("`{}` is not an image reference: {what}", raw.escape_debug()),
                "write [REGISTRY/]NAME[:TAG][@sha256:DIGEST], such as `registry.example.com/ai-supply-chain:1.0.0`",
            )
        };
        let (rest, digest) = match raw.split_once('@') {
            Some((rest, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .ok_or_else(|| bad("the digest must start with sha256:"))?;
                if hex.len() != 64
                    || !hex
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                {
                    return Err(bad("the digest must be 64 lower-case hex digits"));
                }
                (rest, Some(d.to_string()))
            }
            None => (raw, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest[last_slash..].split_once(':') {
            Some((_, tag)) => (&rest[..rest.len() - tag.len() - 1], Some(tag)),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return Err(bad(
                    "the tag may hold letters, digits, `_`, `.` and `-` only",
                ));
            }
        }
        let mut parts: Vec<&str> = repository.split('/').collect();
        // The first component is a registry host when it has a dot, a port or is localhost.
        if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
            let (host, port) = parts[0].split_once(':').unwrap_or((parts[0], ""));
            if host.parse::<super::net::DomainName>().is_err()
                || !(port.is_empty() || port.parse::<u16>().is_ok())
            {
                return Err(bad("the registry is not a host[:port]"));
            }
            parts.remove(0);
        }
        if !parts.iter().all(|c| component_ok(c)) {
            return Err(bad(
                "the name may hold lower-case letters, digits, `.`, `_`, `-` and `/` only",
            ));
        }
        Ok(Self {
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

string_value!(
    ImageRef,
    "image",
    "A container image, e.g. `registry.example.com/ai-supply-chain:1.0.0`, optionally `@sha256:…`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_round_trip() {
        for ok in [
            "registry.example.com/ai-supply-chain:1.0.0",
            "postgres:15",
            "localhost:5000/a/b:x",
            "redis",
        ] {
            assert_eq!(ok.parse::<ImageRef>().unwrap().to_string(), ok);
        }
        let pinned = format!("redis:7@sha256:{}", "a".repeat(64));
        assert!(pinned.parse::<ImageRef>().unwrap().is_pinned());
        for bad in [
            "Redis",
            "redis:",
            "redis:7 ; rm",
            "redis@sha256:xyz",
            "reg.io/a b",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad:?}");
        }
    }
}
