//! Why settings could not be read: a variable missing or malformed, or the dev key file.

use std::path::PathBuf;

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// A variable's value does not parse.
    #[error("{var}={value:?} is invalid: {hint}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// The offending value (never a secret's).
        value: String,
        /// How to fix it.
        hint: String,
    },
    /// A variable production needs is unset.
    #[error("{var} is not set; {hint}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// What it is for.
        hint: &'static str,
    },
    /// The dev key file could not be read or written.
    #[error("dev keys at {path}: {message}")]
    DevKeys {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl SettingsError {
    pub(super) fn invalid(var: &'static str, value: &str, hint: &str) -> Self {
        Self::Invalid {
            var,
            value: value.to_owned(),
            hint: hint.to_owned(),
        }
    }
}
