//! Stage 5 of the pipeline: the plan. A [`Plan`] is data, computed before anything is
//! written: every change (an address, an action, its diff), the commands the changes
//! imply, and what was observed. A saved plan is for review: apply recomputes the plan and
//! carries it out only when the saved one matches it ([`saved`]). One format serves the
//! host and the Kubernetes targets.

pub mod mask;
pub mod saved;
pub mod show;
pub mod step;
pub mod tenants;

pub use step::{Command, Step};

use crate::artifact::Artifact;
use crate::build::Manifest;
use crate::compile::Compiled;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the saved-plan and `--format json` layout. Version 2: commands are typed
/// (`{"run": [program, args…]}`), files carry their contents' sha256, and a saved plan is
/// checked against the plan apply recomputes.
pub const FORMAT_VERSION: u32 = 2;

/// What will change, and how to tell whether the world moved since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Layout version, [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The scf that made it.
    pub generator: String,
    /// `host` or `kubernetes`.
    pub target: String,
    /// The project name.
    pub project: String,
    /// Hashes of the inputs, to refuse a plan made from other inputs.
    pub inputs: Inputs,
    /// Every address considered, including no-ops, sorted by address.
    pub changes: Vec<Change>,
    /// What the changes imply beyond writing resources (commands, rollouts), in order.
    pub steps: Vec<Step>,
    /// What a reviewer should know that is no change, e.g. a package scf does not install.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Hashes of what a plan was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// SHA-256 of framework.toml and every profile it extends.
    pub config: String,
    /// SHA-256 of the rendered artifacts' manifest.
    pub artifacts: String,
}

impl Inputs {
    /// Hashes of a compilation's inputs: the config sources and the rendered artifacts.
    pub fn of(compiled: &Compiled, artifacts: &[Artifact]) -> Result<Self, serde_json::Error> {
        let mut config = Vec::new();
        for file in compiled.sources.iter() {
            config.extend_from_slice(file.name.as_bytes());
            config.push(0);
            config.extend_from_slice(file.text.as_bytes());
            config.push(0);
        }
        let manifest = Manifest::of(compiled.model.name().as_str(), artifacts).to_text()?;
        Ok(Self {
            config: sha256_tag(&config),
            artifacts: sha256_tag(manifest.as_bytes()),
        })
    }
}

/// What happens at one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It exists and differs.
    Update,
    /// It exists, scf manages it, and it is no longer wanted.
    Delete,
    /// It is as wanted.
    NoOp,
}

impl Action {
    /// The symbol shown before the address.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
        })
    }
}

/// One change: an address and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// e.g. `file:/etc/nginx/sites-available/ai-supply-chain`, `systemd:NAME.service`,
    /// `pg:database/NAME`, `tenant:ID`, `k8s:apps/v1/Deployment/NS/NAME`.
    pub address: String,
    /// What happens.
    pub action: Action,
    /// A unified diff, for text resources. Secret values never appear in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The resource holds secrets; only fingerprints of their values are ever shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// What was observed when planning (`absent`, `sha256:…`, a resourceVersion):
    /// apply refuses the plan when it observes something else.
    pub observed: String,
    /// Why the change will not be made without an explicit flag, e.g. data loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// What the resource should become, exactly as apply will write it (secrets as markers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Desired>,
}

impl Change {
    /// A change of `address` seen as `observed`, with no diff, secret, block or content;
    /// the fields that apply are set on the result.
    pub fn new(address: String, action: Action, observed: String) -> Self {
        Self {
            address,
            action,
            diff: None,
            sensitive: false,
            observed,
            blocked: None,
            desired: None,
        }
    }

    /// The change of something that is there or not (a role, a tenant): created when
    /// wanted and absent, deleted when present and unwanted, else left.
    pub fn presence(address: String, present: bool, wanted: bool) -> Self {
        let action = match (present, wanted) {
            (false, true) => Action::Create,
            (true, false) => Action::Delete,
            _ => Action::NoOp,
        };
        let observed = if present { "present" } else { "absent" };
        Self::new(address, action, observed.to_string())
    }

