//! The runtime's environment file on a host (`/etc/NAME/NAME.env`, mode 0600), read by
//! the systemd unit's `EnvironmentFile=`. Secrets appear as markers that `scf apply`
//! fills in from their references.

use super::target::Target;
use crate::artifact::{Artifact, Effect};
use crate::model::{EnvValue, EnvVar, Model, Placement, runtime_env};
use crate::render::Renderer;
use crate::targets::error::TargetError;
use serde::Serialize;

/// The env-file target.
pub struct EnvFile;

/// What the template sees.
#[derive(Serialize)]
struct Context {
    name: String,
    vars: Vec<Var>,
}

/// One line of an env file, as a template sees it: secrets as markers with their reference.
#[derive(Serialize)]
pub(crate) struct Var {
    name: &'static str,
    value: String,
    secret: Option<String>,
}

impl Var {
    /// The lines of an env file for `vars`, each secret replaced by its marker.
    pub(crate) fn lines(vars: Vec<EnvVar>) -> Vec<Var> {
        vars.into_iter()
            .map(|v| match v.value {
                EnvValue::Plain(value) => Var {
                    name: v.name,
                    value,
                    secret: None,
                },
                EnvValue::Secret(r) => Var {
                    name: v.name,
                    value: crate::secret::marker(&r),
                    secret: Some(r.to_string()),
                },
            })
            .collect()
    }
}

impl Target for EnvFile {
    fn name(&self) -> &'static str {
        "env"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "env/runtime.env.j2",
            include_str!("../../templates/env/runtime.env.j2"),
        )]
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        if !model.has_account() {
            return Ok(Vec::new());
        }
        let vars = Var::lines(runtime_env(model, Placement::Host));
        let text = renderer.render(
            "env/runtime.env.j2",
            &Context {
                name: model.name().to_string(),
                vars,
            },
        )?;
        Ok(vec![
            Artifact::file(
                self.name(),
                format!("host{}", crate::model::layout::env_file(model)),
                text,
            )
            .with_mode(0o600)
            .on_change(Effect::Restart(format!("{}.service", model.name()))),
        ])
    }
}
