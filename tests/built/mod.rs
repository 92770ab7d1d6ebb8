//! Builds for the validator tests of the data and monitoring targets (PostgreSQL, Redis,
//! Prometheus, Grafana): every scenario of [`crate::support::scenarios`] (each host of the
//! fleet as a build of its own), and variants of the example with one value changed, for
//! the hostile-value tables.

#![allow(dead_code)]

use crate::support;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One `scf build` output.
pub struct Build {
    /// `example`, `profile-dev`, … or the variant's description.
    pub name: String,
    out: PathBuf,
    _dir: Rc<tempfile::TempDir>,
}

impl Build {
    /// The build's copy of the file installed at `install_path` on a host.
    pub fn path(&self, install_path: &str) -> PathBuf {
        self.out.join(format!("host{install_path}"))
    }
    /// Whether the build holds the host file `install_path`.
    pub fn has(&self, install_path: &str) -> bool {
        self.path(install_path).is_file()
    }
    /// The text of the host file `install_path`.
    pub fn read(&self, install_path: &str) -> String {
        std::fs::read_to_string(self.path(install_path))
            .unwrap_or_else(|e| panic!("{}: {install_path}: {e}", self.name))
    }
    /// The host files under `install_dir`, sorted.
    pub fn files_under(&self, install_dir: &str) -> Vec<PathBuf> {
        let dir = self.path(install_dir);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.map(|e| e.expect("dir entry").path()).collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }
}

/// The builds of `file`: one, or one per host of a fleet (see [`support::hosts`]).
fn builds(name: String, dir: tempfile::TempDir, file: &Path) -> Vec<Build> {
    let out = support::build(dir.path(), file);
    let dir = Rc::new(dir);
    support::hosts(&name, &out)
        .into_iter()
        .map(|(name, out)| Build {
            name,
            out,
            _dir: dir.clone(),
        })
        .collect()
}

fn build(name: String, dir: tempfile::TempDir, file: &Path) -> Build {
    let mut builds = builds(name, dir, file);
    assert_eq!(builds.len(), 1, "one host");
    builds.remove(0)
}

/// The example, every profile starter and each host of the fleet example, built.
pub fn scenarios() -> Vec<Build> {
    support::scenarios()
        .into_iter()
        .flat_map(|(name, dir, file)| builds(name, dir, &file))
        .collect()
}

/// The scenarios whose build holds the host file `install_path`, which must be exactly
/// `expected` (`why` says why those), so a target that stops rendering is noticed.
pub fn having(install_path: &str, expected: &[&str], why: &str) -> Vec<Build> {
    let builds: Vec<Build> = scenarios()
        .into_iter()
        .filter(|b| b.has(install_path))
        .collect();
    let names: Vec<&str> = builds.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, expected, "{install_path}: {why}");
    builds
}

/// One scenario (`example`, `profile-dev`, …), built.
pub fn scenario(name: &str) -> Build {
    let (name, dir, file) = support::scenarios()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    build(name, dir, &file)
}

/// The example as a TOML table.
pub fn example() -> toml::Table {
    let text =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    text.parse().expect("the example parses")
}

/// Sets the dotted `path` (`database.settings.work_mem`) in `table`; through an array of
/// tables (`tenants.id`) it sets the first entry's key.
pub fn set(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().expect("a key");
    let mut node = table;
    for key in keys {
        let next = node
            .entry(key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = match next {
            toml::Value::Table(t) => t,
            toml::Value::Array(items) => items
                .first_mut()
                .and_then(toml::Value::as_table_mut)
                .expect("an array of tables"),
            other => panic!("{path}: {key} is {other:?}"),
        };
    }
    node.insert(last.to_string(), value);
}

/// What scf made of a variant of the example.
pub enum Outcome {
    /// `scf validate` refused it (exit 1) with this message.
    Rejected(String),
    /// It was accepted and built.
    Built(Build),
}

/// Validates `table` and, if scf accepts it, builds it. Any exit but 0 or 1 fails.
pub fn outcome(name: &str, table: &toml::Table) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("framework.toml");
    std::fs::write(&file, toml::to_string(table).expect("toml")).expect("write");
    let o = support::scf(
        dir.path(),
        &["validate", file.to_str().expect("utf-8 path")],
    );
    match o.status.code() {
        Some(0) => Outcome::Built(build(name.to_string(), dir, &file)),
        Some(1) => Outcome::Rejected(String::from_utf8_lossy(&o.stderr).into_owned()),
        other => panic!(
            "{name}: scf validate exited {other:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// Hostile text: SQL, config-file and shell syntax, a newline, unicode, a template and a
/// secret marker.
pub const HOSTILE: &[&str] = &[
    "a;b",
    "a}b",
    "a\nb",
    "a'b",
    "a\"b",
    "a$b",
    "a\\b",
    "a b",
    "a#b",
    "é",
    "{{ x }}",
    "@@scf-secret:env:SCF_SECRET_KEY@@",
];
