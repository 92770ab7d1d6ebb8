//! Command-line surface of `scf`.

use std::process::ExitCode;

/// Runs the CLI and maps the outcome to the process exit code.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
