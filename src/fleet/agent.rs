//! `scf agent`, on a host of the fleet: reads one [`Request`], projects the config onto
//! its host ([`Model::on_host`]) and runs the host target's own plan or apply on `/`
//! with that host's artifacts, or `scf doctor`'s checks, or drains or restores its
//! proxy's upstream, or holds the fleet lock. It probes the runtime's own address on an app host, and nothing elsewhere.

use super::protocol::{Action, Reply, Request};
use crate::artifact::Artifact;
use crate::compile::{self, Compiled};
use crate::diag::Diagnostics;
use crate::host::apply::{self as host_apply, Note, Operator, Outcome, ProbeAt, Step};
use crate::host::lock::Lock;
use crate::host::{self, ServiceManager, database};
use crate::model::{Model, Role};
use crate::plan::{Plan, saved};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fleet lock's file, on the host that holds it.
pub const FLEET_LOCK: &str = "/var/lib/scf/fleet.lock";

/// What the agent ends with: an answer, or the fleet lock, held until stdin closes.
#[derive(Debug)]
pub enum Served {
    /// The answer to print.
    Reply(Reply),
    /// The lock is held; print [`Reply::Done`] and keep it until the controller leaves.
    Locked(Lock),
}

/// Serves one request, telling `log` its progress.
pub fn serve(request: Request, log: &mut dyn FnMut(&str)) -> Served {
    match handle(request, log) {
        Ok(served) => served,
        Err(error) => Served::Reply(Reply::Failed { error }),
    }
}

fn handle(request: Request, log: &mut dyn FnMut(&str)) -> Result<Served, String> {
    let load = || OnHost::load(&request);
    let reply = match &request.action {
        Action::Lock { holder, timeout_ms } => return lock(holder, *timeout_ms, log),
        Action::Plan { resolve_secrets } => Reply::Planned {
            plan: Box::new(load()?.plan(*resolve_secrets)?),
        },
        Action::Apply {
            plan,
            resolved,
            probe_timeout_ms,
        } => load()?.apply(
            plan.as_ref().clone(),
            *resolved,
            Duration::from_millis(*probe_timeout_ms),
            log,
        )?,
        Action::Doctor { phases } => {
            let on_host = load()?;
            Reply::Doctored {
                report: Box::new(crate::doctor::run(
                    &on_host.compiled,
                    &on_host.artifacts,
                    phases,
                    std::time::SystemTime::now(),
                )),
            }
        }
        Action::Drain { app } => {
            let on_host = load()?;
            super::upstream::drain(on_host.model(), app, log)?;
            Reply::Done
        }
        Action::Undrain => {
            let on_host = load()?;
            super::upstream::undrain(on_host.model(), log)?;
            Reply::Done
        }
    };
    Ok(Served::Reply(reply))
}

/// Takes the fleet lock for `holder`, waiting up to `timeout_ms` for another holder.
fn lock(holder: &str, timeout_ms: u64, log: &mut dyn FnMut(&str)) -> Result<Served, String> {
    let lock = Lock::acquire(
        Path::new(FLEET_LOCK),
        &format!("scf apply of the fleet by {holder}"),
        Duration::from_millis(timeout_ms),
    )
    .map_err(|e| e.to_string())?;
    if let Some(dead) = &lock.reclaimed {
        log(&format!(
            "note: reclaimed the fleet lock left by {dead}, which is no longer running"
        ));
    }
    Ok(Served::Locked(lock))
}

/// The deployment as this host renders it.
struct OnHost {
    compiled: Compiled,
    artifacts: Vec<Artifact>,
    allow_data_loss: bool,
}

impl OnHost {
    fn load(request: &Request) -> Result<Self, String> {
        let whole = compile::load_text(Path::new("framework.toml"), request.config.clone())
            .map_err(|invalid| {
                format!(
                    "the config sent by the controller is invalid here (is this scf another version?):\n{}",
                    invalid.diags.render(&invalid.sources, false)
                )
            })?;
        let model = compile::on_host(&whole.model, &request.host).map_err(|e| e.to_string())?;
        let artifacts = compile::projected_artifacts(&model).map_err(|e| e.to_string())?;
        if !crate::secret::supply(request.env.0.clone()) {
            return Err("secret values were supplied twice; this is a bug in scf".into());
        }
        Ok(Self {
            compiled: Compiled {
                model,
                warnings: Diagnostics::default(),
                sources: whole.sources,
            },
            artifacts,
            allow_data_loss: request.allow_data_loss,
        })
    }

    fn model(&self) -> &Model {
        &self.compiled.model
    }

    /// The database this host plans: its own PostgreSQL, when scf manages it here.
    fn database(&self) -> Option<database::Target> {
        let model = self.model();
        (model.serves(Role::Database) && model.database.managed).then(|| database::Target {
            admin_url: database::LOCAL_ADMIN_URL.to_string(),
            local: true,
            allow_data_loss: self.allow_data_loss,
        })
    }

