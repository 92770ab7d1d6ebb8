//! The runtime's CLI without the rest of `scf`: the runtime's end-to-end tests and
//! `bench/implementations/run` start `run`, `db`, `tenant` and `audit` as a real process.

use clap::Parser;

/// The runtime's commands, as `scf` exposes them.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: scf_runtime::cli::Command,
}

fn main() -> std::process::ExitCode {
    scf_runtime::cli::execute(Cli::parse().command, &|k| std::env::var(k).ok())
}
