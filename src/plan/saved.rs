//! A saved plan is a review artifact, never a script: apply recomputes the plan from
//! framework.toml and the target, checks the saved one against it with [`check`], and
//! carries out the recomputed plan. A saved plan is refused when the world moved since it
//! was made (stale), or when it says anything the recomputed plan does not: another change,
//! other contents, other commands or another order (edited, or made by another scf).

use super::{Action, Change, Desired, Plan, sha256_tag};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

/// Checks `saved` against `now`, planned the same way as apply starts; `Ok` means applying
/// `now` does exactly what `saved` shows.
pub fn check(saved: &Plan, now: &Plan) -> Result<(), Refused> {
    let stale = drift(saved, now);
    // A stale plan differs in consequence; what moved is the reason to name.
    let differs = if stale.is_empty() {
        differences(saved, now)
    } else {
        Vec::new()
    };
    if stale.is_empty() && differs.is_empty() {
        Ok(())
    } else {
        Err(Refused { stale, differs })
    }
}

/// What moved since `saved` was planned, compared with `now`: the inputs, and every
/// address's observed state. Empty means the plan is fresh.
pub fn drift(saved: &Plan, now: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if saved.project != now.project || saved.target != now.target {
        out.push(format!(
            "the plan is for {} `{}`, not {} `{}`",
            saved.target, saved.project, now.target, now.project
        ));
    }
    if saved.inputs.config != now.inputs.config {
        out.push("framework.toml or a profile it extends changed since the plan was made".into());
    }
    if saved.inputs.artifacts != now.inputs.artifacts {
        out.push(
            "the rendered artifacts differ from the plan's (framework.toml or scf itself changed)"
                .into(),
        );
    }
    let observed: BTreeMap<&str, &str> = now
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c.observed.as_str()))
        .collect();
    for c in &saved.changes {
        match observed.get(c.address.as_str()) {
            Some(seen) if *seen == c.observed => {}
            Some(seen) => out.push(format!(
                "{}: changed since the plan was made (planned against {}, now {})",
                c.address,
                short(&c.observed),
                short(seen)
            )),
            None => out.push(format!("{}: no longer part of the plan", c.address)),
        }
    }
    let planned: BTreeSet<&str> = saved.changes.iter().map(|c| c.address.as_str()).collect();
    for c in now
        .changes
        .iter()
        .filter(|c| !planned.contains(c.address.as_str()) && c.action != Action::NoOp)
    {
        out.push(format!("{}: appeared since the plan was made", c.address));
    }
    out
}

/// Where `saved` says something `now` does not, field by field and step by step.
fn differences(saved: &Plan, now: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let recomputed: BTreeMap<&str, &Change> = now
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c))
        .collect();
    let listed: BTreeSet<&str> = saved.changes.iter().map(|c| c.address.as_str()).collect();
    for c in &saved.changes {
        if let Some(n) = recomputed.get(c.address.as_str()) {
            change_differences(c, n, &mut out);
        }
    }
    for c in now
        .changes
        .iter()
        .filter(|c| !listed.contains(c.address.as_str()))
    {
        out.push(format!("{}: missing from the saved plan", c.address));
    }
    if saved.changes.len() != listed.len() {
        out.push("the saved plan lists an address more than once".into());
    }
    let steps = saved.steps.len().max(now.steps.len());
    for (i, pair) in (0..steps).map(|i| (i + 1, (saved.steps.get(i), now.steps.get(i)))) {
        match pair {
            (Some(s), Some(n)) if s == n => {}
            (Some(s), Some(n)) => out.push(format!(
                "command {i} differs: saved `{s}`, recomputed `{n}`"
            )),
            (Some(s), None) => out.push(format!(
                "command {i} is not in the recomputed plan: saved `{s}`"
            )),
            (None, Some(n)) => out.push(format!(
                "command {i} is missing from the saved plan: recomputed `{n}`"
            )),
            (None, None) => {}
        }
    }
    out
}

