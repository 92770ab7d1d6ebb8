//! The OpenAPI document against real traffic: every path parameter is in its path (query
//! parameters are declared in the query), and the bodies a real run sends and receives (a
//! JSON upload, the implementation, its JSON results) validate against the schemas the
//! document gives them. Validation is `jsonschema_rs` (Draft 2020-12, which OpenAPI 3.1
//! schemas are), the validator schemathesis itself uses, from its venv.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Options, spawn_app};
use crate::implementations::{demand_csv, finished};
use crate::schemathesis::schemathesis;

/// Validates each `(JSON pointer into the document, instance)`; prints each error.
const VALIDATE: &str = r##"
import json, sys
from jsonschema_rs import Draft202012Validator
doc = json.load(open(sys.argv[1]))
problems = []
for pointer, instance in json.load(open(sys.argv[2])):
    schema = dict(doc, **{"$ref": "#" + pointer})
    for e in list(Draft202012Validator(schema).iter_errors(instance))[:3]:
        problems.append(f"{pointer}: {e.message[:300]} (at {list(e.instance_path)})")
print("\n".join(problems))
sys.exit(1 if problems else 0)
"##;

/// A JSON pointer to `segments`, each escaped (`~`, `/`, and braces for the URI fragment).
fn pointer(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| {
            let escaped = s
                .replace('~', "~0")
                .replace('/', "~1")
                .replace('{', "%7B")
                .replace('}', "%7D");
            format!("/{escaped}")
        })
        .collect()
}

fn validate(python: &Path, doc: &Value, cases: &[(String, Value)]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (doc_file, cases_file) = (dir.path().join("doc.json"), dir.path().join("cases.json"));
    std::fs::write(&doc_file, doc.to_string()).expect("doc");
    std::fs::write(&cases_file, json!(cases).to_string()).expect("cases");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(VALIDATE)
        .arg(&doc_file)
        .arg(&cases_file)
        .output()
        .expect("python runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Every `in: path` parameter names a `{segment}` of its path.
fn misplaced_parameters(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                if p["in"] == "path" && !path.contains(&format!("{{{name}}}")) {
                    found.push(format!("{method} {path}: `{name}` is not in the path"));
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_describes_real_requests_and_responses() {
    let python = schemathesis().with_file_name("python");
    let app = spawn_app(Options::new(Backend::Sqlite).agents(1)).await;
    let t = app.tenant("acme", "small").await;
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(misplaced_parameters(&doc), Vec::<String>::new());
    let upload = pointer(&["paths", "/v1/implementations", "post"]);
    let query: Vec<&str> = doc["paths"]["/v1/implementations"]["post"]["parameters"]
        .as_array()
        .expect("upload parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        query.contains(&"name") && query.contains(&"format"),
        "{query:?}"
    );

    let records: Vec<Value> = demand_csv(3)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            json!({"sku": f[0], "period": f[1], "quantity": f[2].parse::<f64>().expect("qty")})
        })
        .collect();
    let body = json!({"demand": records, "parameters": [{"sku": "SKU-000", "lead_time_mean": 2}]});
    let (status, created) = app
        .upload(
            "/v1/implementations?name=json",
            &t.token,
            "application/json",
            body.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let done = finished(&app, &t.token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let (status, results) = app
        .call(
            Method::GET,
            &format!("/v1/implementations/{id}/results?format=json"),
            Some(&t.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results}");

    let request = |path: &str| format!("{path}/requestBody/content/application~1json/schema");
    let response = |path: &str, status: &str| {
        format!("{path}/responses/{status}/content/application~1json/schema")
    };
    let one = pointer(&["paths", "/v1/implementations/{implementation_id}", "get"]);
    let results_op = pointer(&[
        "paths",
        "/v1/implementations/{implementation_id}/results",
        "get",
    ]);
    let cases = vec![
        (request(&upload), body),
        (request(&upload), Value::Array(records)),
        (response(&upload, "201"), created),
        (response(&one, "200"), done),
        (response(&results_op, "200"), results),
    ];
    if let Err(problems) = validate(&python, &doc, &cases) {
        panic!("real traffic does not match /openapi.json:\n{problems}");
    }
    let bad_quantity = json!([{"sku": "A", "period": 1, "quantity": 1e308}]);
    assert!(
        validate(&python, &doc, &[(request(&upload), bad_quantity)]).is_err(),
        "the document's upload schema bounds quantities as the server does"
    );
}
