//! The template engine for text formats. Each output target brings its own minijinja
//! templates (from `templates/<target>/`, compiled into the binary) and renders them from
//! its own context struct, never the whole model. Undefined variables are errors.

pub mod escape;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// A compiled set of templates, shared by every target in one build.
pub struct Renderer {
    env: Environment<'static>,
}

/// A template failed to render: always a bug in scf, never the user's input.
#[derive(Debug, thiserror::Error)]
#[error("template `{template}` failed to render: {source}; this is a bug in scf, please report it")]
pub struct RenderError {
    /// The template's name.
    pub template: String,
    /// The engine's error.
    #[source]
    pub source: minijinja::Error,
}

impl Renderer {
    /// Compiles the given `(name, source)` templates.
    pub fn new(
        templates: impl IntoIterator<Item = (&'static str, &'static str)>,
    ) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build();
        env.set_syntax(syntax.map_err(|source| RenderError {
            template: "<syntax>".into(),
            source,
        })?);
        escape::register(&mut env);
        for (name, source) in templates {
            env.add_template(name, source)
                .map_err(|source| RenderError {
                    template: name.to_string(),
                    source,
                })?;
        }
        Ok(Self { env })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, RenderError> {
        let wrap = |source| RenderError {
            template: name.to_string(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(wrap)?
            .render(Value::from(Serde(context)))
            .map_err(wrap)
    }
}
