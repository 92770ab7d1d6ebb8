//! Secrets at the edges. Artifacts carry a secret only as a marker naming its reference;
//! `scf apply` resolves the reference and fills the marker in as it writes the file. The
//! value never reaches a plan, a log or a snapshot: plans show a short fingerprint.

use crate::config::values::SecretRef;
use hmac::{KeyInit, Mac};
use std::collections::BTreeMap;
use std::fmt;

const OPEN: &str = scf_runtime::vars::SECRET_MARKER;
const CLOSE: &str = "@@";

/// The marker an artifact carries in place of a secret's value.
pub fn marker(r: &SecretRef) -> String {
    format!("{OPEN}{r}{CLOSE}")
}

/// A secret's value. Never printed: `Debug` and `Display` show that it is hidden, and
/// nothing derived from it (an unkeyed hash of a short password can be guessed offline).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for writing into a file or a Kubernetes Secret at apply time.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(sensitive)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// 32 random bytes, for a fingerprint key.
pub fn random_key() -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

/// The first 8 hex digits of HMAC-SHA-256 under a per-deployment key (a host's
/// `ROOT/var/lib/scf/fingerprint.key`, a cluster's inventory key): enough to tell values
/// apart, useless for guessing them without the key.
pub fn fingerprint(key: &[u8], value: &[u8]) -> String {
    // RFC 2104 defines HMAC for keys of every length; the error is the trait's, not HMAC's.
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(value);
    hex::encode(&mac.finalize().into_bytes()[..4])
}

/// Why a reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The environment variable is unset or not UTF-8.
    #[error("secret reference `env:{0}` is not set; export {0} in the environment of `scf apply`")]
    EnvUnset(String),
    /// The file could not be read.
    #[error("secret reference `file:{path}` cannot be read: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The value would break the line-based file it is written into.
    #[error("the secret behind `{0}` contains a newline or NUL, which the env file cannot hold")]
    Unprintable(String),
    /// The value cannot be written literally into a host file: the runtime's env file
    /// (read by systemd, raw), the exporters' (quoted), YAML block scalars.
    #[error(
        "the secret behind `{0}` holds a quote, a backslash or whitespace, which the host's env and config files cannot carry as they are; use letters, digits and punctuation such as `openssl rand -hex 32` or `openssl rand -base64 32` give"
    )]
    Unquotable(String),
    /// An artifact names a marker that is not closed.
    #[error("an artifact holds an unterminated secret marker; this is a bug in scf")]
    Unterminated,
}

/// Values of `env:` references handed to this process by another: `scf agent` gets its
/// controller's, since the variables live where `scf apply` runs. Consulted before the
/// process's own environment.
static SUPPLIED: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();

/// Supplies values for `env:` references, consulted before the environment; `false` if some were
/// supplied already, which leaves those in place.
pub fn supply(values: BTreeMap<String, String>) -> bool {
    SUPPLIED.set(values).is_ok()
}

/// Reads a secret's value now. Only apply and run call this.
pub fn resolve(r: &SecretRef) -> Result<Secret, ResolveError> {
    let value = match r {
        SecretRef::Env(name) => match SUPPLIED.get().and_then(|s| s.get(name)) {
            Some(value) => value.clone(),
            None => std::env::var(name).map_err(|_| ResolveError::EnvUnset(name.clone()))?,
        },
        SecretRef::File(path) => std::fs::read_to_string(path.as_str())
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|source| ResolveError::File {
                path: path.to_string(),
                source,
            })?,
    };
    if value.contains(['\n', '\r', '\0']) {
        return Err(ResolveError::Unprintable(r.to_string()));
    }
    Ok(Secret(value))
}

/// The references marked in `text`, in order of appearance.
pub fn references(text: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else { break };
        if let Ok(r) = after[..end].parse() {
            out.push(r);
        }
        rest = &after[end + CLOSE.len()..];
    }
    out
}

/// Replaces every marker in `text` using `lookup`: the values written into host files,
/// which must hold no quote, backslash or whitespace (no file syntax can then misread one).
pub fn fill(
    text: &str,
    mut lookup: impl FnMut(&SecretRef) -> Result<Secret, ResolveError>,
) -> Result<String, ResolveError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after.find(CLOSE).ok_or(ResolveError::Unterminated)?;
        let r: SecretRef = after[..end]
            .parse()
            .map_err(|_| ResolveError::Unterminated)?;
        let value = lookup(&r)?;
        if value
            .expose()
            .contains(|c: char| matches!(c, '\'' | '"' | '\\') || c.is_whitespace())
        {
            return Err(ResolveError::Unquotable(r.to_string()));
        }
        out.push_str(value.expose());
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplied_values_resolve_env_references_once_supplied() {
        // The only test that supplies values: the process keeps them, as `scf agent` does.
        let name = "SCF_ONLY_THE_CONTROLLER_HAS_THIS";
        let r: SecretRef = format!("env:{name}").parse().unwrap();
        assert!(matches!(resolve(&r), Err(ResolveError::EnvUnset(_))));
        assert!(supply(BTreeMap::from([(
            name.into(),
            "from-controller".into()
        )])));
        assert_eq!(resolve(&r).unwrap().expose(), "from-controller");
        assert!(!supply(BTreeMap::new()), "a second supply is refused");
        assert_eq!(resolve(&r).unwrap().expose(), "from-controller");
    }

    #[test]
    fn a_value_no_host_file_can_carry_literally_is_refused_by_name() {
        let r: SecretRef = "env:SCF_TEST_SECRET_QUOTED".parse().unwrap();
        let text = format!("B={}\n", marker(&r));
        for bad in [
            "it's",
            "say \"x\"",
            "back\\slash",
            " leading",
            "in side",
            "tab\t",
        ] {
            let err = fill(&text, |_| Ok(Secret(bad.into()))).unwrap_err();
            assert!(
                matches!(&err, ResolveError::Unquotable(name) if name == "env:SCF_TEST_SECRET_QUOTED"),
                "{bad:?}: {err}"
            );
            assert!(!err.to_string().contains(bad), "the value is never shown");
        }
        let good = "Ab0+/=-_.~!#$%&()*,:;<>?@[]^`{|}";
        assert_eq!(
            fill(&text, |_| Ok(Secret(good.into()))).unwrap(),
            format!("B={good}\n")
        );
    }

    #[test]
    fn markers_round_trip_and_fill() {
        let r: SecretRef = "env:SCF_TEST_SECRET_FILL".parse().unwrap();
        let text = format!("A=1\nB={}\n", marker(&r));
        assert_eq!(references(&text), vec![r.clone()]);
        let filled = fill(&text, |_| Ok(Secret("s3cr3t".into()))).unwrap();
        assert_eq!(filled, "A=1\nB=s3cr3t\n");
    }

    #[test]
    fn secrets_never_display() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "(sensitive) Secret(sensitive)");
    }

    #[test]
    fn fingerprints_are_hmac_sha256_under_the_key() {
        // RFC 4231, test case 2: HMAC-SHA-256("Jefe", "what do ya want for nothing?").
        assert_eq!(
            fingerprint(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146"
        );
        assert_ne!(fingerprint(b"k1", b"v"), fingerprint(b"k2", b"v"));
        assert_ne!(fingerprint(b"k1", b"v1"), fingerprint(b"k1", b"v2"));
    }

    #[test]
    fn unset_env_names_the_variable() {
        let r: SecretRef = "env:SCF_SURELY_UNSET_VARIABLE".parse().unwrap();
        let err = resolve(&r).unwrap_err().to_string();
        assert!(err.contains("SCF_SURELY_UNSET_VARIABLE"));
    }
}
