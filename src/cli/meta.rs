//! Small commands: `scf schema`, `scf completions SHELL`, `scf man`, `scf healthcheck URL`.

use super::report::fail;
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
    // A `serde_json::Value` prints itself, pretty with `{:#}`: nothing can fail.
    format!("{:#}", crate::config::published_schema())
}

/// Prints completions for a shell.
pub fn completions(args: &CompletionsArgs, mut cli: clap::Command) -> ExitCode {
    clap_complete::generate(args.shell, &mut cli, "scf", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the man page.
pub fn man(cli: clap::Command) -> ExitCode {
    match clap_mangen::Man::new(cli).render(&mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Exits 0 when `url` answers 2xx within a few seconds.
pub fn healthcheck(url: &str) -> ExitCode {
    let Some((address, path)) = crate::probe::split_url(url) else {
        return fail(format!("`{url}` is not an http://HOST:PORT/PATH URL"));
    };
    match crate::probe::status(address, path, std::time::Duration::from_secs(3)) {
        Ok(code) if (200..300).contains(&code) => ExitCode::SUCCESS,
        Ok(code) => fail(format!("{url} answered HTTP {code}")),
        Err(e) => fail(format!("{url}: {e}")),
    }
}