    /// Whether applying makes this change: it changes something and is not blocked.
    pub fn takes_effect(&self) -> bool {
        self.action != Action::NoOp && self.blocked.is_none()
    }
}

/// The wanted state of a resource, carried in the plan so apply writes exactly it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Desired {
    /// A file with its permission bits (octal string).
    File {
        /// The text, with secret markers.
        contents: String,
        /// `sha256:` of `contents`, for reviewers and tools comparing plans.
        sha256: String,
        /// Permission bits, e.g. `0600`.
        mode: String,
        /// `user:group` that owns it, when not root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
    /// A symbolic link.
    Link {
        /// Where it points.
        to: String,
    },
    /// The running scf binary itself, installed so the units can run it.
    Binary {
        /// `sha256:` of the binary, checked again when it is copied.
        sha256: String,
    },
    /// A Debian package, installed by apply and never removed.
    Package {
        /// The version: installed, or the archive's candidate; `None` when the package
        /// lists were not read (a root other than `/`) or name no candidate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// An object or statement described as JSON (Kubernetes objects, SQL steps).
    Json {
        /// The value.
        value: serde_json::Value,
    },
}

impl Desired {
    /// A file with these contents (secrets as markers), mode and owner.
    pub fn file(contents: String, mode: u32, owner: Option<String>) -> Self {
        Desired::File {
            sha256: sha256_tag(contents.as_bytes()),
            contents,
            mode: format!("{mode:04o}"),
            owner,
        }
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Creates.
    pub add: usize,
    /// Updates.
    pub change: usize,
    /// Deletes that will happen.
    pub destroy: usize,
    /// Changes held back (e.g. data loss without `--allow-data-loss`).
    pub blocked: usize,
}

#[cfg(test)]
impl Plan {
    /// A host plan of the `demo` project, for unit tests.
    pub(crate) fn demo(inputs: Inputs, changes: Vec<Change>, steps: Vec<Step>) -> Self {
        Plan {
            format_version: FORMAT_VERSION,
            generator: "scf test".into(),
            target: "host".into(),
            project: "demo".into(),
            inputs,
            changes,
            steps,
            notes: Vec::new(),
        }
    }
}

impl Plan {
    /// Counts the changes by action; blocked changes are counted apart.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            if c.blocked.is_some() {
                s.blocked += 1;
                continue;
            }
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    /// The host commands among the steps, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.steps.iter().filter_map(Step::command)
    }

    /// The packages the plan installs before any file, if any.
    pub fn packages(&self) -> Option<&[String]> {
        self.steps.iter().find_map(Step::packages)
    }

    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        let s = self.summary();
        s.add + s.change + s.destroy > 0
    }

    /// The changes that will be made (not no-ops, not blocked).
    pub fn effective(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.takes_effect())
    }

    /// The plan as pretty JSON, as saved by `-o` and printed by `--format json`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Reads a saved plan, refusing other layout versions.
    pub fn from_json(text: &str) -> Result<Self, PlanFileError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(PlanFileError::Parse)?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(PlanFileError::Version(version));
        }
        serde_json::from_value(value).map_err(PlanFileError::Parse)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to add, {} to change, {} to destroy.",
            self.add, self.change, self.destroy
        )
    }
}

/// A saved plan that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not a plan file.
    #[error("not an scf plan file: {0}")]
    Parse(serde_json::Error),
    /// Made by an incompatible scf.
    #[error("{}; this scf reads version {FORMAT_VERSION} only: make a new plan with `scf plan -o FILE`", match .0 { Some(v) => format!("it is a plan of format version {v}"), None => "it has no `format_version`".into() })]
    Version(Option<u64>),
}

/// A unified diff of two texts with 3 lines of context, headed `a{path}` and `b{path}`;
/// `None` when they are equal.
pub fn unified(path: &str, old: &str, new: &str) -> Option<String> {
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a{path}"), &format!("b{path}"))
        .to_string();
    (!diff.is_empty()).then_some(diff)
}

/// SHA-256 of some bytes, as `sha256:HEX`.
pub fn sha256_tag(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
