//! Plan output for people: a coloured terminal view with unified diffs, and Markdown for
//! pull-request comments (one collapsible section per kind of resource, always under
//! GitHub's comment limit). JSON output is the plan itself ([`super::Plan::to_json`]).

use super::{Action, Change, Desired, Plan};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// GitHub rejects comments over 65,536 characters; stay well below.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// ANSI styling, or none.
struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn action(&self, action: Action, text: &str) -> String {
        match action {
            Action::Create => self.wrap("32", text),
            Action::Update => self.wrap("33", text),
            Action::Delete => self.wrap("31", text),
            Action::NoOp => text.to_string(),
        }
    }
    fn diff_line(&self, line: &str) -> String {
        match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => self.wrap("32", line),
            Some(b'-') if !line.starts_with("---") => self.wrap("31", line),
            Some(b'@') => self.wrap("36", line),
            _ => line.to_string(),
        }
    }
}

/// The terminal view: changes with their diffs, the commands, and the summary line.
pub fn human(plan: &Plan, where_: &str, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if changes.is_empty() {
        let _ = writeln!(out, "No changes: {where_} matches framework.toml.");
    } else {
        let _ = writeln!(out, "scf will make these changes on {where_}:\n");
    }
    for c in changes {
        let head = format!("{} {}{}", c.action.symbol(), c.address, version(c));
        let _ = write!(out, "  {}", paint.action(c.action, &head));
        if c.sensitive {
            out.push_str("  (sensitive)");
        }
        if let Some(reason) = &c.blocked {
            let _ = write!(
                out,
                "  {}",
                paint.wrap("1;31", &format!("BLOCKED: {reason}"))
            );
        }
        out.push('\n');
        for line in c.diff.iter().flat_map(|d| d.lines()) {
            let _ = writeln!(out, "      {}", paint.diff_line(line));
        }
    }
    for note in &plan.notes {
        let _ = writeln!(out, "\n{} {note}", paint.wrap("1", "Note:"));
    }
    if !plan.steps.is_empty() && plan.has_changes() {
        let _ = writeln!(out, "\nThen, in order:");
        for a in &plan.steps {
            let _ = writeln!(out, "  {a}");
        }
    }
    let summary = plan.summary();
    let _ = writeln!(out, "\n{}", paint.wrap("1", &summary.to_string()));
    if summary.blocked > 0 {
        let _ = writeln!(
            out,
            "{} change{} blocked: pass {} to make {}.",
            summary.blocked,
            plural(summary.blocked),
            unblocking(plan).join(" or "),
            if summary.blocked == 1 { "it" } else { "them" }
        );
    }
    out
}

/// ` (VERSION)` after a package's address: the version apply installs, as far as the
/// package lists say; nothing for other changes.
fn version(c: &Change) -> String {
    match &c.desired {
        Some(Desired::Package { version }) => format!(
            " ({})",
            version
                .as_deref()
                .unwrap_or("from the distribution's archive")
        ),
        _ => String::new(),
    }
}

