//! The agents' workloads: the API runs none, each kind has its own workers, KEDA scales
//! them on their streams, the network policies around them, the shared uploads claim and
//! the agents' bounds and resources.

use super::*;

#[test]
fn the_api_runs_no_agents_and_each_kind_has_its_own_workers() {
    let objects = built(
        "[kubernetes.agents]\nmax = 4\nresources = { requests = { cpu = \"1\", memory = \"1Gi\" }, limits = { cpu = \"3\", memory = \"3Gi\" } }\n",
    );
    let api = container(find(&objects, "Deployment", "framework").expect("api"));
    assert_eq!(
        api["command"],
        serde_json::json!(["scf", "run", "--production", "--no-agents"])
    );
    for kind in scf_runtime::queue::STREAMS {
        let name = format!("framework-agent-{kind}");
        let deployment = find(&objects, "Deployment", &name).expect("workers");
        let c = container(deployment);
        assert_eq!(
            c["command"],
            serde_json::json!([
                "scf",
                "run",
                "--production",
                "--agents-only",
                "--agent",
                kind
            ])
        );
        assert_eq!(
            c["resources"]["limits"]["cpu"], "3",
            "[kubernetes.agents] resources"
        );
        assert!(
            c.get("ports").is_none() && c.get("livenessProbe").is_none(),
            "{c}"
        );
        let labels = json(deployment)["spec"]["selector"]["matchLabels"].clone();
        assert_eq!(labels["app.kubernetes.io/name"], "framework-agent");
        assert_eq!(labels["app.kubernetes.io/component"], kind);
        let skips: Vec<String> = annotations(deployment).into_values().collect();
        for check in ["CKV_K8S_8=", "CKV_K8S_9=", "CKV_K8S_35="] {
            assert!(
                skips.iter().any(|s| s.starts_with(check)),
                "{check}: {skips:?}"
            );
        }
        let hpa = json(find(&objects, "HorizontalPodAutoscaler", &name).expect("hpa"));
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], name.as_str());
        assert_eq!(hpa["spec"]["maxReplicas"], 4);
        assert_eq!(
            hpa["spec"]["metrics"].as_array().map(Vec::len),
            Some(1),
            "CPU only"
        );
        let pdb = json(find(&objects, "PodDisruptionBudget", &name).expect("pdb"));
        assert_eq!(pdb["spec"]["selector"]["matchLabels"], labels);
    }
    assert!(
        !objects.iter().any(|o| o.gvk().group == "keda.sh"),
        "KEDA is off"
    );
}

