//! The fleet plan for people: each host's plan under a heading naming the host, its
//! address and roles (the host plan's own views, [`crate::plan::show`]), then one summary
//! line with the per-host counts. Markdown gives each host an equal share of the comment
//! limit. JSON output is the fleet plan itself ([`FleetPlan::to_json`]).

use super::plan::{FleetPlan, HostPlan};
use crate::plan::show::{self, MARKDOWN_LIMIT};
use std::fmt::Write as _;

fn roles(host: &HostPlan) -> String {
    host.roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `+A ~C -D` for one host.
fn counts(host: &HostPlan) -> String {
    let s = host.plan.summary();
    let mut text = format!("+{} ~{} -{}", s.add, s.change, s.destroy);
    if s.blocked > 0 {
        let _ = write!(text, " ({} blocked)", s.blocked);
    }
    text
}

/// The one summary line: the totals, and each host's counts.
pub fn summary(fleet: &FleetPlan) -> String {
    let total = fleet.summary();
    let changing = fleet.hosts.iter().filter(|h| h.plan.has_changes()).count();
    let per_host: Vec<String> = fleet
        .hosts
        .iter()
        .map(|h| format!("{} {}", h.name, counts(h)))
        .collect();
    format!(
        "Fleet plan: {} to add, {} to change, {} to destroy on {changing} of {} host{} ({}).",
        total.add,
        total.change,
        total.destroy,
        fleet.hosts.len(),
        if fleet.hosts.len() == 1 { "" } else { "s" },
        per_host.join(", ")
    )
}

/// The terminal view: every host's plan under its heading, then the summary line.
pub fn human(fleet: &FleetPlan, color: bool) -> String {
    let mut out = String::new();
    for host in &fleet.hosts {
        let heading = format!("── {} · {} ──", host.place(), roles(host));
        let _ = writeln!(
            out,
            "{}\n",
            if color {
                format!("\x1b[1m{heading}\x1b[0m")
            } else {
                heading
            }
        );
        out.push_str(&show::human(&host.plan, &host.place(), color));
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary(fleet));
    out
}

/// Markdown for a pull-request comment: a table of the hosts' counts, then each host's
/// plan, all within [`MARKDOWN_LIMIT`].
pub fn markdown(fleet: &FleetPlan) -> String {
    let mut out = format!(
        "## scf plan · `{}` on {} hosts\n\n**{}**\n\n| host | address | roles | add | change | destroy |\n|---|---|---|---|---|---|\n",
        fleet.project,
        fleet.hosts.len(),
        summary(fleet)
    );
    for host in &fleet.hosts {
        let s = host.plan.summary();
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} | {} |",
            host.name,
            host.address,
            roles(host),
            s.add,
            s.change,
            s.destroy
        );
    }
    out.push('\n');
    let share = MARKDOWN_LIMIT.saturating_sub(out.len()) / fleet.hosts.len().max(1);
    for host in &fleet.hosts {
        out.push_str(&show::markdown_within(&host.plan, &host.place(), share));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::plan::tests::demo;

    #[test]
    fn the_human_view_groups_by_host_and_ends_with_one_summary_line() {
        let text = human(&demo(), false);
        let app = text.find("── app-1 (10.0.0.2) · app ──").expect(&text);
        let db = text
            .find("── db (10.0.0.3) · database, proxy ──")
            .expect(&text);
        assert!(app < db);
        assert!(text.contains("No changes: db (10.0.0.3) matches framework.toml."));
        assert_eq!(
            text.lines().last(),
            Some(
                "Fleet plan: 0 to add, 1 to change, 0 to destroy on 1 of 2 hosts (app-1 +0 ~1 -0, db +0 ~0 -0)."
            )
        );
    }

    #[test]
    fn markdown_carries_every_host_within_the_comment_limit() {
        let mut fleet = demo();
        let huge = "+x\n".repeat(40_000);
        for host in &mut fleet.hosts {
            host.plan.changes[0].action = crate::plan::Action::Update;
            host.plan.changes[0].diff = Some(huge.clone());
        }
        let text = markdown(&fleet);
        assert!(text.len() <= MARKDOWN_LIMIT, "{}", text.len());
        assert!(
            text.contains("| `app-1` | `10.0.0.2` | app | 0 | 1 | 0 |"),
            "{text}"
        );
        assert!(text.contains("on app-1 (10.0.0.2)") && text.contains("on db (10.0.0.3)"));
    }
}