/// The fields of one address's change that differ.
fn change_differences(saved: &Change, now: &Change, out: &mut Vec<String>) {
    let mut field = |name: &str, s: &dyn Display, n: &dyn Display| {
        out.push(format!(
            "{}: {name} differs: saved {s}, recomputed {n}",
            saved.address
        ));
    };
    if saved.action != now.action {
        field("the action", &saved.action, &now.action);
    }
    if saved.desired != now.desired {
        field(
            "what it becomes",
            &describe(saved.desired.as_ref()),
            &describe(now.desired.as_ref()),
        );
    }
    if saved.blocked != now.blocked {
        field(
            "whether it is blocked",
            &saved.blocked.as_deref().unwrap_or("not blocked"),
            &now.blocked.as_deref().unwrap_or("not blocked"),
        );
    }
    if saved.sensitive != now.sensitive {
        field("`sensitive`", &saved.sensitive, &now.sensitive);
    }
    if saved.diff != now.diff {
        let hash = |d: &Option<String>| match d {
            Some(d) => short(&sha256_tag(d.as_bytes())),
            None => "none".into(),
        };
        field("the diff shown", &hash(&saved.diff), &hash(&now.diff));
    }
}

/// A desired state in a few words, with a hash in place of contents.
fn describe(desired: Option<&Desired>) -> String {
    match desired {
        None => "nothing".into(),
        Some(Desired::File {
            contents,
            sha256,
            mode,
            owner,
        }) => {
            let actual = sha256_tag(contents.as_bytes());
            let mut out = format!("a file {} mode {mode}", short(&actual));
            if let Some(owner) = owner {
                out.push_str(&format!(" owner {owner}"));
            }
            if *sha256 != actual {
                out.push_str(&format!(" (its sha256 field says {})", short(sha256)));
            }
            out
        }
        Some(Desired::Link { to }) => format!("a link to {to}"),
        Some(Desired::Binary { sha256 }) => format!("the scf binary {}", short(sha256)),
        Some(Desired::Package { version }) => format!(
            "the package, version {}",
            version.as_deref().unwrap_or("unknown")
        ),
        Some(Desired::Json { value }) => format!(
            "an object {}",
            short(&sha256_tag(value.to_string().as_bytes()))
        ),
    }
}

