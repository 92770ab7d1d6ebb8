//! Commands about scf itself: `scf schema`, `scf completions SHELL`, `scf man`.

use super::Cli;
use clap::CommandFactory;
use std::process::ExitCode;

/// Arguments of `scf completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Prints the published JSON Schema of framework.toml.
pub fn schema() -> ExitCode {
    println!("{}", schema_text());
    ExitCode::SUCCESS
}

/// The text of `schemas/framework.schema.json`.
pub fn schema_text() -> String {
    serde_json::to_string_pretty(&crate::config::published_schema()).unwrap_or_default()
}

/// Prints completions for a shell.
pub fn completions(args: &CompletionsArgs) -> ExitCode {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "scf",
        &mut std::io::stdout(),
    );
    ExitCode::SUCCESS
}

/// Prints the man page.
pub fn man() -> ExitCode {
    match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::fail(e),
    }
}
