//! Pod and container hardening shared by every workload, meeting Pod Security
//! `restricted` and the checkov policies: a fixed high UID, no root, no privilege
//! escalation, every capability dropped, the runtime's default seccomp profile, a
//! read-only root filesystem with emptyDirs where the process writes, and no
//! service-account token. Also resources, probes and checkov skip annotations.

use crate::config::Resources;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction, HTTPGetAction,
    KeyToPath, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, Probe,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// UID and GID of the framework image's user (the container target builds it so).
pub(super) const FRAMEWORK_UID: i64 = 10001;
/// UID and GID the PostgreSQL server runs as.
pub(super) const POSTGRES_UID: i64 = 10002;
/// UID and GID the Redis server runs as.
pub(super) const REDIS_UID: i64 = 10003;

/// A checkov check this object does not pass, and why that is right here.
pub(super) struct Skip {
    /// The check, e.g. `CKV_K8S_35`.
    pub check: &'static str,
    /// Why it is skipped; written into the annotation.
    pub reason: &'static str,
}

/// checkov's skip annotations: `checkov.io/skip1: CKV_K8S_35=reason`, numbered from 1.
pub(super) fn skip_annotations(skips: &[Skip]) -> BTreeMap<String, String> {
    skips
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                format!("checkov.io/skip{}", i + 1),
                format!("{}={}", s.check, s.reason),
            )
        })
        .collect()
}

/// The pod-level security context for processes running as `uid`.
pub(super) fn pod_security(uid: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(runtime_default()),
        ..PodSecurityContext::default()
    }
}

/// The container-level security context: restricted, with a read-only root filesystem.
pub(super) fn container_security(uid: i64) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

/// A pod spec with the hardening every workload shares: no service-account token, no
/// service links in the environment, and the security context for `uid`.
pub(super) fn hardened_pod(uid: i64, containers: Vec<Container>, volumes: Vec<Volume>) -> PodSpec {
    PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(pod_security(uid)),
        containers,
        volumes: (!volumes.is_empty()).then_some(volumes),
        ..PodSpec::default()
    }
}

/// A container with the hardening every workload shares; callers fill in the rest.
pub(super) fn hardened_container(name: &str, image: String, uid: i64) -> Container {
    Container {
        name: name.to_string(),
        image: Some(image),
        // A tag can move; pulling every time means a node never runs a stale copy.
        image_pull_policy: Some("Always".into()),
        security_context: Some(container_security(uid)),
        ..Container::default()
    }
}

/// An emptyDir scratch volume on the node's disk, capped at `size_limit`.
pub(super) fn scratch_volume(name: &str, size_limit: &str) -> Volume {
    empty_dir(name, None, size_limit)
}

/// A volume `name` on the claim `claim`.
pub(super) fn claim_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.into(),
            read_only: None,
        }),
        ..Volume::default()
    }
}

/// A memory-backed emptyDir, capped at `size_limit` (counted against the memory limit).
pub(super) fn memory_volume(name: &str, size_limit: &str) -> Volume {
    empty_dir(name, Some("Memory"), size_limit)
}

fn empty_dir(name: &str, medium: Option<&str>, size_limit: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: medium.map(str::to_string),
            size_limit: Some(Quantity(size_limit.to_string())),
        }),
        ..Volume::default()
    }
}

/// A volume holding key `key` of Secret `secret` as the file `key`, readable by the
/// pod's group only.
pub(super) fn secret_volume(name: &str, secret: &str, keys: &[&str]) -> Volume {
    Volume {
        name: name.to_string(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.to_string()),
            items: Some(
                keys.iter()
                    .map(|key| KeyToPath {
                        key: key.to_string(),
                        path: key.to_string(),
                        mode: None,
                    })
                    .collect(),
            ),
            default_mode: Some(0o440),
            optional: Some(false),
        }),
        ..Volume::default()
    }
}

/// A read-only mount of volume `name` at `path`.
pub(super) fn read_only_mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        read_only: Some(true),
        ..mount(name, path)
    }
}

/// A writable mount of volume `name` at `path`.
pub(super) fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        ..VolumeMount::default()
    }
}

/// Container resources from the config.
pub(super) fn resources(r: &Resources) -> ResourceRequirements {
    let set = |cpu: &dyn ToString, memory: &dyn ToString| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.to_string())),
            ("memory".to_string(), Quantity(memory.to_string())),
        ])
    };
    ResourceRequirements {
        requests: Some(set(&r.requests.cpu, &r.requests.memory)),
        limits: Some(set(&r.limits.cpu, &r.limits.memory)),
        ..ResourceRequirements::default()
    }
}

/// When a probe starts and how often it runs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `initialDelaySeconds`.
    pub initial_delay: i32,
    /// `periodSeconds`.
    pub period: i32,
}

/// The guide's liveness timing: after 30 s, every 10 s.
pub const LIVENESS: Timing = Timing {
    initial_delay: 30,
    period: 10,
};
/// The guide's readiness timing: after 5 s, every 5 s.
pub const READINESS: Timing = Timing {
    initial_delay: 5,
    period: 5,
};
/// Above the runtime's own 3 s budget for `/ready`, so a slow dependency reads as
/// "not ready" from the runtime rather than as a probe timeout.
const PROBE_TIMEOUT: i32 = 5;

/// An HTTP GET probe of `path` on the named port.
pub(super) fn http_probe(path: &str, port: &str, t: Timing) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String(port.to_string()),
            ..HTTPGetAction::default()
        }),
        ..timed(t)
    }
}

/// A probe that runs `command` in the container.
pub(super) fn exec_probe(command: &[String], t: Timing) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.to_vec()),
        }),
        ..timed(t)
    }
}

/// A probe that opens a TCP connection to the named port.
pub(super) fn tcp_probe(port: &str, t: Timing) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.to_string()),
            host: None,
        }),
        ..timed(t)
    }
}

fn timed(t: Timing) -> Probe {
    Probe {
        initial_delay_seconds: Some(t.initial_delay),
        period_seconds: Some(t.period),
        timeout_seconds: Some(PROBE_TIMEOUT),
        ..Probe::default()
    }
}

/// `name` from key `key` of the Secret `secret`.
pub(super) fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// A plain `name=value` variable.
pub(super) fn plain_env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}