    /// Whether this host gets `/usr/local/bin/scf`: a unit of its runs it.
    fn runs_scf(&self) -> bool {
        self.model().runs_scf()
    }

    fn plan(&self, resolve_secrets: bool) -> Result<Plan, String> {
        let options = host::Options {
            root: PathBuf::from("/"),
            resolve_secrets,
            install_binary: self.runs_scf(),
            database: self.database(),
        };
        host::plan(&self.compiled, &self.artifacts, &options)
            .map(|(plan, _)| plan)
            .map_err(|e| e.to_string())
    }

    fn apply(
        &self,
        plan: Plan,
        resolved: bool,
        probe_timeout: Duration,
        log: &mut dyn FnMut(&str),
    ) -> Result<Reply, String> {
        let model = self.model();
        let request = host_apply::Request {
            saved: (!resolved).then(|| plan.clone()),
            root: PathBuf::from("/"),
            install_binary: self.runs_scf(),
            database: self.database(),
            services: ServiceManager::Real,
            lock_timeout: Duration::ZERO,
            probe: if model.serves(Role::App) {
                ProbeAt::Address(model.server.listen.to_string())
            } else {
                ProbeAt::Never
            },
            probe_timeout,
        };
        let mut operator = Agreed {
            expected: resolved.then_some(plan),
            shown: None,
            log,
        };
        match host_apply::apply(&self.compiled, &self.artifacts, &request, &mut operator) {
            Ok(Outcome::Unchanged) => Ok(Reply::Applied {
                generation: None,
                changed: 0,
            }),
            Ok(Outcome::Applied(report)) => Ok(Reply::Applied {
                generation: Some(report.generation),
                changed: report.changed.len(),
            }),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The operator of an agent's apply: the controller approved `expected`, so the fresh
/// plan is approved exactly when it is that plan; progress goes to the log.
struct Agreed<'a> {
    expected: Option<Plan>,
    shown: Option<Plan>,
    log: &'a mut dyn FnMut(&str),
}

impl Operator for Agreed<'_> {
    fn show(&mut self, plan: &Plan) {
        self.shown = Some(plan.clone());
    }

    fn approve(&mut self) -> Result<bool, String> {
        match (&self.expected, &self.shown) {
            (Some(expected), Some(fresh)) => {
                saved::check(expected, fresh)
                    .map(|()| true)
                    .map_err(|refused| {
                        format!("the host changed since the fleet plan was shown: {refused}")
                    })
            }
            _ => Err("no plan was approved for this host; this is a bug in scf".into()),
        }
    }

    fn note(&mut self, note: &Note) {
        (self.log)(&note.to_string());
    }

    fn begin(&mut self, _steps: usize) {}

    fn step(&mut self, step: Step) {
        let line = match step {
            Step::Phase(p) => format!("==> {p}"),
            Step::File(f) => format!("    {f}"),
            Step::Command(c, true) => format!("    ran: {c}"),
            Step::Command(c, false) => format!("    skipped: {c}"),
        };
        (self.log)(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Inputs;

    fn plan(observed: &str) -> Plan {
        Plan::demo(
            Inputs {
                config: "c".into(),
                artifacts: "a".into(),
            },
            vec![crate::plan::Change::new(
                "file:/etc/x".into(),
                crate::plan::Action::Update,
                observed.into(),
            )],
            vec![],
        )
    }

    #[test]
    fn the_agent_approves_exactly_the_plan_the_controller_showed() {
        let mut lines = Vec::new();
        let mut log = |l: &str| lines.push(l.to_string());
        let mut agreed = Agreed {
            expected: Some(plan("sha256:a")),
            shown: None,
            log: &mut log,
        };
        agreed.show(&plan("sha256:a"));
        assert_eq!(agreed.approve(), Ok(true));
        agreed.show(&plan("sha256:b"));
        let err = agreed.approve().unwrap_err();
        assert!(
            err.contains("changed since the fleet plan was shown"),
            "{err}"
        );
        agreed.step(Step::Phase("probe"));
        assert_eq!(lines, ["==> probe"]);
    }

    #[test]
    fn a_request_for_an_unknown_host_fails_with_an_answer() {
        let text = crate::fleet::protocol::config_text(
            &compile::load(Path::new("examples/framework.toml"))
                .unwrap()
                .model,
        )
        .unwrap();
        let served = serve(
            Request {
                config: text,
                host: "nowhere".into(),
                action: Action::Plan {
                    resolve_secrets: false,
                },
                env: Default::default(),
                allow_data_loss: false,
            },
            &mut |_| {},
        );
        match served {
            Served::Reply(Reply::Failed { error }) => {
                assert!(error.contains("`nowhere`"), "{error}")
            }
            other => panic!("{other:?}"),
        }
    }
}
