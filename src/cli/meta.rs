//! Small commands: `scf schema`, `scf completions SHELL`, `scf man`, `scf healthcheck URL`.

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

/// Exits 0 when `url` answers 2xx within a few seconds.
pub fn healthcheck(url: &str) -> ExitCode {
    let Some((address, path)) = crate::probe::split_url(url) else {
        return super::fail(format!("`{url}` is not an http://HOST:PORT/PATH URL"));
    };
    match crate::probe::status(address, path, std::time::Duration::from_secs(3)) {
        Ok(code) if (200..300).contains(&code) => ExitCode::SUCCESS,
        Ok(code) => super::fail(format!("{url} answered HTTP {code}")),
        Err(e) => super::fail(format!("{url}: {e}")),
    }
}
