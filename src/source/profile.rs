//! Stage 2 of the pipeline: profiles. A framework.toml names a profile in
//! `project.extends`: a built-in one (`dev`, `single-tenant`, `multi-tenant`,
//! `kubernetes`, or `base` which they all extend, compiled into the binary from `profiles/`) or a file path relative to the
//! extending file. Profiles may extend profiles; the file being read always wins.

use super::doc::Node;
use crate::diag::{Diagnostic, Diagnostics, Sources, did_you_mean};
use std::path::{Path, PathBuf};

/// The profiles compiled into scf, by name.
pub const BUILTIN: [(&str, &str); 5] = [
    ("base", include_str!("../../profiles/base.toml")),
    ("dev", include_str!("../../profiles/dev.toml")),
    (
        "single-tenant",
        include_str!("../../profiles/single-tenant.toml"),
    ),
    (
        "multi-tenant",
        include_str!("../../profiles/multi-tenant.toml"),
    ),
    ("kubernetes", include_str!("../../profiles/kubernetes.toml")),
];

/// Where a profile comes from.
#[derive(Debug, Clone)]
enum Origin {
    Builtin(&'static str),
    /// A file: its canonical path (identity, for cycles) and the path as the user wrote it.
    File {
        canonical: PathBuf,
        shown: PathBuf,
    },
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Origin::Builtin(a), Origin::Builtin(b)) => a == b,
            (Origin::File { canonical: a, .. }, Origin::File { canonical: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Origin {
    fn file(path: &Path) -> Self {
        Origin::File {
            canonical: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            shown: path.to_path_buf(),
        }
    }
    fn display(&self) -> String {
        match self {
            Origin::Builtin(name) => format!("<builtin>/profiles/{name}.toml"),
            Origin::File { shown, .. } => shown.display().to_string(),
        }
    }
}

/// Reads a file and everything it extends, and returns the merged document.
pub fn load_merged(path: &Path, sources: &mut Sources, diags: &mut Diagnostics) -> Option<Node> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(merge_text(path, text, sources, diags)),
        Err(e) => {
            diags.push(Diagnostic::error("scf::read", format!("cannot read {}: {e}", path.display()), None).help(
                "pass the file with --config FILE, or run `scf init` to write a starter framework.toml",
            ));
            None
        }
    }
}

/// Parses `text` as the file at `path` and merges everything it extends.
pub fn merge_text(path: &Path, text: String, sources: &mut Sources, diags: &mut Diagnostics) -> Node {
    let origin = Origin::file(path);
    let file = sources.add(origin.display(), text);
    let errors_before = diags.error_count();
    let doc = Node::parse(&sources.get(file).text, file, diags);
    if diags.error_count() > errors_before {
        // A broken file's `extends` cannot be trusted; report its syntax alone.
        return doc;
    }
    resolve(doc, &origin, &mut vec![origin.clone()], sources, diags)
}

/// Merges `doc` over the chain of profiles it extends.
fn resolve(
    doc: Node,
    origin: &Origin,
    chain: &mut Vec<Origin>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Node {
    let Some(name) = doc.str_at("project.extends").map(str::to_string) else {
        return doc;
    };
    let at = doc.get("project.extends").map(|n| n.span);
    let parent = match locate(&name, origin) {
        Ok(parent) => parent,
        Err(help) => {
            diags.push(
                Diagnostic::error(
                    "scf::profile-missing",
                    format!("profile `{name}` not found"),
                    at,
                )
                .label("extended here")
                .help(help),
            );
            return doc;
        }
    };
    if chain.contains(&parent) {
        let cycle = chain
            .iter()
            .chain([&parent])
            .map(Origin::display)
            .collect::<Vec<_>>()
            .join(" → ");
        diags.push(
            Diagnostic::error(
                "scf::profile-cycle",
                format!("profiles extend each other in a cycle: {cycle}"),
                at,
            )
            .label("this extends closes the cycle")
            .help("remove `extends` from one of these profiles"),
        );
        return doc;
    }
    let text = match &parent {
        Origin::Builtin(name) => BUILTIN
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| (*t).to_string()),
        Origin::File { canonical, .. } => std::fs::read_to_string(canonical).ok(),
    };
    let Some(text) = text else {
        diags.push(
            Diagnostic::error(
                "scf::profile-missing",
                format!("cannot read profile `{name}`"),
                at,
            )
            .help("check the file's permissions"),
        );
        return doc;
    };
    let file = sources.add(parent.display(), text.clone());
    let base = Node::parse(&text, file, diags);
    chain.push(parent.clone());
    let mut merged = resolve(base, &parent, chain, sources, diags);
    chain.pop();
    merged.merge(doc);
    merged
}

/// Finds a profile by built-in name or by path relative to the extending file.
fn locate(name: &str, from: &Origin) -> Result<Origin, String> {
    if let Some((builtin, _)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        return Ok(Origin::Builtin(builtin));
    }
    let names = BUILTIN.iter().map(|(n, _)| *n);
    let listed = names
        .clone()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let looks_like_path = name.contains('/') || name.ends_with(".toml");
    if !looks_like_path {
        return Err(match did_you_mean(name, names) {
            Some(near) => format!(
                "did you mean `{near}`? The built-in profiles are {listed}, or give a path to a .toml file"
            ),
            None => format!(
                "the built-in profiles are {listed}; or give a path to a .toml file, such as `./profiles/site.toml`"
            ),
        });
    }
    let base = match from {
        Origin::File { shown, .. } => shown.parent().map(Path::to_path_buf).unwrap_or_default(),
        Origin::Builtin(_) => {
            return Err("a built-in profile can only extend another built-in profile".into());
        }
    };
    let path = base.join(name);
    if path.is_file() {
        Ok(Origin::file(&path))
    } else {
        Err(format!(
            "no file at {}; paths are relative to the file that extends them",
            path.display()
        ))
    }
}
