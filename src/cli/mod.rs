//! Command-line surface of `scf`: argument parsing, dispatch, and the mapping of outcomes
//! to exit codes (0 success, 1 error; `plan --detailed-exitcode` adds 2 for changes, `doctor
//! --detailed-exitcode` 2 for a failed check).

mod acme;
mod apply;
mod build;
mod cluster;
mod doctor;
mod fleet;
mod forecast;
pub mod init;
pub mod meta;
mod plan;
mod progress;
mod report;
mod runtime;
mod validate;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Deploy the AI Supply Chain Optimization Framework from one framework.toml.
#[derive(Debug, Parser)]
#[command(name = "scf", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The deployment file.
    #[arg(
        long,
        global = true,
        default_value = "framework.toml",
        env = "SCF_CONFIG",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Every `scf` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter framework.toml.
    Init(init::InitArgs),
    /// Check framework.toml and report every error.
    Validate(validate::ValidateArgs),
    /// Write every artifact and a manifest of hashes, or check committed ones.
    Build(build::BuildArgs),
    /// Show what apply would change: a diff for review, JSON, or Markdown for a PR.
    Plan(plan::PlanArgs),
    /// Apply a saved plan exactly, or plan and apply after confirmation.
    Apply(apply::ApplyArgs),
    /// Return the host to an earlier generation.
    Rollback(apply::RollbackArgs),
    /// Run the deployment guide's pre- and post-deployment checklists on this host.
    Doctor(doctor::DoctorArgs),
    /// Forecast demand from a CSV history (`unique_id,ds,y`), without the server.
    Forecast(forecast::ForecastArgs),
    /// Exit 0 when URL answers 2xx (the container's health check; the image has no curl).
    Healthcheck {
        /// e.g. `http://127.0.0.1:5000/health`.
        url: String,
    },
    /// Print the JSON Schema of framework.toml.
    Schema,
    /// The framework server and its operations (run, db, tenant, audit).
    #[command(flatten)]
    Runtime(scf_runtime::cli::Command),
    /// Print shell completions.
    Completions(meta::CompletionsArgs),
    /// Print the man page (roff).
    Man,
    /// The host's ACME client, as its renewal unit runs it.
    #[command(subcommand)]
    Acme(acme::AcmeCommand),
    /// Run one request of a fleet's `scf plan`/`scf apply` on this host (JSON on stdin).
    #[command(hide = true)]
    Agent,
}

/// Runs the CLI and maps the outcome to the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 1, not clap's 2: 2 means "changes" under --detailed-exitcode.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Init(args) => init::run(&cli.config, &args),
        Command::Validate(args) => validate::run(args.file.as_deref().unwrap_or(&cli.config)),
        Command::Build(args) => build::run(&cli.config, &args),
        Command::Plan(args) => plan::run(&cli.config, &args),
        Command::Apply(args) => apply::run(&cli.config, &args),
        Command::Rollback(args) => apply::rollback(&args),
        Command::Doctor(args) => doctor::run(&cli.config, &args),
        Command::Forecast(args) => forecast::run(&args),
        Command::Healthcheck { url } => meta::healthcheck(&url),
        Command::Schema => meta::schema(),
        Command::Runtime(cmd) => runtime::run(&cli.config, cmd),
        Command::Completions(args) => meta::completions(&args, Cli::command()),
        Command::Man => meta::man(Cli::command()),
        Command::Agent => fleet::agent(),
        Command::Acme(cmd) => acme::run(&cmd),
    }
}
