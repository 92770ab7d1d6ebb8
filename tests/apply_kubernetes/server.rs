//! The mock API server: an in-memory store of objects by path behind a
//! `tower_test::mock` handle, with server-side apply simplified (the body's fields replace
//! the live ones; fields it does not name are kept, as if another manager owned them), the
//! controllers' status for workloads, and assertions on every request.

use crate::mock::{NEW_IMAGE, NS};
use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One request the mock API server answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Option<Value>,
}

impl Seen {
    pub fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|v| v == "All")
    }
    /// A request that changes something.
    pub fn writes(&self) -> bool {
        self.method != "GET" && !self.dry_run()
    }
}

/// What a request addresses.
enum Target {
    Object(String),
    Collection(String),
    Log(String),
    /// The API server's proxy to a Service: what follows `/proxy`.
    Proxy(String),
}

fn classify(path: &str) -> Target {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let skip = if segs.first() == Some(&"api") { 2 } else { 3 };
    match &segs[skip.min(segs.len())..] {
        ["namespaces", _, "pods", pod, "log"] => Target::Log(pod.to_string()),
        ["namespaces", _, "services", _, "proxy", rest @ ..] => {
            Target::Proxy(format!("/{}", rest.join("/")))
        }
        ["namespaces"] | ["namespaces", _, _] | [_] => Target::Collection(path.into()),
        _ => Target::Object(path.into()),
    }
}

/// The in-memory API server: objects by path, every request seen, and the failures a
/// scenario asks for.
#[derive(Default)]
pub struct Server {
    pub objects: BTreeMap<String, Value>,
    pub version: u64,
    pub seen: Vec<Seen>,
    /// Paths whose apply by `scf` without force conflicts with (manager, field).
    pub conflicts: BTreeMap<String, (String, String)>,
    /// Deployments applied with this image never become available.
    pub failing_image: Option<String>,
    /// Deployments applied with this image (first) wait while a pod just created is
    /// stuck with the waiting reason (second), and no condition says so.
    pub stuck: Option<(String, String)>,
    /// The migration Job fails: its pod exits 1 and the Job reaches its backoff limit.
    pub failing_job: bool,
    /// The migration Job is still running for this many more reads.
    pub job_polls: u32,
    /// Every renewal of the apply's Lease fails.
    pub lease_renewals_fail: bool,
    pub logs: BTreeMap<String, String>,
    /// Paths the framework Service answers 503 through the proxy (the rest: 200 `ok`).
    pub unready: Vec<String>,
    /// The data keys each (object path, field manager) applied last.
    pub data_owners: BTreeMap<(String, String), std::collections::BTreeSet<String>>,
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()});
    let mut response = Response::new(Body::from(body.to_string().into_bytes()));
    *response.status_mut() = code;
    response
}

fn ok(code: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string().into_bytes()));
    *response.status_mut() = code;
    response
}

fn labels_match(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|pair| {
        let (k, v) = pair.split_once('=').expect("k=v selector");
        object.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(&json!(v))
    })
}