/// `sha256:abcdef…` → `sha256:abcdef123456`, keeping the mode.
fn short(observed: &str) -> String {
    observed
        .split(' ')
        .map(|part| match part.strip_prefix("sha256:") {
            // By characters: a hand-edited plan may hold anything here.
            Some(hex) => format!("sha256:{}", hex.chars().take(12).collect::<String>()),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A saved plan that apply will not carry out: nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{}run `scf plan -o FILE` again and review the new plan", message(.stale, .differs))]
pub struct Refused {
    /// What moved since the plan was made.
    pub stale: Vec<String>,
    /// Where the saved plan differs from the recomputed one, inputs and target unchanged.
    pub differs: Vec<String>,
}

fn message(stale: &[String], differs: &[String]) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|d| format!("  - {d}\n"))
            .collect::<String>()
    };
    let mut out = String::new();
    if !stale.is_empty() {
        out.push_str("the saved plan is stale, nothing was changed:\n");
        out.push_str(&list(stale));
    }
    if !differs.is_empty() {
        out.push_str(
            "the saved plan is not what apply would do (it was edited, or made by another scf), nothing was changed:\n",
        );
        out.push_str(&list(differs));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Command, Inputs, Step};

    fn plan() -> Plan {
        let inputs = Inputs {
            config: "sha256:c".into(),
            artifacts: "sha256:a".into(),
        };
        let changes = vec![Change {
            address: "file:/etc/demo.env".into(),
            action: Action::Create,
            diff: None,
            sensitive: false,
            observed: "absent".into(),
            blocked: None,
            desired: Some(Desired::file("A=1\n".into(), 0o600, None)),
        }];
        let steps = vec![
            Step::Run(Command::new("systemctl", &["daemon-reload"])),
            Step::Run(Command::new("systemctl", &["restart", "demo.service"])),
        ];
        Plan::demo(inputs, changes, steps)
    }

    fn refused(saved: &Plan) -> Vec<String> {
        check(saved, &plan()).expect_err("refused").differs
    }

    #[test]
    fn the_same_plan_passes() {
        assert!(check(&plan(), &plan()).is_ok());
    }

    #[test]
    fn reordered_steps_are_named_by_position() {
        let mut saved = plan();
        saved.steps.reverse();
        assert_eq!(
            refused(&saved),
            [
                "command 1 differs: saved `systemctl restart demo.service`, recomputed `systemctl daemon-reload`",
                "command 2 differs: saved `systemctl daemon-reload`, recomputed `systemctl restart demo.service`",
            ]
        );
    }

    #[test]
    fn contents_with_a_matching_hash_still_differ() {
        let mut saved = plan();
        saved.changes[0].desired = Some(Desired::file("A=1\nB=2\n".into(), 0o600, None));
        let differs = refused(&saved);
        assert_eq!(differs.len(), 1, "{differs:?}");
        assert!(
            differs[0]
                .starts_with("file:/etc/demo.env: what it becomes differs: saved a file sha256:"),
            "{differs:?}"
        );
    }

    #[test]
    fn a_hash_edited_into_anything_is_named_without_panicking() {
        let mut saved = plan();
        if let Some(Desired::File { sha256, .. }) = &mut saved.changes[0].desired {
            *sha256 = "sha256:aéééééééééééé".into();
        }
        let differs = refused(&saved);
        assert!(
            differs[0].contains("(its sha256 field says sha256:aééééééééééé)"),
            "{differs:?}"
        );
    }

    #[test]
    fn a_change_missing_from_the_saved_plan_is_named() {
        let mut saved = plan();
        saved.changes[0].action = Action::NoOp;
        let mut now = plan();
        now.changes[0].action = Action::NoOp;
        saved.changes.clear();
        let refused = check(&saved, &now).expect_err("refused");
        assert_eq!(
            refused.differs,
            ["file:/etc/demo.env: missing from the saved plan"]
        );
    }

    #[test]
    fn a_package_plan_round_trips_and_another_version_is_named() {
        let mut with_package = plan();
        with_package.changes.push(Change {
            address: "package:nginx".into(),
            action: Action::Create,
            diff: None,
            sensitive: false,
            observed: "absent".into(),
            blocked: None,
            desired: Some(Desired::Package {
                version: Some("1.22.1-9".into()),
            }),
        });
        with_package
            .steps
            .insert(0, Step::Install(vec!["nginx".into()]));
        with_package.notes = vec!["a note".into()];
        let json = with_package.to_json().expect("json");
        let back = Plan::from_json(&json).expect("read back");
        assert_eq!(back, with_package);
        assert!(check(&back, &with_package).is_ok());

        let mut newer = with_package.clone();
        newer.changes[1].desired = Some(Desired::Package {
            version: Some("1.22.1-10".into()),
        });
        let differs = check(&with_package, &newer).expect_err("refused").differs;
        assert_eq!(
            differs,
            [
                "package:nginx: what it becomes differs: saved the package, version 1.22.1-9, recomputed the package, version 1.22.1-10"
            ]
        );
    }

    #[test]
    fn staleness_is_named_before_differences() {
        let mut saved = plan();
        saved.inputs.config = "sha256:other".into();
        saved.steps.clear();
        let refused = check(&saved, &plan()).expect_err("refused");
        assert_eq!(refused.stale.len(), 1);
        assert!(refused.differs.is_empty());
        assert!(refused.to_string().starts_with("the saved plan is stale"));
    }
}
