//! Small commands: `scf schema`, `scf completions SHELL`, `scf man`, `scf healthcheck URL`.

use super::report::fail;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `scf completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Prints the published JSON Schema of framework.toml.
pub fn schema() -> ExitCode {
    emit(format!("{}\n", schema_text()).as_bytes())
}

/// The text of `schemas/framework.schema.json`.
pub fn schema_text() -> String {
    // A `serde_json::Value` prints itself, pretty with `{:#}`: nothing can fail.
    format!("{:#}", crate::config::published_schema())
}

/// Prints completions for a shell.
pub fn completions(args: &CompletionsArgs, mut cli: clap::Command) -> ExitCode {
    // Generated into memory: clap_complete panics when its writer fails.
    let mut text = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "scf", &mut text);
    emit(&text)
}

/// Prints the man page.
pub fn man(cli: clap::Command) -> ExitCode {
    let mut text = Vec::new();
    match clap_mangen::Man::new(cli).render(&mut text) {
        Ok(()) => emit(&text),
        Err(e) => fail(e),
    }
}

/// Writes `bytes` to stdout. A reader that stopped early (`| head`) is not an error: the
/// command exits 0 without a word, as `cat` would.
fn emit(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write to stdout: {e}")),
    }
}

/// Exits 0 when `url` answers 2xx within a few seconds.
pub fn healthcheck(url: &str) -> ExitCode {
    let Some((address, path)) = crate::probe::split_url(url) else {
        return fail(format!("`{url}` is not an http://HOST:PORT/PATH URL"));
    };
    match crate::probe::status(
        &crate::probe::Endpoint::http(address),
        path,
        std::time::Duration::from_secs(3),
    ) {
        Ok(code) if (200..300).contains(&code) => ExitCode::SUCCESS,
        Ok(code) => fail(format!("{url} answered HTTP {code}")),
        Err(e) => fail(format!("{url}: {e}")),
    }
}