impl Server {
    pub fn next_version(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    fn handle(
        &mut self,
        method: &str,
        path: &str,
        query: BTreeMap<String, String>,
        content_type: &str,
        body: Option<Value>,
    ) -> Response<Body> {
        self.seen.push(Seen {
            method: method.into(),
            path: path.into(),
            query: query.clone(),
            body: body.clone(),
        });
        match (method, classify(path)) {
            ("GET", Target::Object(key)) => match self.objects.get(&key) {
                Some(o) if self.job_polls > 0 && key.ends_with("/jobs/framework-migrate") => {
                    self.job_polls -= 1;
                    let mut running = o.clone();
                    running["status"] = json!({"active": 1});
                    ok(StatusCode::OK, &running)
                }
                Some(o) => ok(StatusCode::OK, o),
                None => status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("{key} not found"),
                ),
            },
            ("GET", Target::Collection(prefix)) => self.list(&prefix, &query),
            ("GET", Target::Proxy(path)) if self.unready.contains(&path) => status(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "no endpoints available for service \"framework:80\"",
            ),
            ("GET", Target::Proxy(_)) => Response::new(Body::from(b"ok\n".to_vec())),
            ("GET", Target::Log(pod)) => {
                assert_eq!(query.get("tailLines").map(String::as_str), Some("20"));
                Response::new(Body::from(
                    self.logs
                        .get(&pod)
                        .cloned()
                        .unwrap_or_default()
                        .into_bytes(),
                ))
            }
            ("POST", Target::Collection(prefix)) => {
                let mut object = body.expect("a body to create");
                let name = object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .expect("a name")
                    .to_string();
                let key = format!("{prefix}/{name}");
                if self.objects.contains_key(&key) {
                    return status(
                        StatusCode::CONFLICT,
                        "AlreadyExists",
                        &format!("{name} already exists"),
                    );
                }
                object["metadata"]["resourceVersion"] = json!(self.next_version());
                self.objects.insert(key, object.clone());
                ok(StatusCode::CREATED, &object)
            }
            ("PUT", Target::Object(key))
                if self.lease_renewals_fail && key.ends_with("/leases/scf-apply") =>
            {
                status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "etcdserver: request timed out",
                )
            }
            ("PUT", Target::Object(key)) => {
                let mut object = body.expect("a body to replace");
                let Some(old) = self.objects.get(&key) else {
                    return status(StatusCode::NOT_FOUND, "NotFound", "not found");
                };
                if old.pointer("/metadata/resourceVersion")
                    != object.pointer("/metadata/resourceVersion")
                {
                    return status(
                        StatusCode::CONFLICT,
                        "Conflict",
                        "the object has been modified",
                    );
                }
                object["metadata"]["resourceVersion"] = json!(self.next_version());
                self.objects.insert(key, object.clone());
                ok(StatusCode::OK, &object)
            }
            ("PATCH", Target::Object(key)) => {
                assert_eq!(
                    content_type, "application/apply-patch+yaml",
                    "only server-side apply"
                );
                self.apply(&key, &query, body.expect("a patch body"))
            }
            ("DELETE", Target::Object(key)) => match self.objects.remove(&key) {
                Some(o) => ok(StatusCode::OK, &o),
                None => status(StatusCode::NOT_FOUND, "NotFound", "not found"),
            },
            (m, _) => panic!("unexpected {m} {path}"),
        }
    }

    fn list(&self, prefix: &str, query: &BTreeMap<String, String>) -> Response<Body> {
        let labels = query.get("labelSelector").cloned().unwrap_or_default();
        let field = query.get("fieldSelector").cloned().unwrap_or_default();
        let involved = field.strip_prefix("involvedObject.name=");
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(&format!("{prefix}/"))
                    .is_some_and(|rest| !rest.contains('/'))
            })
            .map(|(_, o)| o.clone())
            .filter(|o| labels_match(o, &labels))
            .filter(|o| {
                involved.is_none_or(|n| o.pointer("/involvedObject/name") == Some(&json!(n)))
            })
            .collect();
        ok(
            StatusCode::OK,
            &json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": self.version.to_string()}, "items": items}),
        )
    }

    /// Server-side apply, simplified: the body's fields replace the live ones, fields it
    /// does not name are kept (as if another manager owned them).
    fn apply(
        &mut self,
        key: &str,
        query: &BTreeMap<String, String>,
        body: Value,
    ) -> Response<Body> {
        let manager = query.get("fieldManager").map(String::as_str);
        assert!(
            matches!(manager, Some("scf" | "scf-secrets")),
            "field manager of {key}: {manager:?}"
        );
        let dry = match query.get("dryRun").map(String::as_str) {
            None => false,
            Some("All") => true,
            Some(other) => panic!("dryRun={other}"),
        };
        let force = query.get("force").is_some_and(|f| f == "true");
        let name = key.rsplit('/').next().expect("a name");
        assert_eq!(
            body.pointer("/metadata/name"),
            Some(&json!(name)),
            "body names {key}"
        );
        assert!(
            body.get("apiVersion").is_some() && body.get("kind").is_some(),
            "{key}: {body}"
        );
        let kind = body["kind"].as_str().unwrap_or_default().to_string();
        if kind == "Secret" && name != "scf-inventory" {
            // A manifest may carry plain keys (a user name), never a referenced value.
            let refs: BTreeMap<String, String> = body
                .pointer("/metadata/annotations/scf.dev~1secret-refs")
                .and_then(Value::as_str)
                .map(|r| serde_json::from_str(r).expect("refs JSON"))
                .unwrap_or_default();
            let keys: Vec<&String> = ["data", "stringData"]
                .iter()
                .filter_map(|f| body.get(*f).and_then(Value::as_object))
                .flat_map(|m| m.keys())
                .collect();
            if manager == Some("scf-secrets") {
                assert!(!keys.is_empty(), "scf-secrets writes values: {body}");
            } else {
                assert!(
                    keys.iter().all(|k| !refs.contains_key(*k)),
                    "Secret values only through scf-secrets: {body}"
                );
            }
        }
        if manager == Some("scf")
            && !force
            && let Some((owner, field)) = self.conflicts.get(key)
        {
            return status(
                StatusCode::CONFLICT,
                "Conflict",
                &format!(
                    "Apply failed with 1 conflict: conflict with \"{owner}\" using apps/v1: {field}"
                ),
            );
        }
        let old = self.objects.get(key).cloned();
        // The data keys this manager applied before and no longer does: server-side apply
        // removes the fields a manager stops applying.
        let applied: std::collections::BTreeSet<String> = body
            .get("data")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let owner = (key.to_string(), manager.unwrap_or_default().to_string());
        let dropped: Vec<String> = self
            .data_owners
            .get(&owner)
            .map(|before| before.difference(&applied).cloned().collect())
            .unwrap_or_default();
        if !dry {
            self.data_owners.insert(owner, applied);
        }
        let mut new = match &old {
            None => body.clone(),
            Some(old) => {
                let mut merged = old.clone();
                if let Some(data) = merged.get_mut("data").and_then(Value::as_object_mut) {
                    for k in &dropped {
                        data.remove(k);
                    }
                }
                for (k, v) in body.as_object().expect("an object") {
                    // Maps merged by key, as server-side apply merges managers' fields
                    // (a Secret's user name from scf, its password from scf-secrets).
                    if k == "metadata" || (k == "data" && merged[k].is_object()) {
                        for (mk, mv) in v.as_object().expect("a map") {
                            merged[k][mk] = mv.clone();
                        }
                    } else {
                        merged[k] = v.clone();
                    }
                }
                merged
            }
        };
        if kind == "Deployment" && new.pointer("/spec/revisionHistoryLimit").is_none() {
            new["spec"]["revisionHistoryLimit"] = json!(10); // a default, as the server adds
        }
        let generation = old
            .as_ref()
            .and_then(|o| o.pointer("/metadata/generation"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let spec_changed = old.as_ref().map(|o| o.get("spec")) != Some(new.get("spec"));
        new["metadata"]["generation"] = json!(if spec_changed {
            generation + 1
        } else {
            generation
        });
        new["metadata"]["uid"] = old
            .as_ref()
            .and_then(|o| o.pointer("/metadata/uid"))
            .cloned()
            .unwrap_or(json!(format!("uid-{name}")));
        let mut managers: Vec<Value> = old
            .as_ref()
            .and_then(|o| o.pointer("/metadata/managedFields"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        managers.retain(|m| m["manager"] != json!(manager));
        managers.push(json!({"manager": manager, "operation": "Apply", "fieldsV1": {}}));
        new["metadata"]["managedFields"] = json!(managers);
        let changed = old.as_ref() != Some(&new);
        if dry || !changed {
            return ok(StatusCode::OK, &new);
        }
        new["metadata"]["resourceVersion"] = json!(self.next_version());
        self.run_controllers(&kind, name, &mut new);
        self.objects.insert(key.into(), new.clone());
        ok(
            if old.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            },
            &new,
        )
    }

    /// What the controllers would make of a written workload.
    fn run_controllers(&mut self, kind: &str, name: &str, object: &mut Value) {
        let generation = object["metadata"]["generation"].clone();
        let replicas = object
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        match kind {
            "Deployment" => {
                let image = object
                    .pointer("/spec/template/spec/containers/0/image")
                    .cloned();
                let stuck = self.stuck.clone().filter(|(i, _)| image == Some(json!(i)));
                if image.is_some() && image == self.failing_image.clone().map(Value::String) {
                    object["status"] = json!({"observedGeneration": generation, "replicas": replicas + 1,
                        "updatedReplicas": 1, "availableReplicas": replicas, "conditions": [
                        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                         "message": format!("ReplicaSet \"{name}-6c9f\" has timed out progressing.")}]});
                    self.failing_pod(name, object, "x7k2p", "CrashLoopBackOff", None);
                } else if let Some((_, reason)) = stuck {
                    object["status"] = json!({"observedGeneration": generation, "replicas": replicas + 1,
                        "updatedReplicas": 1, "availableReplicas": replicas, "conditions": [
                        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]});
                    // An earlier rollout's pod, stuck too: older than the wait, it is ignored.
                    let old = "2020-01-01T00:00:00Z".to_string();
                    self.failing_pod(name, object, "old00", &reason, Some(old));
                    // The server's timestamps have whole seconds.
                    let now = k8s_openapi::jiff::Timestamp::now().as_second();
                    let now = k8s_openapi::jiff::Timestamp::from_second(now).expect("now");
                    self.failing_pod(name, object, "x7k2p", &reason, Some(now.to_string()));
                } else {
                    object["status"] = json!({"observedGeneration": generation, "replicas": replicas,
                        "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas});
                }
            }
            "StatefulSet" => {
                object["status"] = json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                    "updatedReplicas": replicas, "currentRevision": "r1", "updateRevision": "r1"});
            }
            "Job" if self.failing_job => {
                let selector =
                    json!({"batch.kubernetes.io/controller-uid": object["metadata"]["uid"]});
                object["spec"]["selector"] = json!({"matchLabels": selector});
                object["status"] = json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                    "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]});
                let pod = format!("{name}-q8w4z");
                self.objects.insert(format!("/api/v1/namespaces/{NS}/pods/{pod}"), json!({"apiVersion": "v1",
                    "kind": "Pod", "metadata": {"name": pod, "namespace": NS, "labels": selector},
                    "status": {"phase": "Failed", "containerStatuses": [{"name": "migrate", "ready": false,
                        "restartCount": 0, "image": NEW_IMAGE, "imageID": "",
                        "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]}}));
                self.logs.insert(
                    pod,
                    "scf: migrating\nerror: migration 0007_orders: column \"sku\" already exists\n"
                        .into(),
                );
            }
            "Job" => {
                object["status"] =
                    json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]});
            }
            _ => {}
        }
    }

    /// A pod of the Deployment whose container waits for `reason`, created at `created`
    /// (when given), with its events and logs.
    fn failing_pod(
        &mut self,
        deployment: &str,
        object: &Value,
        suffix: &str,
        reason: &str,
        created: Option<String>,
    ) {
        let pod = format!("{deployment}-6c9f-{suffix}");
        let labels = object
            .pointer("/spec/template/metadata/labels")
            .cloned()
            .unwrap_or(json!({}));
        let base = format!("/api/v1/namespaces/{NS}");
        let mut metadata = json!({"name": pod, "namespace": NS, "labels": labels});
        if let Some(created) = created {
            metadata["creationTimestamp"] = json!(created);
        }
        let crashed = reason == "CrashLoopBackOff";
        let (restarts, message) = if crashed {
            (
                4,
                format!("back-off 1m20s restarting failed container=framework pod={pod}"),
            )
        } else {
            (0, format!("Back-off pulling image \"{NEW_IMAGE}\""))
        };
        self.objects.insert(format!("{base}/pods/{pod}"), json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": metadata,
            "status": {"phase": "Running", "containerStatuses": [{"name": "framework", "ready": false, "restartCount": restarts,
                "image": NEW_IMAGE, "imageID": "", "state": {"waiting": {"reason": reason,
                "message": message}}}]}}));
        for (i, (name, reason, message)) in [
            (
                deployment.to_string(),
                "ScalingReplicaSet",
                format!("Scaled up replica set {deployment}-6c9f to 1"),
            ),
            (
                pod.clone(),
                "Pulled",
                format!("Successfully pulled image \"{NEW_IMAGE}\""),
            ),
            (
                pod.clone(),
                "BackOff",
                "Back-off restarting failed container framework".to_string(),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            self.objects.insert(
                format!("{base}/events/e{i}"),
                json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": format!("e{i}"), "namespace": NS},
                "involvedObject": {"name": name}, "reason": reason, "message": message,
                "type": if reason == "BackOff" { "Warning" } else { "Normal" },
                "lastTimestamp": format!("2026-01-01T00:00:0{i}Z")}),
            );
        }
        if crashed {
            self.logs.insert(
                pod,
                "scf: starting the server\nerror: DATABASE_URL: connection refused (postgres:5432)\n"
                    .into(),
            );
        }
    }
}

pub async fn serve(
    server: Arc<Mutex<Server>>,
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
) {
    while let Some((request, send)) = handle.next_request().await {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("a request body");
        let body =
            (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).expect("a JSON body"));
        let query: BTreeMap<String, String> = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), percent_decode(v)))
            .collect();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let response = server.lock().expect("server").handle(
            parts.method.as_str(),
            parts.uri.path(),
            query,
            &content_type,
            body,
        );
        send.send_response(response);
    }
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).expect("percent escape"));
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8 query")
}