#[test]
fn keda_scales_each_kind_on_its_stream_with_the_secrets_password() {
    let objects = built(
        "[kubernetes.agents]\nmin = 2\n[kubernetes.autoscaling.keda]\njobs_per_replica = 3\npolling_interval = \"15s\"\n",
    );
    for kind in scf_runtime::queue::STREAMS {
        let name = format!("framework-agent-{kind}");
        assert!(
            find(&objects, "HorizontalPodAutoscaler", &name).is_none(),
            "KEDA makes it"
        );
        let scaled = find(&objects, "ScaledObject", &name).expect("ScaledObject");
        assert_eq!(
            scaled.address(),
            format!("k8s:keda.sh/v1alpha1/ScaledObject/ai-supply-chain/{name}")
        );
        let labels = scaled.metadata().labels.clone().unwrap_or_default();
        assert!(
            !labels.contains_key(MANAGED_BY_LABEL) && labels.contains_key(INSTANCE_LABEL),
            "KEDA copies these onto its HPA, which apply must not prune: {labels:?}"
        );
        let spec = json(scaled)["spec"].clone();
        assert_eq!(spec["scaleTargetRef"]["name"], name.as_str());
        assert_eq!(
            (
                spec["minReplicaCount"].clone(),
                spec["maxReplicaCount"].clone()
            ),
            (2.into(), 10.into())
        );
        assert_eq!(spec["pollingInterval"], 15);
        let trigger = &spec["triggers"][0];
        assert_eq!(trigger["type"], "redis-streams");
        assert_eq!(trigger["authenticationRef"]["name"], "framework-redis");
        assert_eq!(
            trigger["metadata"],
            serde_json::json!({
                "address": "redis.ai-supply-chain.svc:6379",
                "databaseIndex": "0",
                "stream": format!("scf:ai_supply_chain:q:{kind}"),
                "streamLength": "3",
            })
        );
        let dynamic = scaled.to_dynamic().expect("dynamic");
        assert_eq!(
            dynamic.types.map(|t| t.kind).as_deref(),
            Some("ScaledObject")
        );
    }
    let auth = json(find(&objects, "TriggerAuthentication", "framework-redis").expect("auth"));
    assert_eq!(
        auth["spec"],
        serde_json::json!({"secretTargetRef": [
            {"parameter": "password", "name": "framework-secret", "key": "REDIS_PASSWORD"}
        ]})
    );
    let redis = json(find(&objects, "NetworkPolicy", "redis").expect("policy"));
    let from = redis["spec"]["ingress"][0]["from"].to_string();
    assert!(
        from.contains(r#"{"kubernetes.io/metadata.name":"keda"}"#),
        "{from}"
    );
    let postgres = json(find(&objects, "NetworkPolicy", "postgres").expect("policy"));
    assert!(
        !postgres["spec"]["ingress"][0]["from"]
            .to_string()
            .contains("keda")
    );

    let external = built(
        "[redis]\nmanaged = false\nhost = \"cache.internal.example.com\"\n[kubernetes.autoscaling.keda]\n",
    );
    let scaled = json(find(&external, "ScaledObject", "framework-agent-inventory").expect("so"));
    assert_eq!(
        scaled["spec"]["triggers"][0]["metadata"]["address"],
        "cache.internal.example.com:6379"
    );
}

#[test]
fn nothing_reaches_the_workers_and_they_reach_the_datastores() {
    let objects = built("");
    let policy = json(find(&objects, "NetworkPolicy", "framework-agent").expect("policy"));
    let spec = &policy["spec"];
    assert_eq!(
        spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "framework-agent"
    );
    assert!(
        spec["podSelector"]["matchLabels"]
            .get("app.kubernetes.io/component")
            .is_none()
    );
    assert_eq!(
        spec["ingress"],
        serde_json::json!([]),
        "no ingress rule: nothing may reach them"
    );
    let egress = spec["egress"].to_string();
    for store in ["postgres", "redis"] {
        assert!(
            egress.contains(&format!(r#""app.kubernetes.io/name":"{store}""#)),
            "{egress}"
        );
        let inbound = json(find(&objects, "NetworkPolicy", store).expect("policy"));
        let from = inbound["spec"]["ingress"][0]["from"].to_string();
        assert!(
            from.contains(r#""app.kubernetes.io/name":"framework-agent""#),
            "{from}"
        );
    }
    // The API's policy, which the ingress controller may pass, does not select them.
    let api = json(find(&objects, "NetworkPolicy", "framework").expect("policy"));
    assert_eq!(
        api["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "framework"
    );
}

#[test]
fn uploads_are_one_read_write_many_claim_every_serving_pod_mounts() {
    let objects = built("[kubernetes.uploads]\nstorage = \"200Gi\"\nstorage_class = \"nfs\"\n");
    let claim = json(find(&objects, "PersistentVolumeClaim", "framework-uploads").expect("claim"));
    assert_eq!(
        claim["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
    assert_eq!(claim["spec"]["storageClassName"], "nfs");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "200Gi");
    let data_dir = match find(&objects, "ConfigMap", "framework-config") {
        Some(Object::ConfigMap(c)) => c.data.clone().unwrap_or_default()["DATA_DIR"].clone(),
        _ => panic!("no ConfigMap"),
    };
    for name in [
        "framework",
        "framework-agent-forecasting",
        "framework-agent-inventory",
    ] {
        let d = find(&objects, "Deployment", name).expect(name);
        let pod = json(d)["spec"]["template"]["spec"].clone();
        let volumes = pod["volumes"].to_string();
        assert!(
            volumes.contains(
                r#"{"name":"data","persistentVolumeClaim":{"claimName":"framework-uploads"}}"#
            ),
            "{name}: {volumes}"
        );
        let mounts = pod["containers"][0]["volumeMounts"].to_string();
        assert!(
            mounts.contains(&format!(r#"{{"mountPath":"{data_dir}","name":"data"}}"#)),
            "{name}: {mounts}"
        );
    }
    let job = json(find(&objects, "Job", "framework-migrate").expect("job"));
    assert!(
        !job.to_string().contains("framework-uploads"),
        "the Job keeps a scratch DATA_DIR"
    );
    let defaults = built("");
    let claim = json(find(&defaults, "PersistentVolumeClaim", "framework-uploads").expect("claim"));
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert!(
        claim["spec"].get("storageClassName").is_none(),
        "the cluster default"
    );
}

#[test]
fn agents_bounds_and_resources_are_checked_like_the_apis() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml");
    let file = dir.path().join("framework.toml");
    let text = format!(
        "[project]\nname = \"ai-supply-chain\"\nextends = \"{}\"\n[kubernetes.agents]\nmin = 5\nmax = 2\nresources = {{ requests = {{ cpu = \"4\", memory = \"1Gi\" }}, limits = {{ cpu = \"2\", memory = \"2Gi\" }} }}\n",
        example.display()
    );
    std::fs::write(&file, text).expect("write framework.toml");
    let Err(invalid) = crate::compile::load(&file) else {
        panic!("accepted agents min above max");
    };
    let text = format!("{:?}", invalid.diags);
    assert!(text.contains("agents min (5) is above max (2)"), "{text}");
    assert!(
        text.contains("lower kubernetes.agents.resources.requests.cpu"),
        "{text}"
    );
}
