//! Stage 4 of the pipeline: output targets. Each target is one module here, plus its
//! templates under `templates/<target>/` and its snapshot cases. A target turns the
//! [`Model`] into [`Artifact`]s and writes nothing itself; what its files need on a host
//! (their plan addresses, the checks they pass before they go live) it declares as data.
//!
//! Adding a target: write the module, list its templates in [`Target::templates`], add
//! one line to [`REGISTRY`], and add its snapshot case (see CONTRIBUTING.md).

mod acme;
pub mod alertmanager;
mod backup;
pub mod container;
pub(crate) mod env;
mod error;
mod firewall;
pub mod grafana;
pub mod kubernetes;
pub mod nginx;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod systemd;
mod target;

pub use error::TargetError;
pub use target::{
    AddressedDir, CheckCommand, Origin, Package, PreSwapCheck, Seed, Service, Stage, Staged, Target,
};

use crate::artifact::Artifact;
use crate::model::Model;
use crate::render::Renderer;

/// Every output target, in build order.
pub static REGISTRY: &[&dyn Target] = &[
    &env::EnvFile,
    &systemd::Systemd,
    &nginx::Nginx,
    &acme::Acme,
    &postgres::Postgres,
    &redis::Redis,
    &prometheus::Prometheus,
    &alertmanager::Alertmanager,
    &grafana::Grafana,
    &backup::Backups,
    &firewall::Ufw,
    &kubernetes::Manifests,
    &container::ContainerTarget,
];

/// Why a build could not render.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A target failed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A host that is not in `[[hosts]]`.
    #[error("there is no host `{name}` in [[hosts]]: {known}")]
    UnknownHost {
        /// The name asked for.
        name: String,
        /// Which hosts there are.
        known: String,
    },
    /// Two targets claim one path.
    #[error(
        "targets `{first}` and `{second}` both write `{path}`; this is a bug in scf, please report it"
    )]
    Collision {
        /// The path.
        path: String,
        /// One target.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
}

/// Renders every target's artifacts, sorted by path.
pub fn render_all(model: &Model) -> Result<Vec<Artifact>, BuildError> {
    let renderer = Renderer::new(REGISTRY.iter().flat_map(|t| t.templates().iter().copied()))
        .map_err(TargetError::from)?;
    let mut artifacts = Vec::new();
    for target in REGISTRY {
        artifacts.extend(target.render(model, &renderer)?);
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = artifacts.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(BuildError::Collision {
            path: pair[0].path.clone(),
            first: pair[0].target,
            second: pair[1].target,
        });
    }
    Ok(artifacts)
}

/// The plan address of a host path: `SCHEME:NAME` in a directory a target addresses by
/// name (`systemd:NAME.service`), `file:PATH` everywhere else.
pub fn address(host_path: &str) -> String {
    for d in REGISTRY.iter().flat_map(|t| t.addressed_dirs()) {
        if let Some(name) = host_path.strip_prefix(d.dir)
            && !name.is_empty()
            && !name.contains('/')
        {
            return format!("{}:{name}", d.scheme);
        }
    }
    format!("file:{host_path}")
}

/// The host path of a file address, the inverse of [`address`]; `None` for an address
/// that is not a file's (`pg:…`, `tenant:…`).
pub fn host_path(address: &str) -> Option<String> {
    if let Some(path) = address.strip_prefix("file:") {
        return Some(path.to_string());
    }
    let (scheme, name) = address.split_once(':')?;
    REGISTRY
        .iter()
        .flat_map(|t| t.addressed_dirs())
        .find(|d| d.scheme == scheme)
        .map(|d| format!("{}{name}", d.dir))
}

/// The stage of an apply in which `unit` is (re)started, as its target declares it; the
/// framework's own units, which no target lists, are [`Stage::App`].
pub fn stage(unit: &str) -> Stage {
    REGISTRY
        .iter()
        .flat_map(|t| t.services())
        .find(|s| s.unit == unit)
        .map_or(Stage::App, |s| s.stage)
}

/// Every target's pre-swap check commands for the staged host files `files`, in
/// registry order.
pub fn pre_swap_checks(staged: &Staged, files: &[String]) -> Vec<CheckCommand> {
    let mut out = Vec::new();
    for check in REGISTRY.iter().flat_map(|t| t.pre_swap_checks()) {
        let covered: Vec<&str> = files
            .iter()
            .map(String::as_str)
            .filter(|p| (check.covers)(p))
            .collect();
        if !covered.is_empty() {
            out.extend((check.commands)(staged, &covered));
        }
    }
    out
}

/// Every target's seeds for the host, in registry order.
pub fn seeds(model: &Model) -> Vec<Seed> {
    REGISTRY.iter().flat_map(|t| t.seeds(model)).collect()
}

/// The packages every target needs on the host, sorted by name, each once (the units of
/// a package two targets declare are merged).
pub fn packages(model: &Model) -> Vec<Package> {
    let mut by_name: std::collections::BTreeMap<&str, Package> = Default::default();
    for package in REGISTRY.iter().flat_map(|t| t.packages(model)) {
        match by_name.get_mut(package.name) {
            Some(known) => known.units.extend(package.units),
            None => {
                by_name.insert(package.name, package);
            }
        }
    }
    by_name
        .into_values()
        .map(|mut p| {
            p.units.sort_unstable();
            p.units.dedup();
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_declared_dirs() {
        for (path, address) in [
            ("/etc/systemd/system/a.service", "systemd:a.service"),
            (
                "/etc/systemd/system/a.service.d/x.conf",
                "file:/etc/systemd/system/a.service.d/x.conf",
            ),
            (
                "/etc/nginx/sites-available/a",
                "file:/etc/nginx/sites-available/a",
            ),
        ] {
            assert_eq!(super::address(path), address);
            assert_eq!(host_path(address).as_deref(), Some(path));
        }
        assert_eq!(host_path("pg:database/x"), None);
    }
}
