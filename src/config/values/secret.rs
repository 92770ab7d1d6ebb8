//! Secret references. framework.toml never holds a secret, only where to find it:
//! `env:NAME` (an environment variable) or `file:/PATH` (a file). The value is read at
//! apply or run time, never at build or plan time.

use super::path::AbsPath;
use super::value::{ValueError, string_value};
use std::fmt;
use std::str::FromStr;

/// Where a secret lives. Displays as its reference, never as its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretRef {
    /// An environment variable of the process that runs `scf apply`.
    Env(String),
    /// A file readable by the process that runs `scf apply`.
    File(AbsPath),
}

/// The help shown whenever a secret is written wrongly.
const HELP: &str = "write a reference instead: `env:NAME` reads the environment variable NAME at apply time \
(for example `env:SCF_DB_PASSWORD`), `file:/PATH` reads a file (for example `file:/etc/scf/db-password`)";

impl FromStr for SecretRef {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        if let Some(name) = raw.strip_prefix("env:") {
            let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.len() <= 128;
            return if ok {
                Ok(Self::Env(name.to_string()))
            } else {
                Err(ValueError::new(
                    "the environment variable name in this secret reference is invalid",
                    "use letters, digits and `_`, such as `env:SCF_DB_PASSWORD`",
                ))
            };
        }
        if let Some(path) = raw.strip_prefix("file:") {
            return path.parse().map(Self::File).map_err(|e: ValueError| {
                ValueError::new(
                    format!(
                        "the file in this secret reference is invalid: {}",
                        e.message
                    ),
                    e.help,
                )
            });
        }
        // Never echo `raw`: it may be the secret itself.
        Err(ValueError::new(
            "a secret must be a reference, not a literal value",
            HELP,
        ))
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{path}"),
        }
    }
}

string_value!(
    SecretRef,
    "secret-ref",
    "A secret reference, never a literal: `env:NAME` or `file:/PATH`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_secrets_are_refused_without_echo() {
        let err = "hunter2-very-secret".parse::<SecretRef>().unwrap_err();
        assert!(!err.message.contains("hunter2") && !err.help.contains("hunter2"));
        assert!(err.help.contains("env:"));
        assert_eq!(
            "env:SCF_DB_PASSWORD".parse::<SecretRef>().unwrap(),
            SecretRef::Env("SCF_DB_PASSWORD".into())
        );
        assert_eq!(
            "file:/etc/scf/key"
                .parse::<SecretRef>()
                .unwrap()
                .to_string(),
            "file:/etc/scf/key"
        );
        assert!("env:A B".parse::<SecretRef>().is_err());
        assert!("file:relative".parse::<SecretRef>().is_err());
    }
}