/// The flags that would unblock the blocked changes, as their reasons name them.
fn unblocking(plan: &Plan) -> Vec<&'static str> {
    let flags: Vec<&'static str> = ["--allow-data-loss", "--force-conflicts"]
        .into_iter()
        .filter(|flag| {
            plan.changes
                .iter()
                .filter_map(|c| c.blocked.as_deref())
                .any(|reason| reason.contains(flag))
        })
        .collect();
    if flags.is_empty() {
        vec!["--allow-data-loss"]
    } else {
        flags
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The kind of an address: the part before the first `:`.
fn kind(address: &str) -> &str {
    address.split_once(':').map_or(address, |(k, _)| k)
}

/// A code fence longer than any backtick run in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Markdown for a pull-request comment: a summary, then one `<details>` section per kind.
/// Long diffs are cut, with a note, so the whole stays under [`MARKDOWN_LIMIT`].
pub fn markdown(plan: &Plan, where_: &str) -> String {
    markdown_within(plan, where_, MARKDOWN_LIMIT)
}

/// [`markdown`] within `limit` bytes, for a comment that shows several plans.
pub fn markdown_within(plan: &Plan, where_: &str, limit: usize) -> String {
    for max_lines in [usize::MAX, 400, 150, 60, 20, 5, 0] {
        let text = markdown_with(plan, where_, max_lines);
        if text.len() <= limit {
            return text;
        }
    }
    // Too many changes to list them all: addresses only, cut at the limit.
    let mut text = markdown_with(plan, where_, 0);
    let note = "\n\n_…plan cut to fit a comment; run `scf plan` for the rest._\n";
    let mut cut = limit.saturating_sub(note.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(note);
    text
}

fn markdown_with(plan: &Plan, where_: &str, max_lines: usize) -> String {
    let summary = plan.summary();
    let mut out = format!(
        "### scf plan · `{}` on {where_}\n\n**{summary}**",
        plan.project
    );
    if summary.blocked > 0 {
        let _ = write!(
            out,
            " {} blocked (needs `{}`).",
            summary.blocked,
            unblocking(plan).join("` or `")
        );
    }
    out.push_str("\n\n");
    for note in &plan.notes {
        let _ = writeln!(out, "> **Note:** {note}\n");
    }
    let mut by_kind: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        by_kind.entry(kind(&c.address)).or_default().push(c);
    }
    for (kind, changes) in by_kind {
        let _ = writeln!(
            out,
            "<details><summary><code>{kind}</code>: {} change{}</summary>\n",
            changes.len(),
            plural(changes.len())
        );
        for c in changes {
            let flags = match (&c.blocked, c.sensitive) {
                (Some(reason), _) => format!(" — **blocked**: {reason}"),
                (None, true) => " — sensitive".to_string(),
                (None, false) => String::new(),
            };
            let _ = writeln!(
                out,
                "**{} `{}`**{}{flags}\n",
                c.action,
                c.address,
                version(c)
            );
            if let Some(diff) = &c.diff {
                let lines: Vec<&str> = diff.lines().collect();
                let shown = lines.len().min(max_lines);
                if shown > 0 {
                    let body = lines[..shown].join("\n");
                    let f = fence(&body);
                    let _ = writeln!(out, "{f}diff\n{body}\n{f}");
                }
                if shown < lines.len() {
                    let _ = writeln!(
                        out,
                        "_{} more diff lines not shown; run `scf plan` for the full diff._",
                        lines.len() - shown
                    );
                }
                out.push('\n');
            }
        }
        out.push_str("</details>\n\n");
    }
    if plan.has_changes() && !plan.steps.is_empty() {
        out.push_str("**Commands**\n\n");
        let body = plan
            .steps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        let f = fence(&body);
        let _ = writeln!(out, "{f}sh\n{body}\n{f}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Command, Inputs, Step};

    fn plan(changes: Vec<Change>) -> Plan {
        let inputs = Inputs {
            config: String::new(),
            artifacts: String::new(),
        };
        let steps = vec![Step::Run(Command::new("systemctl", &["daemon-reload"]))];
        Plan::demo(inputs, changes, steps)
    }

    fn change(address: &str, action: Action, diff_lines: usize) -> Change {
        let diff = (diff_lines > 0).then(|| {
            (0..diff_lines)
                .map(|i| format!("+line {i} ```"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        Change {
            address: address.into(),
            action,
            diff,
            sensitive: false,
            observed: "absent".into(),
            blocked: None,
            desired: None,
        }
    }

    #[test]
    fn summary_line_and_blocked_count() {
        let mut blocked = change("pg:database/x", Action::Delete, 0);
        blocked.blocked = Some("needs --allow-data-loss".into());
        let p = plan(vec![
            change("file:/a", Action::Create, 1),
            change("file:/b", Action::Update, 1),
            blocked,
        ]);
        let text = human(&p, "the host", false);
        assert!(
            text.contains("Plan: 1 to add, 1 to change, 0 to destroy."),
            "{text}"
        );
        assert!(text.contains("1 change blocked"), "{text}");
    }

    #[test]
    fn a_package_shows_its_version_and_a_note_is_shown_in_both_views() {
        let package = |name: &str, version: Option<&str>| Change {
            desired: Some(Desired::Package {
                version: version.map(String::from),
            }),
            ..change(&format!("package:{name}"), Action::Create, 0)
        };
        let mut p = plan(vec![
            package("nginx", Some("1.22.1-9+deb12u1")),
            package("ufw", None),
        ]);
        p.notes = vec!["package grafana is not installed.".into()];
        let text = human(&p, "the host", false);
        assert!(
            text.contains("  + package:nginx (1.22.1-9+deb12u1)\n")
                && text.contains("  + package:ufw (from the distribution's archive)\n"),
            "{text}"
        );
        assert!(
            text.contains("Note: package grafana is not installed."),
            "{text}"
        );
        let md = markdown(&p, "the host");
        assert!(
            md.contains("**create `package:nginx`** (1.22.1-9+deb12u1)")
                && md.contains("> **Note:** package grafana is not installed."),
            "{md}"
        );
    }

    #[test]
    fn markdown_stays_under_the_limit_and_fences_hold() {
        let changes = (0..40)
            .map(|i| change(&format!("file:/etc/f{i}"), Action::Update, 2000))
            .collect();
        let text = markdown(&plan(changes), "the host");
        assert!(text.len() <= MARKDOWN_LIMIT, "{}", text.len());
        assert!(text.contains("more diff lines not shown"));
        assert!(
            text.contains("````diff"),
            "a fence longer than the diff's backticks"
        );
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
    }
}
