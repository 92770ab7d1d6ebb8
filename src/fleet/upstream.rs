//! Taking an app host out of a proxy's upstream and putting it back, on the proxy host,
//! around that app host's apply: the live nginx site is rewritten with the host's server
//! marked `down` ([`nginx::drain`]), checked with `nginx -t` and nginx reloaded; putting
//! it back writes the generated site again. A proxy without a live site yet (it is being
//! bootstrapped) serves nothing, so there is nothing to do.

use crate::artifact::{Artifact, Contents};
use crate::host::services::systemctl;
use crate::host::{ServiceManager, fsio};
use crate::model::Model;
use crate::targets::nginx;
use std::path::Path;

/// Marks app host `app` down in this proxy's live site and reloads nginx.
pub fn drain(model: &Model, app: &str, log: &mut dyn FnMut(&str)) -> Result<(), String> {
    let path = nginx::site_path(model);
    let Some(live) = live(&path)? else {
        log("no nginx site here yet; nothing to drain");
        return Ok(());
    };
    let entry = model
        .fleet()
        .unwrap_or_default()
        .iter()
        .find(|h| h.name.as_str() == app)
        .ok_or_else(|| format!("no app host `{app}` in [[hosts]]; this is a bug in scf"))?;
    let server = nginx::upstream_server(model, entry);
    let drained = nginx::drain(&live, server).ok_or_else(|| {
        format!(
            "{path} has no upstream server {server} for {app}; apply this proxy host first, so its site lists every app host"
        )
    })?;
    replace(&path, &live, &drained, log)
}

/// Puts this proxy's site back as generated, if it differs, and reloads nginx.
pub fn undrain(
    model: &Model,
    artifacts: &[Artifact],
    log: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let path = nginx::site_path(model);
    let Some(live) = live(&path)? else {
        return Ok(());
    };
    let generated = artifacts
        .iter()
        .find(|a| a.host_path() == Some(path.as_str()))
        .and_then(|a| match &a.contents {
            Contents::File(text) => Some(text.as_str()),
            Contents::Link(_) => None,
        })
        .ok_or_else(|| format!("this host has no generated {path}; this is a bug in scf"))?;
    if live == generated {
        return Ok(());
    }
    replace(&path, &live, generated, log)
}

/// The live site, if there is one.
fn live(path: &str) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}

/// Writes `new` over `old` at `path`, checks nginx's whole configuration (putting `old`
/// back if it fails) and reloads nginx.
fn replace(path: &str, old: &str, new: &str, log: &mut dyn FnMut(&str)) -> Result<(), String> {
    let write = |text: &str| {
        fsio::write_file(Path::new(path), text.as_bytes(), 0o644)
            .map_err(|e| format!("cannot write {path}: {e}"))
    };
    write(new)?;
    let services = ServiceManager::Real;
    if let Err(e) = services.check(&["nginx".into(), "-t".into(), "-q".into()]) {
        write(old)?;
        return Err(format!("{e}; {path} is as it was"));
    }
    services
        .run(&systemctl(&["reload", "nginx.service"]))
        .map_err(|e| e.to_string())?;
    log(&format!("reloaded nginx with {path} rewritten"));
    Ok(())
}
