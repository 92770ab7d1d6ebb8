//! The rolling apply. Under one fleet lock (held by an agent on the database host from
//! before the fleet is planned to the end of the apply), hosts are applied in waves: each database and cache host alone, then the
//! app hosts `--parallel N` at a time, each wave taken out of the upstream of every proxy
//! outside it first (when some other app host keeps serving; a proxy being applied keeps
//! the site its plan observed) and put back after; then the proxy-only and
//! monitoring hosts. A host whose apply fails has rolled itself back; its wave is put
//! back in the upstream, the rollout stops there, and the error names it, so the hosts
//! after it keep the version they serve.

use super::plan::FleetPlan;
use super::protocol::{Action, Reply};
use super::remote::{Member, Remote};
use super::{FleetError, in_parallel};
use crate::config::{HostEntry, Role};
use std::time::Duration;

/// Hosts applied together, as indices into the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    /// The hosts.
    pub hosts: Vec<usize>,
    /// Take the wave's app hosts out of every proxy's upstream while they are applied.
    pub drain: bool,
}

/// The order of a rolling apply, from the hosts' roles alone: each database host, then
/// each cache host, alone; the other app hosts in groups of `parallel`, drained unless a
/// group holds every app host (there would be none left to serve); then the rest alone.
pub fn waves(entries: &[&HostEntry], parallel: usize) -> Vec<Wave> {
    let holds = |i: &usize, role| entries[*i].holds(role);
    let all: Vec<usize> = (0..entries.len()).collect();
    let alone = |hosts: Vec<usize>| {
        hosts.into_iter().map(|h| Wave {
            hosts: vec![h],
            drain: false,
        })
    };
    let database: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| holds(i, Role::Database))
        .collect();
    let cache: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| holds(i, Role::Cache) && !holds(i, Role::Database))
        .collect();
    let data = |i: &usize| holds(i, Role::Database) || holds(i, Role::Cache);
    let apps: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| holds(i, Role::App) && !data(i))
        .collect();
    let rest: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| !holds(i, Role::App) && !data(i))
        .collect();
    let serving = entries.iter().filter(|e| e.holds(Role::App)).count();
    let groups: Vec<Wave> = apps
        .chunks(parallel.max(1))
        .map(|group| Wave {
            hosts: group.to_vec(),
            drain: group.len() < serving,
        })
        .collect();
    alone(database)
        .chain(alone(cache))
        .chain(groups)
        .chain(alone(rest))
        .collect()
}

/// The host that holds the fleet lock: the database host, else the first host.
pub fn lock_host(entries: &[&HostEntry]) -> usize {
    entries
        .iter()
        .position(|e| e.holds(Role::Database))
        .unwrap_or(0)
}

/// What a rolling apply is asked to do.
#[derive(Debug, Clone)]
pub struct Rollout<'a> {
    /// The plan shown and approved (or saved); hosts absent from it are not applied.
    pub plan: &'a FleetPlan,
    /// The plan was made just now with secrets resolved, rather than saved by `scf plan`.
    pub resolved: bool,
    /// How many app hosts at once.
    pub parallel: usize,
    /// How long each runtime may take to become ready.
    pub probe_timeout: Duration,
}

/// A host the rollout applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The host.
    pub host: String,
    /// Its new generation (`None`: it already matched).
    pub generation: Option<u64>,
    /// Addresses written or removed.
    pub changed: usize,
}

/// The fleet lock, held by an agent on the database host (else the first host) until this
/// is dropped: taken before the fleet is planned, so a second apply is refused before it
/// plans or asks, and held to the end of the rollout.
pub struct FleetLock<H>(H);

/// Takes the fleet lock for `holder` (who applies, recorded and named to anyone refused),
/// waiting up to `timeout` for another holder.
pub fn lock<R: Remote>(
    members: &[Member<R>],
    holder: String,
    timeout: Duration,
    log: &(dyn Fn(&str) + Sync),
) -> Result<FleetLock<R::Held>, FleetError> {
    let entries: Vec<&HostEntry> = members.iter().map(|m| &m.entry).collect();
    let locker = members.get(lock_host(&entries)).ok_or_else(|| {
        FleetError::Local("a fleet without hosts has no lock; this is a bug in scf".into())
    })?;
    let held = locker.remote.hold(Action::Lock {
        holder,
        timeout_ms: millis(timeout),
    })?;
    log(&format!("holding the fleet lock on {}", locker.entry.name));
    Ok(FleetLock(held))
}

