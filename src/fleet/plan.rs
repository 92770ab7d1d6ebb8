//! The fleet plan: every host's [`Plan`], with the host's name, address and roles, as
//! `scf plan` prints it and `-o FILE` saves it. A saved fleet plan is checked host by host
//! the way a saved host plan is ([`crate::plan::saved::drift`]), and refused naming every
//! host that moved, with its address.

use super::protocol::{Action, Reply};
use super::remote::{Member, Remote};
use super::{FleetError, all_or_errors, in_parallel};
use crate::config::Role;
use crate::plan::{Plan, Summary, saved};
use serde::{Deserialize, Serialize};

/// Version of the saved fleet plan layout.
pub const FORMAT_VERSION: u32 = 1;

/// What `target` says in a saved fleet plan, to tell it from a host plan.
pub const TARGET: &str = "fleet";

/// Every host's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetPlan {
    /// Layout version, [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Always [`TARGET`].
    pub target: String,
    /// The project name.
    pub project: String,
    /// One entry per host, in inventory order.
    pub hosts: Vec<HostPlan>,
}

/// One host's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPlan {
    /// The host's name.
    pub name: String,
    /// What ssh connects to.
    pub address: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Its plan, with what was observed there.
    pub plan: Plan,
}

impl HostPlan {
    /// `NAME (ADDRESS)`, as plans and errors name a host.
    pub fn place(&self) -> String {
        format!("{} ({})", self.name, self.address)
    }
}

/// A saved fleet plan that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetPlanError {
    /// Not a fleet plan.
    #[error("not an scf fleet plan: {0}")]
    Parse(serde_json::Error),
    /// Made by an incompatible scf.
    #[error("{}; this scf reads version {FORMAT_VERSION} only: make a new plan with `scf plan -o FILE`", match .0 { Some(v) => format!("it is a fleet plan of format version {v}"), None => "it has no `format_version`".into() })]
    Version(Option<u64>),
}

impl FleetPlan {
    /// A fleet plan of `project` from its hosts' plans.
    pub fn new(project: String, hosts: Vec<HostPlan>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            target: TARGET.into(),
            project,
            hosts,
        }
    }

    /// The counts of every host together.
    pub fn summary(&self) -> Summary {
        self.hosts
            .iter()
            .map(|h| h.plan.summary())
            .fold(Summary::default(), |a, s| Summary {
                add: a.add + s.add,
                change: a.change + s.change,
                destroy: a.destroy + s.destroy,
                blocked: a.blocked + s.blocked,
            })
    }

    /// Whether applying would change anything on any host.
    pub fn has_changes(&self) -> bool {
        self.hosts.iter().any(|h| h.plan.has_changes())
    }

    /// The plan of host `name`.
    pub fn host(&self, name: &str) -> Option<&HostPlan> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The plan as pretty JSON, as saved by `-o` and printed by `--format json`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Whether a saved plan's text is a fleet plan (rather than a host or cluster plan).
    pub fn is_fleet_plan(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("target").and_then(|t| t.as_str()) == Some(TARGET))
    }

    /// Reads a saved fleet plan, refusing other layout versions.
    pub fn from_json(text: &str) -> Result<Self, FleetPlanError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(FleetPlanError::Parse)?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(FleetPlanError::Version(version));
        }
        serde_json::from_value(value).map_err(FleetPlanError::Parse)
    }

    /// What moved since this saved plan was made, compared with `now`, one line per
    /// finding, each naming its host and address. Empty means every host is as planned.
    pub fn drift(&self, now: &FleetPlan) -> Vec<String> {
        let mut out = Vec::new();
        for saved in &self.hosts {
            match now.host(&saved.name) {
                Some(fresh) => out.extend(
                    saved::drift(&saved.plan, &fresh.plan)
                        .into_iter()
                        .map(|d| format!("host {}: {d}", saved.place())),
                ),
                None => out.push(format!(
                    "host {}: no longer in [[hosts]] (or not selected with --host)",
                    saved.place()
                )),
            }
        }
        for fresh in now.hosts.iter().filter(|h| self.host(&h.name).is_none()) {
            out.push(format!(
                "host {}: not in the saved plan; make a new plan",
                fresh.place()
            ));
        }
        out
    }
}

