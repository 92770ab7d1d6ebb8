//! `scf plan` and `scf apply` on a fleet (framework.toml with `[[hosts]]` and the host
//! target): connect to every host over ssh, copy this scf there, plan all hosts at once
//! and print one plan; apply host by host in a rolling order under the fleet lock; and
//! `scf doctor` on every host at once. Also
//! the hidden `scf agent`, which is what runs on each host. Every agent's progress is
//! printed on stderr with its host's name.

use super::report::{confirm, fail, fail_all};
use crate::compile::Compiled;
use crate::config::HostEntry;
use crate::doctor::Phase;
use crate::fleet::agent::{self, Served};
use crate::fleet::checkup::{self, HostReport};
use crate::fleet::plan::{FleetPlan, gather};
use crate::fleet::protocol::{EnvValues, Reply, Request, config_text};
use crate::fleet::remote::{Agent, Member, Payload};
use crate::fleet::rollout::{self, Rollout};
use crate::fleet::show;
use crate::fleet::ssh::{self, Destination, Progress, SshOptions, Workspace};
use crate::fleet::upload::{self, Binary};
use crate::fleet::{FleetError, all_or_errors, in_parallel};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How plan, apply and doctor reach the hosts of `[[hosts]]`.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// The only known_hosts file ssh trusts for the fleet (host keys are always checked).
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// The ssh configuration file (`ssh -F`; default: ssh's own).
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// The private key to log in with, and no other (`ssh -i`).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// How long connecting to a host may take.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub connect_timeout: crate::config::values::Duration,
    /// Plan, apply or doctor only this host of `[[hosts]]` (repeat for more).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
}

impl FleetArgs {
    fn ssh(&self) -> SshOptions {
        SshOptions {
            known_hosts: self.known_hosts.clone(),
            config: self.ssh_config.clone(),
            identity: self.identity.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout.as_millis()),
        }
    }

    /// The selected hosts' names, refusing a name that is not in `[[hosts]]`.
    fn selected(&self, fleet: &[HostEntry]) -> Result<Vec<String>, String> {
        let names: Vec<&str> = fleet.iter().map(|h| h.name.as_str()).collect();
        if let Some(unknown) = self.hosts.iter().find(|h| !names.contains(&h.as_str())) {
            return Err(format!(
                "--host {unknown}: framework.toml's [[hosts]] has no such host; the hosts are {}",
                names.join(", ")
            ));
        }
        Ok(names
            .into_iter()
            .filter(|n| self.hosts.is_empty() || self.hosts.iter().any(|h| h == n))
            .map(str::to_string)
            .collect())
    }
}

/// Every host connected, its agent ready. Fields drop in order: the agents (and their
/// ssh masters) before the directory of their sockets, and before the runtime.
struct Fleet {
    members: Vec<Member<Agent>>,
    selected: Vec<String>,
    project: String,
    _workspace: Workspace,
    _runtime: tokio::runtime::Runtime,
}

fn progress() -> Progress {
    Arc::new(|host: &str, line: &str| eprintln!("[{host}] {line}"))
}

fn destination(entry: &HostEntry) -> Destination {
    Destination {
        name: entry.name.to_string(),
        address: entry.address.to_string(),
        user: entry.user.to_string(),
        port: entry.port,
    }
}

impl Fleet {
    /// Connects to every host at once (the lock and the proxies are needed even when
    /// `--host` selects others), and makes sure each has this scf.
    fn connect(
        compiled: &Compiled,
        args: &FleetArgs,
        allow_data_loss: bool,
    ) -> Result<Self, Vec<String>> {
        let inventory = compiled.model.fleet().unwrap_or_default();
        let selected = args.selected(inventory).map_err(|e| vec![e])?;
        let options = args.ssh();
        let one = |e: FleetError| vec![e.to_string()];
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| vec![format!("cannot start the ssh runtime: {e}")])?;
        let workspace = Workspace::new(&options).map_err(one)?;
        let binary = Binary::running().map_err(one)?;
        let payload = Arc::new(Payload {
            config: config_text(&compiled.model)
                .map_err(|e| vec![format!("cannot write the config for the hosts: {e}")])?,
            env: EnvValues::of(&compiled.model, |name| std::env::var(name).ok()),
            allow_data_loss,
        });
        let handle = runtime.handle();
        let members = all_or_errors(in_parallel(inventory, |entry| {
            let connection = ssh::connect(handle, &options, &workspace, &destination(entry))?;
            let path = upload::ensure(&connection, &binary, &progress())?;
            Ok(Member {
                entry: entry.clone(),
                remote: Agent::new(connection, path, payload.clone(), progress()),
            })
        }))
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        Ok(Self {
            members,
            selected,
            project: compiled.model.name().to_string(),
            _workspace: workspace,
            _runtime: runtime,
        })
    }

    /// The selected hosts.
    fn due(&self) -> Vec<&Member<Agent>> {
        self.members
            .iter()
            .filter(|m| self.selected.iter().any(|s| s == m.entry.name.as_str()))
            .collect()
    }

    /// Plans every selected host at once.
    fn plan(&self, resolve_secrets: bool) -> Result<FleetPlan, Vec<String>> {
        gather(&self.project, &self.due(), resolve_secrets)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }
}

