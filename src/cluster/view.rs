//! What a plan shows of an object: the object without what the server owns
//! (`managedFields`, `status`, `resourceVersion`, `uid`, `generation`, timestamps and the
//! annotations controllers write), with a Secret's values masked, as YAML, diffed.
//!
//! Defaults need no list: a plan diffs the server's dry-run answer against the live
//! object, and both carry the same defaults.

use crate::plan::mask;
use crate::targets::kubernetes::to_yaml;
use k8s_openapi::ByteString;
use serde_json::{Map, Value};

/// Metadata fields the server sets.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
];
/// Annotations controllers and kubectl write, and scf's Job digest (its diff is the spec).
const SERVER_ANNOTATIONS: &[&str] = &[
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
    super::SPEC_DIGEST_ANNOTATION,
];

/// The object without the fields the server owns.
pub fn normalise(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in SERVER_METADATA {
                meta.remove(*field);
            }
            let empty = meta
                .get_mut("annotations")
                .and_then(Value::as_object_mut)
                .map(|notes| {
                    for a in SERVER_ANNOTATIONS {
                        notes.remove(*a);
                    }
                    notes.is_empty()
                });
            if empty == Some(true) {
                meta.remove("annotations");
            }
        }
    }
    object
}

/// The values of a Secret's `data` (base64) and `stringData`, decoded, by key.
pub fn secret_values(object: &Value) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (field, base64) in [("data", true), ("stringData", false)] {
        let Some(map) = object.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in map {
            let bytes = if base64 {
                serde_json::from_value::<ByteString>(value.clone())
                    .map(|b| b.0)
                    .unwrap_or_default()
            } else {
                value.as_str().unwrap_or_default().as_bytes().to_vec()
            };
            out.push((key.clone(), bytes));
        }
    }
    out
}

/// The Secret with `data` replaced by each value as shown (`(sensitive)` or its
/// fingerprint), and no `stringData`. Other kinds are returned as they are.
pub fn mask_secret(mut object: Value, fingerprint: &dyn Fn(&[u8]) -> Option<String>) -> Value {
    if object.get("kind").and_then(Value::as_str) != Some("Secret") {
        return object;
    }
    let values = secret_values(&object);
    if let Some(map) = object.as_object_mut() {
        map.remove("stringData");
        if values.is_empty() {
            map.remove("data");
        } else {
            let shown: Map<String, Value> = values
                .into_iter()
                .map(|(k, v)| (k, Value::String(mask::shown(fingerprint(&v)))))
                .collect();
            map.insert("data".into(), Value::Object(shown));
        }
    }
    object
}

/// The object as YAML, the way the build writes manifests.
pub fn yaml(object: &Value) -> String {
    to_yaml(object).unwrap_or_else(|e| format!("(cannot show as YAML: {e})\n"))
}

/// A unified diff between two shown objects, headed by the address.
pub fn diff(address: &str, old: Option<&Value>, new: Option<&Value>) -> Option<String> {
    let text = |v: Option<&Value>| v.map(yaml).unwrap_or_default();
    let path = format!("/{}", address.trim_start_matches("k8s:"));
    crate::plan::unified(&path, &text(old), &text(new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_are_dropped_and_secrets_masked() {
        let live = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "uid": "u", "resourceVersion": "7", "managedFields": [],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "data": {"PASSWORD": "aHVudGVyMg=="},
            "status": {}
        });
        let shown = mask_secret(normalise(live), &|_| None);
        assert_eq!(
            shown,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"PASSWORD": "(sensitive)"}})
        );
        let with_fp = mask_secret(shown.clone(), &|v| Some(format!("{}", v.len())));
        assert!(!yaml(&with_fp).contains("hunter2") && !yaml(&with_fp).contains("aHVudGVy"));
    }
}
