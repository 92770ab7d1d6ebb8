//! `scf plan`: what `scf apply` would change, on a host or a Kubernetes cluster, as a
//! coloured diff, JSON or Markdown; saved with `-o`; with `--detailed-exitcode`, exit 2
//! when there are changes.

use super::cluster::KubeArgs;
use super::fleet::FleetArgs;
use super::report::{fail, fail_all, load_or_report, styled};
use crate::artifact::Artifact;
use crate::compile::{self, Compiled};
use crate::config::TargetKind;
use crate::fleet::plan::FleetPlan;
use crate::fleet::show as fleet_show;
use crate::host;
use crate::plan::{Plan, show};
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output format of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Coloured unified diffs for a terminal.
    Human,
    /// The plan itself, as JSON (`format_version`).
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// Where plan and apply deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// Files, systemd units and services under --root.
    Host,
    /// Objects in the cluster of a kubeconfig context.
    Kubernetes,
}

/// Arguments shared by plan and apply for the host target.
#[derive(Debug, Clone, clap::Args)]
pub struct HostArgs {
    /// The target (default: framework.toml's target.kind).
    #[arg(long, value_enum)]
    pub target: Option<TargetArg>,
    /// Run against this directory as the host's root.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Install this scf as /usr/local/bin/scf, which the units run (default: on when
    /// --root is /, off otherwise).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub install_binary: Option<bool>,
    /// Plan (and apply) the database too: a superuser URL such as
    /// `postgresql://postgres@127.0.0.1:5432/postgres`.
    #[arg(long, value_name = "URL", env = "SCF_DATABASE_ADMIN_URL")]
    pub database_url: Option<String>,
    /// Let a removed tenant's data be dropped (otherwise the change is blocked).
    #[arg(long)]
    pub allow_data_loss: bool,
}

impl HostArgs {
    /// The database to plan: `--database-url`, else on a live host whose PostgreSQL scf
    /// manages, its local server as root may reach it.
    fn database(&self, model: &crate::model::Model) -> Option<host::database::Target> {
        let local = self.database_url.is_none()
            && self.root == Path::new("/")
            && model.host.is_some()
            && model.database.managed;
        let admin_url = match &self.database_url {
            Some(url) => url.clone(),
            None if local => host::database::LOCAL_ADMIN_URL.to_string(),
            None => return None,
        };
        Some(host::database::Target {
            admin_url,
            local,
            allow_data_loss: self.allow_data_loss,
        })
    }

    /// Host-plan options for these arguments.
    pub fn options(&self, model: &crate::model::Model, resolve_secrets: bool) -> host::Options {
        host::Options {
            root: self.root.clone(),
            resolve_secrets,
            install_binary: self.install_binary.unwrap_or(self.root == Path::new("/")),
            database: self.database(model),
        }
    }
}

/// Arguments of `scf plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    kube: KubeArgs,
    #[command(flatten)]
    fleet: FleetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Save the plan to FILE for `scf apply FILE`.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 0 when there is nothing to change, 2 when there is, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
}

/// Where the plan applies, in words.
pub fn place(root: &Path) -> String {
    if root == Path::new("/") {
        "this host".into()
    } else {
        format!("the host at {}", root.display())
    }
}

/// The target of a command: `--target`, else framework.toml's `target.kind`.
pub fn target_of(compiled: &Compiled, host: &HostArgs) -> TargetArg {
    host.target.unwrap_or(match compiled.model.target.kind {
        TargetKind::Kubernetes => TargetArg::Kubernetes,
        TargetKind::Host => TargetArg::Host,
    })
}

/// Loads and validates framework.toml and renders its artifacts, checking that it has a
/// section for the target.
pub fn prepare(config: &Path, host: &HostArgs) -> Option<(Compiled, Vec<Artifact>, TargetArg)> {
    let compiled = load_or_report(config)?;
    let target = target_of(&compiled, host);
    match target {
        TargetArg::Host if compiled.model.host.is_none() => {
            fail("framework.toml has no [host] section, so there is nothing to plan on a host");
            return None;
        }
        TargetArg::Host if compiled.model.fleet().is_some() && host.root != Path::new("/") => {
            fail(format!(
                "--root {} plans one host, but framework.toml has [[hosts]]: plan and apply go to each host over ssh; drop --root (`scf build` writes each host's files under hosts/NAME/)",
                host.root.display()
            ));
            return None;
        }
        TargetArg::Kubernetes if compiled.model.kubernetes.is_none() => {
            fail(
                "framework.toml has no [kubernetes] section, so there is nothing to plan on a cluster; add one (profiles/kubernetes.toml has the defaults)",
            );
            return None;
        }
        _ => {}
    }
    match compile::artifacts(&compiled.model) {
        Ok(a) => Some((compiled, a, target)),
        Err(e) => {
            fail(e);
            None
        }
    }
}

/// A plan to print: one host's or cluster's, with where it applies, or a fleet's.
enum Planned {
    One(Plan, String),
    Fleet(FleetPlan),
}

impl Planned {
    fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            Planned::One(plan, _) => plan.to_json(),
            Planned::Fleet(fleet) => fleet.to_json(),
        }
    }

    fn show(&self, format: Format, json: &str) -> String {
        let color = styled(&std::io::stdout());
        match (self, format) {
            (_, Format::Json) => json.to_string(),
            (Planned::One(plan, where_), Format::Human) => show::human(plan, where_, color),
            (Planned::One(plan, where_), Format::Markdown) => show::markdown(plan, where_),
            (Planned::Fleet(fleet), Format::Human) => fleet_show::human(fleet, color),
            (Planned::Fleet(fleet), Format::Markdown) => fleet_show::markdown(fleet),
        }
    }

    fn has_changes(&self) -> bool {
        match self {
            Planned::One(plan, _) => plan.has_changes(),
            Planned::Fleet(fleet) => fleet.has_changes(),
        }
    }
}

/// Plans and prints.
pub fn run(config: &Path, args: &PlanArgs) -> ExitCode {
    let Some((compiled, artifacts, target)) = prepare(config, &args.host) else {
        return ExitCode::FAILURE;
    };
    let planned = match target {
        TargetArg::Host if compiled.model.fleet().is_some() => {
            match super::fleet::plan(&compiled, &args.fleet, args.host.allow_data_loss) {
                Ok(fleet) => Planned::Fleet(fleet),
                Err(errors) => return fail_all(errors),
            }
        }
        TargetArg::Host => match host::plan(
            &compiled,
            &artifacts,
            &args.host.options(&compiled.model, false),
        ) {
            Ok((plan, _)) => Planned::One(plan, place(&args.host.root)),
            Err(e) => return fail(e),
        },
        TargetArg::Kubernetes => {
            match super::cluster::plan(&compiled, &artifacts, &args.kube, args.host.allow_data_loss)
            {
                Ok((plan, where_)) => Planned::One(plan, where_),
                Err(e) => return fail(e),
            }
        }
    };
    let json = match planned.to_json() {
        Ok(json) => json,
        Err(e) => return fail(format!("cannot write the plan as JSON: {e}")),
    };
    if let Some(out) = &args.out
        && let Err(e) = crate::host::fsio::write_file(out, json.as_bytes(), 0o644)
    {
        return fail(format!("cannot save the plan to {}: {e}", out.display()));
    }
    print!("{}", planned.show(args.format, &json));
    if let Some(out) = &args.out {
        eprintln!(
            "Saved the plan to {}; apply exactly it with `scf apply {}`.",
            out.display(),
            out.display()
        );
    }
    if args.detailed_exitcode && planned.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