/// `scf doctor` on the fleet: every selected host's report, each host checked by its agent.
pub fn doctor(
    compiled: &Compiled,
    args: &FleetArgs,
    phases: &[Phase],
) -> Result<Vec<HostReport>, Vec<String>> {
    let fleet = Fleet::connect(compiled, args, false)?;
    checkup::gather(&fleet.due(), phases)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// `scf plan` on the fleet: every selected host's plan.
pub fn plan(
    compiled: &Compiled,
    args: &FleetArgs,
    allow_data_loss: bool,
) -> Result<FleetPlan, Vec<String>> {
    Fleet::connect(compiled, args, allow_data_loss)?.plan(false)
}

/// What `scf apply` on the fleet is asked besides the connection.
pub struct ApplyRequest<'a> {
    /// The saved fleet plan's text, if one was given.
    pub saved: Option<&'a str>,
    /// How many app hosts at once.
    pub parallel: usize,
    /// Apply without asking.
    pub auto_approve: bool,
    /// How long each runtime may take to become ready.
    pub probe_timeout: Duration,
    /// How long to wait for another fleet apply.
    pub lock_timeout: Duration,
    /// Let a removed tenant's data be dropped.
    pub allow_data_loss: bool,
}

/// `scf apply` on the fleet: plan (or check the saved plan), ask, then roll out.
pub fn apply(compiled: &Compiled, args: &FleetArgs, request: &ApplyRequest<'_>) -> ExitCode {
    if request
        .saved
        .is_some_and(|text| !FleetPlan::is_fleet_plan(text))
    {
        return fail(
            "that saved plan is not a fleet plan, and framework.toml has [[hosts]]: make one with `scf plan -o FILE`",
        );
    }
    let saved = match request.saved.map(FleetPlan::from_json).transpose() {
        Ok(saved) => saved,
        Err(e) => return fail(format!("cannot read the fleet plan: {e}")),
    };
    let fleet = match Fleet::connect(compiled, args, request.allow_data_loss) {
        Ok(fleet) => fleet,
        Err(errors) => return fail_all(errors),
    };
    let log = |line: &str| eprintln!("fleet: {line}");
    let lock = match rollout::lock(&fleet.members, holder(), request.lock_timeout, &log) {
        Ok(lock) => lock,
        Err(e) => return fail(e),
    };
    let plan = match &saved {
        Some(saved) => {
            let now = match fleet.plan(false) {
                Ok(now) => now,
                Err(errors) => return fail_all(errors),
            };
            let drift = saved.drift(&now);
            if !drift.is_empty() {
                return fail(format!(
                    "the saved fleet plan is stale, so nothing was applied:\n  {}\nmake a new plan with `scf plan -o FILE`",
                    drift.join("\n  ")
                ));
            }
            saved.clone()
        }
        None => {
            let fresh = match fleet.plan(true) {
                Ok(fresh) => fresh,
                Err(errors) => return fail_all(errors),
            };
            print!("{}", show::human(&fresh, super::report::color_stderr()));
            if !fresh.has_changes() {
                return ExitCode::SUCCESS;
            }
            match confirm(request.auto_approve) {
                Ok(true) => {}
                Ok(false) => return fail("apply cancelled"),
                Err(why) => return fail(why),
            }
            fresh
        }
    };
    let rollout = Rollout {
        plan: &plan,
        resolved: saved.is_none(),
        parallel: request.parallel,
        probe_timeout: request.probe_timeout,
    };
    match rollout::apply(&fleet.members, &lock, &rollout, &log) {
        Ok(applied) => {
            let changed: usize = applied.iter().map(|a| a.changed).sum();
            println!(
                "Fleet apply complete: {} host{} applied, {changed} change{}.",
                applied.len(),
                if applied.len() == 1 { "" } else { "s" },
                if changed == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!(
            "{e}\nthe rollout stopped there: the hosts after it were not touched and keep serving"
        )),
    }
}

/// Who applies, for the fleet lock: the user and the machine.
fn holder() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown user".into());
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "an unknown machine".into());
    format!("{user} on {machine}")
}

/// `scf agent`: one request on stdin, the reply on stdout, progress on stderr. A lock is
/// held until stdin closes.
pub fn agent() -> ExitCode {
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    let reply = |reply: &Reply| -> ExitCode {
        match reply.to_json() {
            Ok(json) => {
                println!("{json}");
                let _ = std::io::stdout().flush();
                if matches!(reply, Reply::Failed { .. }) {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => fail(format!("cannot write the reply: {e}")),
        }
    };
    let request = match stdin
        .read_line(&mut line)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_str::<Request>(&line).map_err(|e| e.to_string()))
    {
        Ok(request) => request,
        Err(e) => {
            return reply(&Reply::Failed {
                error: format!(
                    "scf agent reads one request as JSON on stdin ({e}); it is run by `scf plan`, `scf apply` and `scf doctor` with [[hosts]], not by hand"
                ),
            });
        }
    };
    match agent::serve(request, &mut |l| eprintln!("{l}")) {
        Served::Reply(r) => reply(&r),
        Served::Locked(lock) => {
            let code = reply(&Reply::Done);
            // Held until the controller's session ends and stdin closes.
            let _ = stdin.read_to_end(&mut Vec::new());
            drop(lock);
            code
        }
    }
}
