//! The runtime's environment file on a host (`/etc/NAME/NAME.env`, mode 0600), read by
//! the systemd unit's `EnvironmentFile=`. Secrets appear as markers that `scf apply`
//! fills in from their references.

use super::Target;
use crate::artifact::Artifact;
use crate::model::{EnvValue, Model, Placement, runtime_env};
use crate::render::{RenderError, Renderer};
use serde::Serialize;

/// The env-file target.
pub struct EnvFile;

/// What the template sees.
#[derive(Serialize)]
struct Context {
    name: String,
    vars: Vec<Var>,
}

#[derive(Serialize)]
struct Var {
    name: &'static str,
    value: String,
    secret: Option<String>,
}

/// Where the env file is installed on a host.
pub fn env_file_path(model: &Model) -> String {
    format!("/etc/{0}/{0}.env", model.name())
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

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, RenderError> {
        if model.host.is_none() {
            return Ok(Vec::new());
        }
        let vars = runtime_env(model, Placement::Host)
            .into_iter()
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
            .collect();
        let text = renderer.render(
            "env/runtime.env.j2",
            &Context {
                name: model.name().to_string(),
                vars,
            },
        )?;
        Ok(vec![
            Artifact::file(self.name(), format!("host{}", env_file_path(model)), text)
                .with_mode(0o600),
        ])
    }
}
