//! The container target's output for every scenario, and readers for what the tests
//! compare: YAML as JSON (through the tools venv's PyYAML, the parser docker-compose used),
//! env files as name/value pairs, and the Dockerfile's instructions. Shared by
//! tests/container.rs and tests/parity/main.rs, which each use part of it.

#![allow(dead_code)]

use crate::support;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One scenario built with `scf build`.
pub struct Built {
    /// `example` or `profile-…`.
    pub name: String,
    /// framework.toml as a TOML table.
    pub config: toml::Table,
    /// Holds the scenario's files; removed on drop.
    _dir: tempfile::TempDir,
    /// The build output dir.
    pub out: PathBuf,
}

impl Built {
    /// A file of the build output.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.out.join(rel)
    }
    /// A file of the build output, as text.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel))
            .unwrap_or_else(|e| panic!("{}: {rel}: {e}", self.name))
    }
    /// Whether framework.toml has `[section]` (its own, not a profile's).
    pub fn has(&self, section: &str) -> bool {
        self.config.contains_key(section)
    }
}

/// Builds the example and every profile starter.
pub fn all() -> Vec<Built> {
    support::scenarios()
        .into_iter()
        .map(|(name, dir, file)| {
            let config = file.to_str().expect("utf-8").to_string();
            let o = support::scf(dir.path(), &["build", "--config", &config, "--out", "out"]);
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let text = std::fs::read_to_string(&file).expect("read framework.toml");
            Built {
                name,
                config: text.parse().expect("framework.toml parses"),
                out: dir.path().join("out"),
                _dir: dir,
            }
        })
        .collect()
}

/// The tools venv's Python (PyYAML and jsonschema), as `scripts/install-tools` sets it up.
pub fn python() -> std::process::Command {
    scf_testkit::tools::command("python").expect("run scripts/install-tools")
}

/// Every YAML document of `path`, as JSON.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let script = "import json, sys, yaml\n\
                  print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
    let out = python()
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The one YAML document of `path`, as JSON.
pub fn yaml(path: &Path) -> Value {
    yaml_docs(path).into_iter().next().expect("a document")
}

/// An env file's variables, in order: `(name, value as written)`.
pub fn env_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// An env file's variables by name.
pub fn env_map(text: &str) -> BTreeMap<String, String> {
    env_vars(text).into_iter().collect()
}

/// The arguments of the first instruction `name` of the Dockerfile's final stage, joined
/// across `\` continuations.
pub fn instruction(dockerfile: &str, name: &str) -> String {
    let last_stage = dockerfile
        .rfind("\nFROM ")
        .map_or(dockerfile, |i| &dockerfile[i..]);
    let mut joined = String::new();
    let mut lines = last_stage.lines().skip_while(|l| !l.starts_with(name));
    for line in lines.by_ref() {
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(head) => joined.push_str(head),
            None => {
                joined.push_str(line);
                break;
            }
        }
    }
    joined
        .strip_prefix(name)
        .unwrap_or_else(|| panic!("no {name} in the final stage"))
        .trim()
        .to_string()
}

/// The exec form of the image's HEALTHCHECK.
pub fn healthcheck(dockerfile: &str) -> Vec<String> {
    let args = instruction(dockerfile, "HEALTHCHECK");
    let json = &args[args.find("CMD [").expect("exec form") + 4..];
    serde_json::from_str(json).expect("exec form is JSON")
}