/// Plans `members` at once, with secrets resolved or not; every host that failed is named.
pub fn gather<R: Remote>(
    project: &str,
    members: &[&Member<R>],
    resolve_secrets: bool,
) -> Result<FleetPlan, Vec<FleetError>> {
    let hosts = all_or_errors(in_parallel(members, |m| plan_one(m, resolve_secrets)))?;
    Ok(FleetPlan::new(project.to_string(), hosts))
}

fn plan_one<R: Remote>(member: &Member<R>, resolve_secrets: bool) -> Result<HostPlan, FleetError> {
    match member.remote.call(Action::Plan { resolve_secrets })? {
        Reply::Planned { plan } => Ok(HostPlan {
            name: member.entry.name.to_string(),
            address: member.entry.address.to_string(),
            roles: member.entry.roles.clone(),
            plan: *plan,
        }),
        other => Err(FleetError::Remote {
            host: member.entry.name.to_string(),
            why: format!("scf agent answered {other:?} to a plan; this is a bug in scf"),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{Action, Change, Inputs};

    fn inputs() -> Inputs {
        Inputs {
            config: "sha256:c".into(),
            artifacts: "sha256:a".into(),
        }
    }

    /// A fleet of `app-1` (one change) and `db` (no change), for tests.
    pub(crate) fn demo() -> FleetPlan {
        let change = |address: &str, action, observed: &str| {
            Change::new(address.into(), action, observed.into())
        };
        FleetPlan::new(
            "demo".into(),
            vec![
                HostPlan {
                    name: "app-1".into(),
                    address: "10.0.0.2".into(),
                    roles: vec![Role::App],
                    plan: Plan::demo(
                        inputs(),
                        vec![change("file:/etc/scf/env", Action::Update, "sha256:old")],
                        vec![],
                    ),
                },
                HostPlan {
                    name: "db".into(),
                    address: "10.0.0.3".into(),
                    roles: vec![Role::Database, Role::Proxy],
                    plan: Plan::demo(
                        inputs(),
                        vec![change("file:/etc/a", Action::NoOp, "sha256:same")],
                        vec![],
                    ),
                },
            ],
        )
    }

    #[test]
    fn a_saved_fleet_plan_round_trips_and_is_told_from_a_host_plan() {
        let plan = demo();
        let text = plan.to_json().unwrap();
        assert!(FleetPlan::is_fleet_plan(&text));
        assert_eq!(FleetPlan::from_json(&text).unwrap(), plan);
        let host = plan.hosts[0].plan.to_json().unwrap();
        assert!(!FleetPlan::is_fleet_plan(&host));
        let old = text.replace("\"format_version\": 1", "\"format_version\": 0");
        assert!(
            FleetPlan::from_json(&old)
                .unwrap_err()
                .to_string()
                .contains("version")
        );
        assert_eq!(plan.summary().change, 1);
        assert!(plan.has_changes());
    }

    #[test]
    fn gathering_plans_every_host_and_names_each_that_failed() {
        use crate::fleet::remote::fake::{inventory, members};
        let (fleet, journal) = members(inventory(), "");
        let all: Vec<_> = fleet.iter().collect();
        let plan = gather("demo", &all, false).unwrap();
        let names: Vec<&str> = plan.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["app-1", "app-2", "edge"]);
        assert_eq!(plan.hosts[2].address, "10.0.0.4");
        assert_eq!(
            plan.hosts[2].roles,
            [Role::Database, Role::Cache, Role::Proxy]
        );
        assert_eq!(journal.calls().len(), 3);
        let (fleet, _) = members(inventory(), "app-2");
        let all: Vec<_> = fleet.iter().collect();
        let errors = gather("demo", &all, false).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].to_string().starts_with("host app-2:"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn drift_names_every_host_that_moved_with_its_address() {
        let saved = demo();
        assert!(saved.drift(&saved).is_empty());
        let mut now = demo();
        now.hosts[1].plan.changes[0].observed = "sha256:edited".into();
        now.hosts.remove(0);
        let drift = saved.drift(&now);
        assert_eq!(drift.len(), 2, "{drift:?}");
        assert!(
            drift[0].starts_with("host app-1 (10.0.0.2): no longer"),
            "{drift:?}"
        );
        assert!(
            drift[1].starts_with("host db (10.0.0.3): file:/etc/a: changed"),
            "{drift:?}"
        );
    }
}