/// Carries out a rolling apply over `members` under the fleet lock, telling `log` each
/// step.
pub fn apply<R: Remote>(
    members: &[Member<R>],
    _lock: &FleetLock<R::Held>,
    rollout: &Rollout<'_>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Applied>, FleetError> {
    let entries: Vec<&HostEntry> = members.iter().map(|m| &m.entry).collect();
    let proxies: Vec<&Member<R>> = members
        .iter()
        .filter(|m| m.entry.holds(Role::Proxy))
        .collect();
    let mut applied = Vec::new();
    for wave in waves(&entries, rollout.parallel) {
        let due: Vec<&Member<R>> = wave
            .hosts
            .iter()
            .map(|&i| &members[i])
            .filter(|m| {
                rollout
                    .plan
                    .host(m.entry.name.as_str())
                    .is_some_and(|h| h.plan.has_changes())
            })
            .collect();
        if due.is_empty() {
            continue;
        }
        let drained: Vec<&str> = match wave.drain {
            true => due
                .iter()
                .filter(|m| m.entry.holds(Role::App))
                .map(|m| m.entry.name.as_str())
                .collect(),
            false => Vec::new(),
        };
        // A proxy applied in this wave is left as its plan observed it: its apply would
        // refuse a site rewritten since (its other app hosts still take its requests).
        let draining: Vec<&&Member<R>> = proxies
            .iter()
            .filter(|p| !due.iter().any(|m| m.entry.name == p.entry.name))
            .collect();
        for proxy in &draining {
            for app in &drained {
                log(&format!(
                    "taking {app} out of {}'s upstream",
                    proxy.entry.name
                ));
                proxy.remote.call(Action::Drain {
                    app: app.to_string(),
                })?;
            }
        }
        let results = in_parallel(&due, |m| apply_one(m, rollout, log));
        if !drained.is_empty() {
            for proxy in &draining {
                log(&format!("putting {}'s upstream back", proxy.entry.name));
                proxy.remote.call(Action::Undrain)?;
            }
        }
        let mut failed = None;
        for result in results {
            match result {
                Ok(done) => applied.push(done),
                Err(e) if failed.is_none() => failed = Some(e),
                Err(e) => log(&format!("also failed: {e}")),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(applied)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn apply_one<R: Remote>(
    member: &Member<R>,
    rollout: &Rollout<'_>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Applied, FleetError> {
    let name = member.entry.name.as_str();
    let plan = rollout.plan.host(name).ok_or_else(|| {
        FleetError::Local(format!("no plan for host {name}; this is a bug in scf"))
    })?;
    log(&format!("applying {}", plan.place()));
    let reply = member.remote.call(Action::Apply {
        plan: Box::new(plan.plan.clone()),
        resolved: rollout.resolved,
        probe_timeout_ms: millis(rollout.probe_timeout),
    })?;
    match reply {
        Reply::Applied {
            generation,
            changed,
        } => Ok(Applied {
            host: name.to_string(),
            generation,
            changed,
        }),
        other => Err(FleetError::Remote {
            host: name.to_string(),
            why: format!("scf agent answered {other:?} to an apply; this is a bug in scf"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::plan::HostPlan;
    use crate::fleet::remote::fake::{self, entry, inventory};
    use crate::plan::{Change, Inputs, Plan};

    #[test]
    fn data_hosts_go_first_then_apps_drained_then_the_rest() {
        let mut hosts = inventory();
        hosts.push(entry("mon", "10.0.0.5", "\"monitoring\""));
        hosts.push(entry("app-3", "10.0.0.6", "\"app\""));
        hosts.push(entry("redis", "10.0.0.7", "\"cache\""));
        let refs: Vec<&HostEntry> = hosts.iter().collect();
        let wave = |hosts: &[usize], drain| Wave {
            hosts: hosts.to_vec(),
            drain,
        };
        assert_eq!(
            waves(&refs, 1),
            [
                wave(&[2], false),
                wave(&[5], false),
                wave(&[0], true),
                wave(&[1], true),
                wave(&[4], true),
                wave(&[3], false)
            ]
        );
        assert_eq!(
            waves(&refs, 2)[2..4],
            [wave(&[0, 1], true), wave(&[4], true)]
        );
        // All app hosts at once leaves none to serve: no drain.
        assert_eq!(waves(&refs, 3)[2], wave(&[0, 1, 4], false));
        assert_eq!(lock_host(&refs), 2);
    }

    /// A plan that creates one file on host `name`.
    fn changed(name: &str) -> HostPlan {
        HostPlan {
            name: name.into(),
            address: String::new(),
            roles: Vec::new(),
            plan: Plan::demo(
                Inputs {
                    config: String::new(),
                    artifacts: String::new(),
                },
                vec![Change::new(
                    "file:/x".into(),
                    crate::plan::Action::Create,
                    "absent".into(),
                )],
                vec![],
            ),
        }
    }

    /// Rolls a change to every host of `hosts` out; the outcome and the calls made.
    fn run(
        hosts: Vec<HostEntry>,
        failing: &str,
        parallel: usize,
    ) -> (Result<Vec<Applied>, FleetError>, Vec<String>) {
        let (members, journal) = fake::members(hosts, failing);
        let plan = FleetPlan::new(
            "demo".into(),
            members
                .iter()
                .map(|m| changed(m.entry.name.as_str()))
                .collect(),
        );
        let rollout = Rollout {
            plan: &plan,
            resolved: true,
            parallel,
            probe_timeout: Duration::from_secs(60),
        };
        let result = lock(&members, "ci".into(), Duration::ZERO, &|_| {})
            .and_then(|held| apply(&members, &held, &rollout, &|_| {}));
        (result, journal.calls())
    }

    #[test]
    fn each_app_host_is_drained_on_every_proxy_applied_and_put_back_in_turn() {
        let (result, calls) = run(inventory(), "", 1);
        assert_eq!(result.unwrap().len(), 3);
        assert_eq!(
            calls,
            [
                "edge lock",
                "edge apply",
                "edge drain app-1",
                "app-1 apply",
                "edge undrain",
                "edge drain app-2",
                "app-2 apply",
                "edge undrain",
                "unlock"
            ]
        );
    }

    #[test]
    fn a_failed_host_is_put_back_and_the_rollout_stops_there() {
        let (result, calls) = run(inventory(), "app-1", 1);
        let err = result.unwrap_err().to_string();
        assert!(
            err.starts_with("host app-1: the runtime did not become ready"),
            "{err}"
        );
        assert_eq!(
            calls,
            [
                "edge lock",
                "edge apply",
                "edge drain app-1",
                "app-1 apply",
                "edge undrain",
                "unlock"
            ]
        );
    }

    #[test]
    fn a_proxy_is_not_drained_in_the_wave_that_applies_it() {
        let hosts = vec![
            entry("web-1", "10.0.0.2", "\"app\", \"proxy\""),
            entry("web-2", "10.0.0.3", "\"app\", \"proxy\""),
            entry("data", "10.0.0.4", "\"database\", \"cache\""),
        ];
        let (result, calls) = run(hosts, "", 1);
        assert!(result.is_ok());
        assert_eq!(
            calls,
            [
                "data lock",
                "data apply",
                "web-2 drain web-1",
                "web-1 apply",
                "web-2 undrain",
                "web-1 drain web-2",
                "web-2 apply",
                "web-1 undrain",
                "unlock"
            ]
        );
    }

    #[test]
    fn all_app_hosts_at_once_are_not_drained() {
        let (result, calls) = run(inventory(), "", 2);
        assert!(result.is_ok());
        assert!(!calls.iter().any(|c| c.contains("drain")), "{calls:?}");
    }
}
