//! The container target on the example and every profile: the Dockerfile passes hadolint
//! and checkov, compose.yaml matches the Compose Specification's schema, the files the
//! stack mounts pass their own tools (nginx, gixy, promtool, a real Redis), and the image
//! and stack agree with the host env file and the Kubernetes Deployment (in tests/parity/main.rs).

mod support;

#[path = "container/built.rs"]
mod built;
#[path = "container/e2e.rs"]
mod e2e;
#[path = "container/hostile.rs"]
mod hostile;
#[path = "container/stack.rs"]
mod stack;

use scf_testkit::validators::{checkov, hadolint, yaml};
use std::path::{Path, PathBuf};

#[test]
fn every_dockerfile_passes_hadolint_with_no_finding_at_any_level() {
    for b in built::all() {
        let dockerfile = b.path("container/Dockerfile");
        if let Err(findings) = hadolint::lint(&[dockerfile.as_path()]) {
            panic!("{}: {findings}", b.name);
        }
    }
}

#[test]
fn every_dockerfile_passes_checkov_with_zero_failures() {
    let scan = tempfile::tempdir().expect("temp dir");
    let all = built::all();
    for b in &all {
        let dir = scan.path().join(&b.name);
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::copy(b.path("container/Dockerfile"), dir.join("Dockerfile")).expect("copy");
    }
    let report =
        checkov::scan(scan.path(), &[checkov::Framework::Dockerfile], &[]).expect("checkov runs");
    for b in &all {
        let failures = report.failures_under(&format!("/{}/", b.name));
        assert!(failures.is_empty(), "{}: {failures:#?}", b.name);
    }
    assert!(
        report.passed >= 20 * all.len() as u32,
        "checkov ran its Dockerfile checks on every file: {} passed",
        report.passed
    );
    report
        .require_clean()
        .expect("no failure, every file parsed");
}

/// The vendored Compose Specification schema.
fn compose_schema() -> PathBuf {
    support::root().join("schemas/third_party/compose-spec.json")
}

/// Validates compose files against the Compose Specification (draft-07) with the tools
/// venv's jsonschema; the error lines, or `Ok` when every file is valid.
fn check_compose(files: &[&Path]) -> Result<(), String> {
    let script = r#"
import json, sys, yaml, jsonschema
validator = jsonschema.Draft7Validator(json.load(open(sys.argv[1])))
errors = []
for path in sys.argv[2:]:
    doc = yaml.safe_load(open(path))
    for e in validator.iter_errors(doc):
        errors.append(f"{path}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}")
print("\n".join(sorted(errors)))
sys.exit(1 if errors else 0)
"#;
    let out = built::python()
        .args(["-c", script])
        .arg(compose_schema())
        .args(files)
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(text)
    }
}

#[test]
fn every_compose_file_matches_the_compose_specification_and_yamllint() {
    for b in built::all() {
        let compose = b.path("container/compose.yaml");
        if let Err(errors) = check_compose(&[&compose]) {
            panic!("{}: {errors}", b.name);
        }
        if let Err(findings) = yaml::lint(&[b.path("container").as_path()]) {
            panic!("{}: {findings}", b.name);
        }
    }
}

#[test]
fn the_compose_schema_check_rejects_what_compose_would() {
    let b = built::all().into_iter().next().expect("the example");
    let text = b.read("container/compose.yaml");
    let dir = tempfile::tempdir().expect("temp dir");
    for (what, broken) in [
        (
            "a misspelt key",
            text.replace("healthcheck:", "healthchek:"),
        ),
        (
            "a bad dependency condition",
            text.replace("condition: service_healthy", "condition: [healthy]"),
        ),
        (
            "a list where a map belongs",
            text.replace(
                "volumes:\n  framework-data: {}",
                "volumes: [framework-data]",
            ),
        ),
    ] {
        assert_ne!(broken, text, "{what}: the mutation applies");
        let path = dir.path().join("compose.yaml");
        std::fs::write(&path, broken).expect("write");
        assert!(
            check_compose(&[&path]).is_err(),
            "{what} passed the schema check"
        );
    }
}

#[test]
fn the_build_context_allowlist_holds_every_workspace_member_and_embedded_file() {
    let sources = scf::targets::container::CONTEXT_SOURCES;
    let root = support::root();
    for entry in sources {
        assert!(
            root.join(entry).exists(),
            "{entry} is not in the repository"
        );
    }
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("toml");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("members");
    for member in members.iter().filter_map(|m| m.as_str()) {
        assert!(
            member == "." || sources.contains(&member),
            "workspace member {member} is left out of the image's build context"
        );
    }
    for (file, embedded) in embedded_files(&root.join("src")) {
        let top = embedded
            .strip_prefix(&root)
            .ok()
            .and_then(|p| p.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            sources.contains(&top.as_str()),
            "{} embeds {}, outside the build context",
            file.display(),
            embedded.display()
        );
    }
}

/// Every `include_str!`/`include_bytes!` path under `dir`, resolved: `(file, embedded)`.
fn embedded_files(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(embedded_files(&path));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for macro_name in ["include_str!(\"", "include_bytes!(\""] {
            for (i, _) in text.match_indices(macro_name) {
                let rest = &text[i + macro_name.len()..];
                let rel = &rest[..rest.find('"').expect("closing quote")];
                let parent = path.parent().expect("parent");
                let resolved = std::fs::canonicalize(parent.join(rel))
                    .unwrap_or_else(|e| panic!("{}: {rel}: {e}", path.display()));
                out.push((path.clone(), resolved));
            }
        }
    }
    out
}

#[test]
fn an_unpinned_image_is_rejected_with_its_location() {
    for image in ["rust", "rust:latest"] {
        let (dir, file) = support::starter("dev");
        let text = format!(
            "{}\n[container]\nbuilder = \"{image}\"\nruntime = \"gcr.io/distroless/cc-debian12:nonroot\"\n\
             stack = {{ postgres = \"postgres:15-alpine\", redis = \"redis:7-alpine\", nginx = \"nginx:1.27-alpine\", \
             prometheus = \"prom/prometheus:v2.53.4\", grafana = \"grafana/grafana:11.6.0\" }}\n",
            std::fs::read_to_string(&file).expect("read")
        );
        std::fs::write(&file, text).expect("write");
        let out = support::scf(dir.path(), &["validate", file.to_str().expect("utf-8")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{image}: {stderr}");
        assert!(
            stderr.contains("scf::image-unpinned") && stderr.contains("framework.toml:"),
            "{image}: {stderr}"
        );
    }
}
