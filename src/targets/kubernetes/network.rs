//! Traffic: the guide's Ingress (TLS from cert-manager, its nginx annotations) and the
//! NetworkPolicies. Everything in the namespace is denied by default, both ways; then the
//! framework may be reached only from the ingress controller's namespace (and from
//! Prometheus's, to the metrics port), may reach DNS, PostgreSQL and Redis; the agents'
//! workers may be reached by nothing and reach the same; PostgreSQL and Redis may be
//! reached only from the framework's pods (runtime, migration and tenants Jobs, workers,
//! backups), Redis also from KEDA's operator when it scales the workers, CloudNativePG's
//! instances also from each other and from their operator, and the exporter sidecars
//! only from Prometheus's namespace; with `[backup] s3`, the backup pods may also reach
//! HTTPS anywhere (a policy cannot name a bucket's host).

use super::cnpg;
use super::exporter;
use super::meta::{AGENT, App, Ctx, FRAMEWORK, METRICS_PORT, SERVICE_PORT, port};

use crate::config::values::DomainName;
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
    ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Secret cert-manager writes the Ingress certificate into.
const TLS_SECRET: &str = "framework-tls";

/// The guide's Ingress: the public domain to the framework Service, over TLS.
pub(super) fn ingress(c: Ctx) -> Ingress {
    let m = c.m;
    let issuer = m.tls.as_ref().and_then(|t| t.cluster_issuer.as_ref());
    let timeout = m.server.request_timeout.as_secs().to_string();
    let mut annotations = BTreeMap::from([
        (
            "nginx.ingress.kubernetes.io/proxy-body-size".to_string(),
            format!("{}m", m.server.max_upload_mb),
        ),
        (
            "nginx.ingress.kubernetes.io/proxy-read-timeout".to_string(),
            timeout.clone(),
        ),
        (
            "nginx.ingress.kubernetes.io/proxy-send-timeout".to_string(),
            timeout,
        ),
    ]);
    if let Some(issuer) = issuer {
        annotations.insert("cert-manager.io/cluster-issuer".into(), issuer.to_string());
        annotations.insert(
            "nginx.ingress.kubernetes.io/ssl-redirect".into(),
            "true".into(),
        );
    }
    let host = m.server.domain.to_string();
    let mut metadata = c.metadata(FRAMEWORK, App::Server);
    metadata.annotations = Some(annotations);
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(c.k.ingress_class.to_string()),
            tls: issuer.map(|_| {
                vec![IngressTLS {
                    hosts: Some(vec![host.clone()]),
                    secret_name: Some(TLS_SECRET.into()),
                }]
            }),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: FRAMEWORK.into(),
                                port: Some(ServiceBackendPort {
                                    name: None,
                                    number: Some(SERVICE_PORT),
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            default_backend: None,
        }),
        ..Ingress::default()
    }
}

/// Every NetworkPolicy: default deny first, then what each app may do.
pub(super) fn policies(c: Ctx) -> Vec<NetworkPolicy> {
    let mut out = vec![
        policy(
            c,
            "default-deny",
            LabelSelector::default(),
            Vec::new(),
            Some(Vec::new()),
        ),
        framework_policy(c),
        workers_policy(c),
    ];
    let datastores = [
        (c.m.database.managed, App::Postgres, c.m.database.port),
        (c.m.redis.managed, App::Redis, c.m.redis.port),
    ];
    if c.m.backup.as_ref().is_some_and(|b| b.s3.is_some()) {
        let https = NetworkPolicyEgressRule {
            to: Some(any_address()),
            ports: Some(vec![tcp(443)]),
        };
        let selector = c.selector(App::Backup);
        out.push(policy(
            c,
            "backup-s3",
            selector,
            Vec::new(),
            Some(vec![https]),
        ));
    }
    let exporters = exporter::exporters(c);
    for (managed, app, port) in datastores {
        if app == App::Postgres && c.m.database.on_cloudnative_pg() {
            out.push(cnpg_policy(c, port.into()));
        } else if managed {
            let mut peers = vec![pods(c, App::Shared), pods(c, App::Agents)];
            if let (App::Redis, Some(keda)) = (app, &c.k.autoscaling.keda) {
                // KEDA's operator reads the queue's length.
                peers.push(namespace(keda.namespace.as_str()));
            }
            let mut from = vec![NetworkPolicyIngressRule {
                from: Some(peers),
                ports: Some(vec![tcp(port.into())]),
            }];
            // Prometheus reaches the exporter sidecar, and only it.
            from.extend(exporters.iter().filter(|e| e.app == app).map(|e| {
                NetworkPolicyIngressRule {
                    from: Some(vec![namespace(c.k.monitoring_namespace.as_str())]),
                    ports: Some(vec![tcp(e.port.into())]),
                }
            }));
            out.push(policy(c, app.name(), c.selector(app), from, None));
        }
    }
    out
}

/// The agents' workers: nothing may reach them; out to DNS and the datastores.
fn workers_policy(c: Ctx) -> NetworkPolicy {
    policy(
        c,
        AGENT,
        c.selector(App::Agents),
        Vec::new(),
        Some(egress(c)),
    )
}

