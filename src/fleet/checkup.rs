//! `scf doctor` on a fleet: each selected host runs the checks on itself through its
//! agent, as the host it is ([`crate::model::Model::on_host`]), and answers its report.

use super::protocol::{Action, Reply};
use super::remote::{Member, Remote};
use super::{FleetError, all_or_errors, in_parallel};
use crate::doctor::{Phase, Report};
use serde::Serialize;

/// One host's doctor report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    /// The host's name in `[[hosts]]`.
    pub name: String,
    /// Where ssh reached it.
    pub address: String,
    /// Its report.
    pub report: Report,
}

/// Every member's report, all at once; the errors of every host that could not answer.
pub fn gather<R: Remote>(
    members: &[&Member<R>],
    phases: &[Phase],
) -> Result<Vec<HostReport>, Vec<FleetError>> {
    all_or_errors(in_parallel(members, |member| {
        match member.remote.call(Action::Doctor {
            phases: phases.to_vec(),
        })? {
            Reply::Doctored { report } => Ok(HostReport {
                name: member.entry.name.to_string(),
                address: member.entry.address.to_string(),
                report: *report,
            }),
            other => Err(FleetError::Remote {
                host: member.entry.name.to_string(),
                why: format!("scf agent answered {other:?} to doctor; this is a bug in scf"),
            }),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::remote::fake::{inventory, members};

    #[test]
    fn every_selected_host_reports_through_its_agent() {
        let (fleet, journal) = members(inventory(), "");
        let all: Vec<_> = fleet.iter().collect();
        let reports = gather(&all, &[Phase::Pre, Phase::Post]).unwrap();
        let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["app-1", "app-2", "edge"]);
        assert_eq!(reports[2].address, "10.0.0.4");
        let mut calls = journal.calls();
        calls.sort();
        assert_eq!(calls, ["app-1 doctor", "app-2 doctor", "edge doctor"]);
    }
}
