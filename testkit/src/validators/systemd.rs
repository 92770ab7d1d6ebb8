//! systemd: `systemd-analyze verify` on generated units (any output fails: unknown keys and
//! bad values are printed with exit 0) and the offline `security` exposure score.
//!
//! Executables the units name but this machine lacks (the app's own binary) are stubbed by
//! an overlayfs mounted inside `unshare --mount`, so the host is never touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Findings, Report, read, run, scratch, tool, write};

/// The unit keys whose first word is an executable systemd checks.
const EXEC_KEYS: &[&str] = &[
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
];

/// `systemd-analyze verify --man=no` on `units` (listed together, so they may refer to
/// each other): passes only when it exits 0 and prints nothing.
pub fn verify(units: &[&Path]) -> Result<Report, Findings> {
    let analyze = crate::tools::find("systemd-analyze")?;
    let mut missing = Vec::new();
    for unit in units {
        missing.extend(missing_executables(&read(unit)?));
    }
    if missing.is_empty() {
        let ran = run(tool("systemd-analyze")?
            .args(["verify", "--man=no"])
            .args(units))?;
        return ran.silent();
    }
    if !crate::process::running_as_root() {
        return Err(Findings::Harness(format!(
            "stubbing {} for systemd-analyze needs root (unshare --mount)",
            missing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let work = scratch("scf-systemd-")?;
    let mut script = String::from("set -e\n");
    for (index, (target, stubs)) in overlay_targets(&missing)?.iter().enumerate() {
        let layer = work.path().join(index.to_string());
        for stub in stubs {
            write_stub(&layer.join("upper").join(stub))?;
        }
        create_dir(&layer.join("work"))?;
        script.push_str(&format!(
            "mount -t overlay overlay -o lowerdir={t},upperdir={u},workdir={w} {t}\n",
            t = quote(target),
            u = quote(&layer.join("upper")),
            w = quote(&layer.join("work")),
        ));
    }
    script.push_str(&format!(
        "exec {} verify --man=no \"$@\"\n",
        quote(&analyze)
    ));
    let mut cmd = tool("unshare")?;
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        "sh",
    ])
    .args(units);
    run(&mut cmd)?.silent()
}

/// The exposure score `systemd-analyze security --offline=true` gives `unit` (0.0 best,
/// 10.0 worst). Fails if the tool fails or warns about the unit.
pub fn security(unit: &Path) -> Result<f64, Findings> {
    let ran = run(tool("systemd-analyze")?
        .args(["security", "--offline=true"])
        .arg(unit))?;
    let score = ran
        .stdout
        .lines()
        .find_map(|line| {
            line.split_once("Overall exposure level for ")?
                .1
                .split(": ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok());
    let warned = !ran.stderr().trim().is_empty();
    match score {
        Some(score) if !warned && ran.status.success() => Ok(score),
        _ => Err(ran.rejected("no clean exposure score".to_owned())),
    }
}

/// Absolute executables in `Exec*=` lines that do not exist on this machine.
fn missing_executables(unit: &str) -> Vec<PathBuf> {
    unit.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            if !EXEC_KEYS.contains(&key.trim()) {
                return None;
            }
            let program = value.trim().trim_start_matches(['@', '-', ':', '+', '!']);
            let program = Path::new(program.split_whitespace().next()?);
            (program.is_absolute() && !program.exists()).then(|| program.to_owned())
        })
        .collect()
}

/// Groups missing executables by the nearest existing ancestor to overlay, shallowest
/// first so nested overlays stack; each stub is the path relative to its overlay.
fn overlay_targets(missing: &[PathBuf]) -> Result<BTreeMap<PathBuf, Vec<PathBuf>>, Findings> {
    let mut targets: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for program in missing {
        let target = program
            .ancestors()
            .skip(1)
            .find(|dir| dir.is_dir())
            .filter(|dir| *dir != Path::new("/"))
            .ok_or_else(|| {
                Findings::Harness(format!(
                    "cannot stub {}: no existing parent dir to overlay but /",
                    program.display()
                ))
            })?;
        let relative = program.strip_prefix(target).unwrap_or(program).to_owned();
        targets.entry(target.to_owned()).or_default().push(relative);
    }
    Ok(targets)
}

fn write_stub(path: &Path) -> Result<(), Findings> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    write(path, "#!/bin/sh\nexit 0\n")?;
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(path, mode).map_err(|err| Findings::harness("chmod stub", err))
}

fn create_dir(path: &Path) -> Result<(), Findings> {
    std::fs::create_dir_all(path).map_err(|err| Findings::harness(&path.display().to_string(), err))
}

/// Single-quotes a path for `sh`.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
