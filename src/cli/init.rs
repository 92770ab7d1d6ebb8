//! `scf init`: write a commented starter framework.toml for a profile.

use super::report::fail;
use crate::config::values::{DomainName, Name};
use crate::render::Renderer;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// The profiles a starter file can extend (`base` alone does not pick a target).
pub const STARTERS: [&str; 4] = ["dev", "single-tenant", "multi-tenant", "kubernetes"];

/// Arguments of `scf init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The built-in profile to extend.
    #[arg(long, default_value = "single-tenant", value_parser = clap::builder::PossibleValuesParser::new(STARTERS))]
    pub profile: String,
    /// The project name.
    #[arg(long, default_value = "ai-supply-chain")]
    pub name: Name,
    /// The public domain name.
    #[arg(long, default_value = "api.example.com")]
    pub domain: DomainName,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Serialize)]
struct Context<'a> {
    profile: &'a str,
    name: &'a str,
    domain: &'a str,
}

const TEMPLATE: (&str, &str) = (
    "init/framework.toml.j2",
    include_str!("../../templates/init/framework.toml.j2"),
);

/// The starter file's text.
pub fn starter(args: &InitArgs) -> Result<String, crate::render::RenderError> {
    let domain = if args.profile == "dev" {
        "localhost"
    } else {
        args.domain.as_str()
    };
    Renderer::new([TEMPLATE])?.render(
        TEMPLATE.0,
        &Context {
            profile: &args.profile,
            name: args.name.as_str(),
            domain,
        },
    )
}

/// Writes the starter file to `path`, refusing to overwrite without `--force`.
pub fn run(path: &Path, args: &InitArgs) -> ExitCode {
    if path.exists() && !args.force {
        return fail(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        ));
    }
    let text = match starter(args) {
        Ok(text) => text,
        Err(e) => return fail(e),
    };
    if let Err(e) = std::fs::write(path, text) {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    println!(
        "Wrote {} (extends `{}`); next: `scf validate --config {0}`",
        path.display(),
        args.profile
    );
    ExitCode::SUCCESS
}