/// CloudNativePG's instances: in from the framework's pods, from each other (streaming
/// replication) and from the operator (PostgreSQL and the status port); out to DNS, to
/// each other, and over HTTPS to the API server and the backups' object store, whose
/// addresses a policy cannot know.
fn cnpg_policy(c: Ctx, pg: i32) -> NetworkPolicy {
    let operator = namespace(cnpg::OPERATOR_NAMESPACE);
    let ingress = vec![
        NetworkPolicyIngressRule {
            from: Some(vec![
                pods(c, App::Shared),
                pods(c, App::Agents),
                pods(c, App::Postgres),
            ]),
            ports: Some(vec![tcp(pg)]),
        },
        NetworkPolicyIngressRule {
            from: Some(vec![operator]),
            ports: Some(vec![tcp(pg), tcp(cnpg::STATUS_PORT)]),
        },
    ];
    let anywhere = ["0.0.0.0/0", "::/0"].map(|cidr| NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except: None,
        }),
        ..NetworkPolicyPeer::default()
    });
    let egress = vec![
        dns_egress(),
        NetworkPolicyEgressRule {
            to: Some(vec![pods(c, App::Postgres)]),
            ports: Some(vec![tcp(pg)]),
        },
        NetworkPolicyEgressRule {
            to: Some(anywhere.to_vec()),
            ports: Some(vec![tcp(443), tcp(6443)]),
        },
    ];
    let app = App::Postgres;
    policy(c, app.name(), c.selector(app), ingress, Some(egress))
}

/// Out to the cluster's DNS.
fn dns_egress() -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![namespace("kube-system")]),
        ports: Some(vec![port_of(53, "UDP"), port_of(53, "TCP")]),
    }
}

/// The framework's pods: in from the ingress controller to the API, and from Prometheus to
/// the metrics port only; out to DNS and the datastores.
fn framework_policy(c: Ctx) -> NetworkPolicy {
    let http = vec![tcp(port(c))];
    let mut ingress = vec![NetworkPolicyIngressRule {
        from: Some(vec![namespace(c.k.ingress_namespace.as_str())]),
        ports: Some(http),
    }];
    if c.m.monitoring.prometheus {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace(c.k.monitoring_namespace.as_str())]),
            ports: Some(vec![tcp(METRICS_PORT)]),
        });
    }
    // Selects the runtime and the migration Job alike.
    policy(
        c,
        FRAMEWORK,
        c.selector(App::Shared),
        ingress,
        Some(egress(c)),
    )
}

/// What the runtime's pods reach: DNS and the datastores.
fn egress(c: Ctx) -> Vec<NetworkPolicyEgressRule> {
    let db = &c.m.database;
    let redis = &c.m.redis;
    vec![
        dns_egress(),
        datastore_egress(c, db.managed, App::Postgres, &db.host, db.port),
        datastore_egress(c, redis.managed, App::Redis, &redis.host, redis.port),
    ]
}

/// Out to a datastore: its pods when scf runs it, else its host (any address when the
/// host is a name, since a policy cannot name a DNS host).
fn datastore_egress(
    c: Ctx,
    managed: bool,
    app: App,
    host: &DomainName,
    port: u16,
) -> NetworkPolicyEgressRule {
    let to = if managed {
        vec![pods(c, app)]
    } else {
        match host.as_str().parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => vec![ip_block(format!("{ip}/32"))],
            Ok(std::net::IpAddr::V6(ip)) => vec![ip_block(format!("{ip}/128"))],
            Err(_) => any_address(),
        }
    };
    NetworkPolicyEgressRule {
        to: Some(to),
        ports: Some(vec![tcp(port.into())]),
    }
}

/// A policy for the pods `selector` picks. `egress: None` leaves egress to default deny.
fn policy(
    c: Ctx,
    name: &str,
    selector: LabelSelector,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Option<Vec<NetworkPolicyEgressRule>>,
) -> NetworkPolicy {
    let mut types = vec!["Ingress".to_string()];
    if egress.is_some() {
        types.push("Egress".into());
    }
    NetworkPolicy {
        metadata: c.metadata(name, App::Shared),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector),
            policy_types: Some(types),
            ingress: Some(ingress),
            egress,
        }),
    }
}

/// Every pod of `app` in this namespace.
fn pods(c: Ctx, app: App) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(c.selector(app)),
        ..NetworkPolicyPeer::default()
    }
}

/// Any address, IPv4 and IPv6.
fn any_address() -> Vec<NetworkPolicyPeer> {
    ["0.0.0.0/0", "::/0"]
        .into_iter()
        .map(|cidr| ip_block(cidr.into()))
        .collect()
}

fn ip_block(cidr: String) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock { cidr, except: None }),
        ..NetworkPolicyPeer::default()
    }
}

/// Every pod in the namespace named `name`.
fn namespace(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                name.to_string(),
            )])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    port_of(port, "TCP")
}

fn port_of(port: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        end_port: None,
    }
}
