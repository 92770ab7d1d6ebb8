//! Parity: the image, the compose stack, the host env file and the Kubernetes Deployment
//! agree on the runtime's environment names, port, probes and user. The Kubernetes half
//! runs on every scenario whose build has Kubernetes manifests.

use crate::built::{self, Built, env_vars, healthcheck, instruction};
use serde_json::Value;

/// UID:GID of the runtime everywhere.
const USER: &str = "10001:10001";
/// The runtime's port in every profile (`server.listen`).
const PORT: u16 = 5000;

#[test]
fn the_stack_env_file_has_the_host_env_file_names_in_the_same_order() {
    let mut compared = 0;
    for b in built::all() {
        let host_env = b.path("host/etc/ai-supply-chain/ai-supply-chain.env");
        if !host_env.exists() {
            continue;
        }
        let names = |text: String| -> Vec<String> {
            env_vars(&text).into_iter().map(|(name, _)| name).collect()
        };
        let host = names(std::fs::read_to_string(host_env).expect("read"));
        let stack = names(b.read("container/framework.env"));
        assert_eq!(host, stack, "{}", b.name);
        compared += 1;
    }
    assert!(compared >= 3, "the host scenarios were compared");
}

#[test]
fn the_image_and_the_stack_run_the_same_user_port_and_probe() {
    for b in built::all() {
        let dockerfile = b.read("container/Dockerfile");
        assert_eq!(instruction(&dockerfile, "USER"), USER, "{}", b.name);
        assert_eq!(
            instruction(&dockerfile, "EXPOSE"),
            PORT.to_string(),
            "{}",
            b.name
        );
        let probe = healthcheck(&dockerfile);
        assert_eq!(
            probe,
            [
                "/usr/local/bin/scf",
                "healthcheck",
                "http://127.0.0.1:5000/health"
            ],
            "{}",
            b.name
        );

        let compose = built::yaml(&b.path("container/compose.yaml"));
        let framework = &compose["services"]["framework"];
        assert_eq!(framework["user"], USER, "{}", b.name);
        assert_eq!(framework["ports"][0]["target"], PORT, "{}", b.name);
        assert_eq!(
            framework["ports"][0]["host_ip"],
            "${SCF_PUBLISH_ADDRESS:-127.0.0.1}"
        );
        let test: Vec<&str> = framework["healthcheck"]["test"]
            .as_array()
            .expect("test")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(test[0], "CMD");
        assert_eq!(
            test[1..],
            probe,
            "{}: compose probes like the image",
            b.name
        );
        for one_shot in ["db-init", "migrate"] {
            let s = &compose["services"][one_shot];
            assert_eq!(s["user"], USER, "{}: {one_shot}", b.name);
            assert_eq!(s["image"], framework["image"], "{}: {one_shot}", b.name);
            assert_eq!(
                s["env_file"], framework["env_file"],
                "{}: {one_shot}",
                b.name
            );
        }
        if b.path("kubernetes").exists() {
            kubernetes_agrees(&b, &compose);
        }
    }
}

/// The Deployment runs the image the stack builds, as the same user, on the same port,
/// probing `/health` for liveness and `/ready` for readiness.
fn kubernetes_agrees(b: &Built, compose: &Value) {
    let docs: Vec<Value> = walk(&b.path("kubernetes"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .flat_map(|p| built::yaml_docs(p))
        .collect();
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "framework")
        .unwrap_or_else(|| panic!("{}: no Deployment", b.name));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let uid = |v: &Value| v["runAsUser"].as_u64();
    let user = uid(&container["securityContext"]).or_else(|| uid(&pod["securityContext"]));
    assert_eq!(user, Some(10001), "{}: runAsUser", b.name);
    let ports: Vec<u64> = container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_u64())
        .collect();
    assert!(ports.contains(&u64::from(PORT)), "{}: {ports:?}", b.name);
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"], "/health",
        "{}",
        b.name
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"], "/ready",
        "{}",
        b.name
    );
    let image = container["image"].as_str().expect("image");
    assert_eq!(
        compose["services"]["framework"]["image"], image,
        "{}",
        b.name
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn the_framework_is_built_unless_its_kubernetes_image_is_pinned_by_digest() {
    for b in built::all() {
        let compose = built::yaml(&b.path("container/compose.yaml"));
        let framework = &compose["services"]["framework"];
        let image = framework["image"].as_str().expect("image");
        let pinned = image.contains("@sha256:");
        assert_eq!(framework["build"].is_null(), pinned, "{}: {image}", b.name);
        if !b.has("kubernetes") && b.name != "example" {
            assert_eq!(image, "ai-supply-chain-framework:dev", "{}", b.name);
        }
    }
}

/// Builds the `profile` starter after `edit`, and returns its compose.yaml as JSON.
fn compose_after(profile: &str, edit: impl Fn(String) -> String) -> (tempfile::TempDir, Value) {
    let (dir, file) = crate::support::starter(profile);
    let text = edit(std::fs::read_to_string(&file).expect("read"));
    std::fs::write(&file, text).expect("write");
    let config = file.to_str().expect("utf-8");
    let out = crate::support::scf(dir.path(), &["build", "--config", config, "--out", "out"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compose = built::yaml(&dir.path().join("out/container/compose.yaml"));
    (dir, compose)
}

#[test]
fn a_digest_pinned_kubernetes_image_is_run_as_is_not_built() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let (_dir, compose) = compose_after("kubernetes", |text| {
        text.replace(
            "registry.example.com/ai-supply-chain:1.0.0",
            &format!("registry.example.com/ai-supply-chain:1.0.0@{digest}"),
        )
    });
    for service in ["framework", "db-init", "migrate"] {
        let s = &compose["services"][service];
        assert!(s["build"].is_null(), "{service}: {s}");
        assert_eq!(
            s["image"],
            format!("registry.example.com/ai-supply-chain:1.0.0@{digest}")
        );
    }
}

#[test]
fn external_postgres_and_redis_are_not_run_by_the_stack() {
    let (dir, compose) = compose_after("dev", |text| {
        text.replace(
            "[database]\n",
            "[database]\nmanaged = false\nhost = \"db.internal\"\n",
        )
        .replace(
            "[redis]\n",
            "[redis]\nmanaged = false\nhost = \"cache.internal\"\n",
        )
    });
    let services = compose["services"].as_object().expect("services");
    assert!(!services.contains_key("postgres") && !services.contains_key("redis"));
    let deps = compose["services"]["framework"]["depends_on"]
        .as_object()
        .expect("depends_on");
    assert_eq!(deps.keys().collect::<Vec<_>>(), ["migrate"]);
    let container = dir.path().join("out/container");
    assert!(!container.join("postgres.env").exists() && !container.join("redis.env").exists());
    let env = std::fs::read_to_string(container.join("framework.env")).expect("read");
    assert!(env.contains("@db.internal:5432/"), "{env}");
    assert!(
        env.contains("REDIS_URL=redis://cache.internal:6379/0"),
        "{env}"
    );
}
