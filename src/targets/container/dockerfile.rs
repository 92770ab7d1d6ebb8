//! `container/Dockerfile` and `container/Dockerfile.dockerignore`: a cargo build stage
//! with cached registry and target dirs, then a minimal final stage holding the `scf`
//! binary and the runtime's state dir, owned by [`UID`].

use super::stack::{BINARY, FRAMEWORK_HEALTH, Timing, UID, health_command, port};
use crate::config::Container;
use crate::model::Model;
use crate::model::layout;
use crate::render::Renderer;
use crate::targets::error::TargetError;
use serde::Serialize;

/// The Dockerfile's template.
pub(super) const TEMPLATE: &str = "container/Dockerfile.j2";
/// The ignore file's template.
pub(super) const IGNORE_TEMPLATE: &str = "container/Dockerfile.dockerignore.j2";

/// What of the scf repository enters the build context, besides `Cargo.toml` and
/// `Cargo.lock`: every workspace member and every dir the compiler embeds files from.
pub const CONTEXT_SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "src",
    "templates",
    "profiles",
    "examples",
    "schemas",
    "tools",
    "runtime",
    "contract",
    "forecast",
    "testkit",
];

#[derive(Serialize)]
struct Context {
    name: String,
    builder: String,
    runtime: String,
    /// `key="value"` pairs, values already quoted for the Dockerfile.
    labels: Vec<String>,
    binary: &'static str,
    uid: u32,
    data_dir: String,
    port: u16,
    health: Health,
    entrypoint: String,
    cmd: String,
}

#[derive(Serialize)]
struct Health {
    #[serde(flatten)]
    timing: Timing,
    /// The exec form, as JSON.
    command: String,
}

/// Renders the Dockerfile.
pub(super) fn dockerfile(
    model: &Model,
    container: &Container,
    renderer: &Renderer,
) -> Result<String, TargetError> {
    let health: Vec<String> = health_command(model);
    let health: Vec<&str> = health.iter().map(String::as_str).collect();
    let context = Context {
        name: model.name().to_string(),
        builder: container.builder.to_string(),
        runtime: container.runtime.to_string(),
        labels: labels(model).map_err(|e| TargetError::unescapable(TEMPLATE, e))?,
        binary: BINARY,
        uid: UID,
        data_dir: layout::state_dir(model),
        port: port(model),
        health: Health {
            timing: FRAMEWORK_HEALTH,
            command: json_array(&health)?,
        },
        entrypoint: json_array(&[BINARY])?,
        cmd: json_array(&["run", "--production"])?,
    };
    Ok(renderer.render(TEMPLATE, &context)?)
}

/// Renders the ignore file: everything but [`CONTEXT_SOURCES`].
pub(super) fn ignore(renderer: &Renderer) -> Result<String, TargetError> {
    #[derive(Serialize)]
    struct Ignore {
        sources: &'static [&'static str],
    }
    let context = Ignore {
        sources: CONTEXT_SOURCES,
    };
    Ok(renderer.render(IGNORE_TEMPLATE, &context)?)
}

/// The OCI labels. The revision is a build argument: the generated file names no commit,
/// so it stays the same from one build to the next.
fn labels(model: &Model) -> Result<Vec<String>, String> {
    let literal = |key: &str, value: &str| Ok::<_, String>(format!("{key}={}", quoted(value)?));
    Ok(vec![
        literal("org.opencontainers.image.title", model.name().as_str())?,
        literal(
            "org.opencontainers.image.description",
            "AI Supply Chain Optimization Framework server, deployed by scf",
        )?,
        literal(
            "org.opencontainers.image.source",
            env!("CARGO_PKG_REPOSITORY"),
        )?,
        literal(
            "org.opencontainers.image.version",
            env!("CARGO_PKG_VERSION"),
        )?,
        "org.opencontainers.image.revision=\"${REVISION}\"".to_string(),
        literal(
            "org.opencontainers.image.licenses",
            env!("CARGO_PKG_LICENSE"),
        )?,
    ])
}

/// A double-quoted Dockerfile word: `\`, `"` and `$` escaped, so nothing expands.
fn quoted(value: &str) -> Result<String, String> {
    if value.chars().any(char::is_control) {
        return Err(format!(
            "`{}` holds a control character",
            value.escape_debug()
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// An exec-form instruction's arguments: a JSON array of strings.
fn json_array(args: &[&str]) -> Result<String, TargetError> {
    serde_json::to_string(args).map_err(|e| TargetError::serialize(TEMPLATE, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_cannot_expand_or_break_out() {
        assert_eq!(quoted("a b").unwrap(), "\"a b\"");
        assert_eq!(quoted(r#"x"$HOME\"#).unwrap(), r#""x\"\$HOME\\""#);
        assert!(quoted("a\nRUN rm -rf /").is_err());
    }

    #[test]
    fn exec_forms_are_json() {
        assert_eq!(
            json_array(&["/bin/x", "a \"b\""]).unwrap(),
            r#"["/bin/x","a \"b\""]"#
        );
    }
}
