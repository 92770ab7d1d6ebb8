//! Taking an app host out of a proxy's upstream and putting it back, on the proxy host,
//! around that app host's apply: the live nginx site is kept aside, rewritten with the
//! host's server marked `down` ([`nginx::drain`]), checked with `nginx -t`, and nginx
//! reloaded; putting it back restores the text kept aside, exactly, so a proxy the rollout
//! has not applied yet still holds the files its own plan observed. A proxy without a live
//! site yet (it is being bootstrapped) serves nothing, so there is nothing to do.

use crate::host::services::systemctl;
use crate::host::state::STATE_DIR;
use crate::host::{ServiceManager, fsio};
use crate::model::Model;
use crate::targets::nginx;
use std::path::{Path, PathBuf};

/// Where the site as it was before the first drain of a wave is kept.
fn kept() -> PathBuf {
    Path::new(STATE_DIR).join("undrained-site")
}

/// Marks app host `app` down in this proxy's live site and reloads nginx.
pub fn drain(model: &Model, app: &str, log: &mut dyn FnMut(&str)) -> Result<(), String> {
    let path = nginx::site_path(model);
    let Some(live) = read(Path::new(&path))? else {
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
    // A site with a server already down is mid-wave (or left so by a killed rollout): the
    // text kept then is the one to return to.
    if !(nginx::is_drained(&live) && read(&kept())?.is_some()) {
        write(&kept(), &live)?;
    }
    replace(&path, &live, &drained, log)
}

/// Puts this proxy's site back as it was before the wave's drains, and reloads nginx.
pub fn undrain(model: &Model, log: &mut dyn FnMut(&str)) -> Result<(), String> {
    let path = nginx::site_path(model);
    let Some(original) = read(&kept())? else {
        return Ok(());
    };
    if let Some(live) = read(Path::new(&path))?
        && live != original
    {
        replace(&path, &live, &original, log)?;
    }
    std::fs::remove_file(kept()).map_err(|e| format!("cannot remove {}: {e}", kept().display()))
}

fn read(path: &Path) -> Result<Option<String>, String> {
    let bytes =
        fsio::read_if_present(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    bytes
        .map(|b| String::from_utf8(b).map_err(|_| format!("{} is not UTF-8", path.display())))
        .transpose()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fsio::write_file(path, text.as_bytes(), 0o644)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes `new` over `old` at `path`, checks nginx's whole configuration (putting `old`
/// back if it fails) and reloads nginx.
fn replace(path: &str, old: &str, new: &str, log: &mut dyn FnMut(&str)) -> Result<(), String> {
    let path = Path::new(path);
    write(path, new)?;
    let services = ServiceManager::Real;
    if let Err(e) = services.check(&["nginx".into(), "-t".into(), "-q".into()]) {
        write(path, old)?;
        return Err(format!("{e}; {} is as it was", path.display()));
    }
    services
        .run(&systemctl(&["reload", "nginx.service"]))
        .map_err(|e| e.to_string())?;
    log(&format!("reloaded nginx with {} rewritten", path.display()));
    Ok(())
}
