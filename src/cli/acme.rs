//! `scf acme due|renew SETTINGS`: the host's ACME client, as `scf-acme.service` runs it
//! (its `ExecCondition=` and `ExecStart=`) from the settings file `scf apply` installs.

use crate::acme::{Due, Settings};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

/// What `scf acme` does.
#[derive(Debug, Subcommand)]
pub enum AcmeCommand {
    /// Exit 0 when the certificate is due for renewal (two thirds of its lifetime gone, or
    /// the placeholder), 1 when not, 255 on an error; records its expiry metric either way.
    Due {
        /// The settings file, `/etc/NAME/acme.json`.
        settings: PathBuf,
    },
    /// Obtain a new certificate by HTTP-01 through nginx and install it.
    Renew {
        /// The settings file, `/etc/NAME/acme.json`.
        settings: PathBuf,
    },
}

/// Runs an `scf acme` command.
pub fn run(command: &AcmeCommand) -> ExitCode {
    match command {
        AcmeCommand::Due { settings } => {
            match Settings::load(settings).and_then(|s| s.due(SystemTime::now())) {
                Ok(due @ Due::Now(_)) => {
                    println!("{due}");
                    ExitCode::SUCCESS
                }
                Ok(due) => {
                    println!("{due}");
                    ExitCode::from(1)
                }
                // systemd fails the unit on 255; 1-254 would only skip it.
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(255)
                }
            }
        }
        AcmeCommand::Renew { settings } => match Settings::load(settings).and_then(|s| {
            let leaf = s.renew()?;
            Ok((s, leaf))
        }) {
            Ok((s, leaf)) => {
                println!(
                    "installed a certificate for {} (serial {}), valid until {}; renewal from {}",
                    s.domain,
                    leaf.serial,
                    crate::acme::Stamp(leaf.not_after),
                    crate::acme::Stamp(leaf.renewal_at())
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
