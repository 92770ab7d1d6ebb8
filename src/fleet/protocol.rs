//! What the controller and `scf agent` say to each other: one JSON [`Request`] on the
//! agent's stdin (never in argv, where `ps` shows it), one JSON [`Reply`] on its stdout,
//! progress as lines on its stderr. The request carries the merged, validated config as
//! TOML, so the host needs no framework.toml or profiles of its own, and the values of the
//! `env:` references the config uses, read from the controller's environment (`file:`
//! references resolve on the host).

use crate::config::Config;
use crate::config::values::SecretRef;
use crate::doctor::{Phase, Report};
use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One call of `scf agent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The merged framework.toml, as TOML, without `extends`.
    pub config: String,
    /// The `[[hosts]]` entry the agent runs as.
    pub host: String,
    /// What to do.
    pub action: Action,
    /// The values of the config's `env:` references that the controller has.
    pub env: EnvValues,
    /// Let a removed tenant's data be dropped (`--allow-data-loss`).
    #[serde(default)]
    pub allow_data_loss: bool,
}

/// What the agent is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// Plan the host; with `resolve_secrets` (an apply's own plan), changed secrets show.
    Plan {
        /// Resolve secret references while planning.
        resolve_secrets: bool,
    },
    /// Apply the host, exactly as `plan` says or not at all.
    Apply {
        /// The plan the controller showed for this host.
        plan: Box<Plan>,
        /// `plan` was made by `Plan { resolve_secrets: true }` just now (the operator
        /// approved it); otherwise it was saved by `scf plan -o` and is checked as one.
        resolved: bool,
        /// How long the runtime may take to become ready, in milliseconds.
        probe_timeout_ms: u64,
    },
    /// Take an app host out of this proxy's upstream.
    Drain {
        /// The app host's name.
        app: String,
    },
    /// Put this proxy's upstream back as generated.
    Undrain,
    /// Run `scf doctor`'s checks of `phases` on the host.
    Doctor {
        /// The checklists to run, in order.
        phases: Vec<Phase>,
    },
    /// Hold the fleet lock until stdin closes (the controller's session ends).
    Lock {
        /// Who asks, for the lock record: the controller's user and host.
        holder: String,
        /// How long to wait for another holder, in milliseconds.
        timeout_ms: u64,
    },
}

/// What the agent answers on stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reply {
    /// The host's plan.
    Planned {
        /// The plan.
        plan: Box<Plan>,
    },
    /// The host was applied.
    Applied {
        /// The generation in place; `None` when the host already matched.
        generation: Option<u64>,
        /// How many addresses were written or removed.
        changed: usize,
    },
    /// The host's doctor report.
    Doctored {
        /// The report.
        report: Box<Report>,
    },
    /// The drain, undrain or lock is done (the lock is held until stdin closes).
    Done,
    /// The action failed; what is in place is said in the message.
    Failed {
        /// The error, as the host apply reports it.
        error: String,
    },
}

/// Values of `env:` references, by variable name. Never printed: `Debug` lists the names.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvValues(pub BTreeMap<String, String>);

impl fmt::Debug for EnvValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl EnvValues {
    /// The values `lookup` has for the config's `env:` references; a variable it lacks is
    /// left out, so the host reports it unset where it is needed, as a local apply would.
    pub fn of(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut names = Vec::new();
        if let Ok(value) = serde_json::to_value(config) {
            env_references(&value, &mut names);
        }
        Self(
            names
                .into_iter()
                .filter_map(|name| lookup(&name).map(|v| (name, v)))
                .collect(),
        )
    }
}

/// The variable names of every `env:` reference among the strings of `value`. Secret
/// references serialise as their `env:NAME` text; a plain string of that shape that is
/// no reference costs only a lookup.
fn env_references(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => {
            if let Ok(SecretRef::Env(name)) = s.parse() {
                out.push(name);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| env_references(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| env_references(v, out)),
        _ => {}
    }
}

/// The merged config as the agent reads it: TOML without `extends`, since every profile
/// is merged in already and a profile path means nothing on the host.
pub fn config_text(config: &Config) -> Result<String, toml::ser::Error> {
    let mut merged = config.clone();
    merged.project.extends = None;
    toml::to_string(&merged)
}

impl Request {
    /// The request as one line of JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

impl Reply {
    /// The reply as one line of JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;
    use std::path::Path;

    fn demo() -> compile::Compiled {
        compile::load(Path::new("examples/framework.toml")).expect("the example is valid")
    }

    #[test]
    fn the_merged_config_reloads_to_the_same_artifacts() {
        let compiled = demo();
        let text = config_text(&compiled.model).unwrap();
        assert!(!text.contains("extends"), "{text}");
        let again = compile::load_text(Path::new("framework.toml"), text)
            .unwrap_or_else(|e| panic!("{:?}", e.diags));
        assert_eq!(
            compile::artifacts(&again.model).unwrap(),
            compile::artifacts(&compiled.model).unwrap()
        );
    }

    #[test]
    fn env_values_carry_the_references_the_config_uses_and_never_print_them() {
        let compiled = demo();
        let env = EnvValues::of(&compiled.model, |name| Some(format!("value-of-{name}")));
        assert!(!env.0.is_empty());
        assert!(env.0.iter().all(|(k, v)| *v == format!("value-of-{k}")));
        let shown = format!("{env:?}");
        assert!(!shown.contains("value-of-"), "{shown}");
        assert!(EnvValues::of(&compiled.model, |_| None).0.is_empty());
    }

    #[test]
    fn requests_and_replies_round_trip_as_json() {
        let request = Request {
            config: "[project]\n".into(),
            host: "app-1".into(),
            action: Action::Drain {
                app: "app-1".into(),
            },
            env: EnvValues(BTreeMap::from([("K".into(), "v".into())])),
            allow_data_loss: true,
        };
        let text = request.to_json().unwrap();
        assert!(!text.contains('\n'));
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), request);
        for reply in [
            Reply::Done,
            Reply::Applied {
                generation: Some(3),
                changed: 2,
            },
            Reply::Failed {
                error: "probe failed".into(),
            },
        ] {
            let text = reply.to_json().unwrap();
            assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), reply);
        }
    }
}
