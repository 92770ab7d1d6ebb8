//! Why a target could not render. Every variant is a bug in scf, never the user's input:
//! validation refuses what a target cannot write, so a failure here names the file and
//! asks for a report. Template targets fail in the engine; typed targets (YAML, JSON,
//! Kubernetes objects) fail in their serialiser; escaping fails on a value validation
//! should have refused.

use crate::render::RenderError;

/// A target failed to render one of its files.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A typed document failed to serialise.
    #[error("`{file}` could not be serialised: {message}; this is a bug in scf, please report it")]
    Serialize {
        /// The file (or document) being written.
        file: String,
        /// The serialiser's error.
        message: String,
    },
    /// A value cannot be written in the file's syntax.
    #[error(
        "`{file}` cannot hold a value: {message}; validation should have refused it, this is a bug in scf, please report it"
    )]
    Unescapable {
        /// The file being written.
        file: String,
        /// What is wrong with the value.
        message: String,
    },
    /// A typed document could not be built; its error names it.
    #[error(transparent)]
    Document(Box<dyn std::error::Error + Send + Sync>),
}

impl TargetError {
    /// A serialisation failure of `file`.
    pub fn serialize(file: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Self::Serialize {
            file: file.into(),
            message: e.to_string(),
        }
    }
    /// A value of `file` that its syntax cannot hold.
    pub fn unescapable(file: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Self::Unescapable {
            file: file.into(),
            message: e.to_string(),
        }
    }
}
