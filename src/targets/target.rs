//! What an output target is: the [`Target`] trait every module of `targets/` implements,
//! and what a target declares about its files on a host so `host` acts on them without
//! knowing the target: the directories whose files have plan addresses of their own
//! (`systemd:NAME.service` rather than `file:/etc/systemd/system/NAME.service`), and the
//! checks a staged file passes before it replaces the live one (`nginx -t`,
//! `systemd-analyze verify`), the Debian packages its files need on the host, and the files
//! those checks need that another owner replaces later (seeds). All are data; `host` plans
//! and installs the packages and `host::apply` runs the commands and writes the seeds.

use super::error::TargetError;
use crate::artifact::Artifact;
use crate::model::Model;
use crate::render::Renderer;
use std::path::{Path, PathBuf};

/// One output target.
pub trait Target: Sync {
    /// Short name, e.g. `nginx`; recorded in the manifest.
    fn name(&self) -> &'static str;
    /// The target's templates as `(name, source)` pairs, compiled into the binary.
    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// Renders the target's artifacts; empty when the model does not call for it.
    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError>;
    /// The host directories whose files have plan addresses of their own.
    fn addressed_dirs(&self) -> &'static [AddressedDir] {
        &[]
    }
    /// The checks its staged host files pass before they replace the live ones.
    fn pre_swap_checks(&self) -> &'static [PreSwapCheck] {
        &[]
    }
    /// The packages what it runs on this host needs (the daemons its files configure, the
    /// programs its scripts and units call that a minimal Debian lacks); empty when the
    /// model does not call for the target on a host.
    fn packages(&self, _model: &Model) -> Vec<Package> {
        Vec::new()
    }
    /// The distribution's services it configures, each with the stage of an apply in which
    /// it is (re)started; every other unit belongs to [`Stage::App`].
    fn services(&self) -> &'static [Service] {
        &[]
    }
    /// Files its host files need before they are checked, which scf then leaves to another
    /// owner (a placeholder certificate that the ACME client replaces); empty when the model
    /// does not call for any.
    fn seeds(&self, _model: &Model) -> Vec<Seed> {
        Vec::new()
    }
}

/// Files apply writes, when any of them is absent, before it checks the staged files, and
/// never plans, records or prunes: their owner replaces them (a placeholder certificate,
/// until the ACME client installs the issued one).
#[derive(Debug, Clone)]
pub struct Seed {
    /// Why they are there, for the operator.
    pub what: String,
    /// The host paths, each with its permission bits.
    pub files: Vec<(String, u32)>,
    /// Makes their contents, in the order of `files`.
    pub make: fn(&Model) -> Result<Vec<Vec<u8>>, String>,
}

/// When an apply (re)starts a service: the order a bare host survives. The data services
/// come up with their new config first; then, once the database is brought in line, the
/// framework; then the proxy in front of it; then, once `/ready` answers through the
/// proxy, the monitoring stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// PostgreSQL and Redis.
    Data,
    /// The framework's own units (the runtime, backup timers).
    App,
    /// The reverse proxy.
    Edge,
    /// Prometheus, the exporters, Alertmanager, Grafana.
    Monitoring,
}

/// A distribution service a target configures.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// The unit, e.g. `nginx.service`.
    pub unit: &'static str,
    /// When an apply (re)starts it.
    pub stage: Stage,
}

/// A Debian package a target's host files need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Its name, e.g. `prometheus-node-exporter`.
    pub name: &'static str,
    /// The units it brings that scf starts once their config is in place (apply installs
    /// with every daemon held, so none starts on its packaged default config).
    pub units: Vec<String>,
    /// Where it comes from.
    pub origin: Origin,
}

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Debian's archive: apply installs it with apt-get.
    Archive,
    /// Not in Debian's archive, so scf does not install it; the plan says this instead,
    /// with where it comes from.
    Elsewhere(&'static str),
}

impl Package {
    /// A package from Debian's archive, with the units scf starts once it is installed.
    pub fn archive(name: &'static str, units: &[&str]) -> Self {
        Self {
            name,
            units: units.iter().map(|u| u.to_string()).collect(),
            origin: Origin::Archive,
        }
    }
}

/// A directory whose files a plan addresses by name: `{scheme}:{file name}`.
#[derive(Debug, Clone, Copy)]
pub struct AddressedDir {
    /// The directory, with a trailing `/`, e.g. `/etc/systemd/system/`.
    pub dir: &'static str,
    /// The address scheme, e.g. `systemd`.
    pub scheme: &'static str,
}

/// Where a pre-swap check runs: the staged copies of the new files, and the live root.
#[derive(Debug, Clone, Copy)]
pub struct Staged<'a> {
    /// The staging directory, holding each new file at its host path.
    pub stage: &'a Path,
    /// The root the live files are under.
    pub root: &'a Path,
}

impl Staged<'_> {
    /// The staged copy of a host path.
    pub fn staged(&self, host_path: &str) -> PathBuf {
        self.stage.join(host_path.trim_start_matches('/'))
    }
    /// The live file at a host path.
    pub fn live(&self, host_path: &str) -> PathBuf {
        self.root.join(host_path.trim_start_matches('/'))
    }
}

/// One command of a pre-swap check. Any warning it prints fails the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckCommand {
    /// Files the command reads besides the staged ones (e.g. a wrapper config), written
    /// into the staging directory first: `(path, text)`.
    pub helpers: Vec<(PathBuf, String)>,
    /// The program and its arguments.
    pub argv: Vec<String>,
}

/// A check that a target's staged host files must pass before anything is swapped in.
#[derive(Debug, Clone, Copy)]
pub struct PreSwapCheck {
    /// Whether the check covers the file at this host path.
    pub covers: fn(&str) -> bool,
    /// The commands that check the staged copies of `files`, the covered host paths.
    pub commands: fn(&Staged, &[&str]) -> Vec<CheckCommand>,
}
