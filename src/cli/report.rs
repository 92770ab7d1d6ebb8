//! How the commands report: errors on stderr with exit code 1, framework.toml's findings
//! rendered with their sources, colour only on a terminal, and the one question apply asks.

use crate::compile::{self, Compiled};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

/// Whether output on `stream` may be styled (colours, bars, spinners), by the rule the
/// server's logs follow too.
pub fn styled(stream: &impl IsTerminal) -> bool {
    scf_contract::colour::for_stream(stream)
}

/// Whether to colour output on stderr.
pub fn color_stderr() -> bool {
    styled(&std::io::stderr())
}

/// Loads and validates `path`, printing findings. `None` means errors were shown.
pub fn load_or_report(path: &Path) -> Option<Compiled> {
    match compile::load(path) {
        Ok(compiled) => {
            eprint!(
                "{}",
                compiled.warnings.render(&compiled.sources, color_stderr())
            );
            Some(compiled)
        }
        Err(invalid) => {
            eprint!("{}", invalid.diags.render(&invalid.sources, color_stderr()));
            let n = invalid.diags.error_count();
            eprintln!(
                "error: {} has {n} error{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            None
        }
    }
}

/// Prints an error line and returns exit code 1.
pub fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Prints one error line each and returns exit code 1.
pub fn fail_all(messages: Vec<String>) -> ExitCode {
    for message in messages {
        eprintln!("error: {message}");
    }
    ExitCode::FAILURE
}

/// Asks for `yes` on a terminal; `--auto-approve` skips the question.
pub fn confirm(auto_approve: bool) -> Result<bool, String> {
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err("refusing to apply without confirmation: stdin is not a terminal; review the plan and pass --auto-approve".into());
    }
    print!("\nApply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(answer.trim() == "yes")
}
