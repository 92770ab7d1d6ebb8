//! Checks a merged document against the JSON Schema generated from [`crate::config`],
//! reporting every structural error at once: unknown keys (with "did you mean"), wrong
//! types, values out of range, missing keys, unknown enum values, and malformed typed
//! values (through [`crate::config::values::check_format`]).

use super::doc::{Node, Value};
use crate::config::values::{SecretRef, StringValue, check_format};
use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use serde_json::{Map, Value as Json};

/// Walks a document against a schema, collecting diagnostics.
pub struct Checker<'s> {
    root: &'s Json,
    diags: Diagnostics,
}

impl<'s> Checker<'s> {
    /// A checker for the schema `root` (with its `$defs`).
    pub fn new(root: &'s Json) -> Self {
        Self {
            root,
            diags: Diagnostics::default(),
        }
    }

    /// Checks the whole document and returns the findings.
    pub fn check_document(mut self, doc: &Node) -> Diagnostics {
        self.check(doc, self.root, "");
        self.diags
    }

    fn resolve(&self, mut schema: &'s Json) -> &'s Json {
        while let Some(r) = schema.get("$ref").and_then(Json::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn check(&mut self, node: &Node, schema: &'s Json, path: &str) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Json::as_array)
        {
            return self.check_alternatives(node, alternatives, schema, path);
        }
        if let Some(values) = schema.get("enum").and_then(Json::as_array) {
            let allowed: Vec<&str> = values.iter().filter_map(Json::as_str).collect();
            return self.check_enum(node, &allowed, schema, path);
        }
        if !self.check_type(node, schema, path) {
            return;
        }
        match &node.value {
            Value::Table(_) => self.check_table(node, schema, path),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &format!("{path}.{i}"));
                    }
                }
            }
            Value::String(s) => self.check_string(node, s, schema, path),
            Value::Integer(i) => self.check_range(node, *i, schema, path),
            _ => {}
        }
    }

    /// `anyOf`/`oneOf`: an enum of consts, an `Option<T>`, or an untagged union.
    fn check_alternatives(
        &mut self,
        node: &Node,
        alternatives: &'s [Json],
        schema: &'s Json,
        path: &str,
    ) {
        let real: Vec<&Json> = alternatives
            .iter()
            .filter(|a| a.get("type").and_then(Json::as_str) != Some("null"))
            .collect();
        let consts: Vec<&str> = real
            .iter()
            .filter_map(|a| a.get("const").and_then(Json::as_str))
            .collect();
        if !consts.is_empty() && consts.len() == real.len() {
            return self.check_enum(node, &consts, schema, path);
        }
        if let [only] = real.as_slice() {
            return self.check(node, only, path);
        }
        let passes = real.iter().any(|alt| {
            let mut probe = Checker::new(self.root);
            probe.check(node, alt, path);
            !probe.diags.has_errors()
        });
        if !passes {
            self.diags.push(
                Diagnostic::error(
                    "scf::type",
                    format!(
                        "`{}` has the wrong type: {}",
                        display(path),
                        node.value.type_name()
                    ),
                    Some(node.span),
                )
                .label("not accepted here")
                .help(describe(schema)),
            );
        }
    }

    fn check_enum(&mut self, node: &Node, allowed: &[&str], schema: &Json, path: &str) {
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match &node.value {
            Value::String(s) if allowed.contains(&s.as_str()) => {}
            Value::String(s) => {
                let mut d = Diagnostic::error(
                    "scf::unknown-value",
                    format!("`{s}` is not a valid `{}`", display(path)),
                    Some(node.span),
                );
                d = match did_you_mean(s, allowed.iter().copied()) {
                    Some(near) => d.label(format!("did you mean `{near}`?")),
                    None => d.label("unknown value"),
                };
                self.diags.push(d.help(format!("use one of {list}")));
            }
            other => self.diags.push(
                Diagnostic::error(
                    "scf::type",
                    format!(
                        "`{}` must be a string, found {}",
                        display(path),
                        other.type_name()
                    ),
                    Some(node.span),
                )
                .help(format!("{}; one of {list}", describe(schema))),
            ),
        }
    }

    /// Returns whether the node's type is one the schema accepts.
    fn check_type(&mut self, node: &Node, schema: &Json, path: &str) -> bool {
        let accepted: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return true,
        };
        let actual = match &node.value {
            Value::String(_) => "string",
            Value::Integer(_) => "integer",
            Value::Float(_) => "number",
            Value::Boolean(_) => "boolean",
            Value::Datetime(_) => "datetime",
            Value::Array(_) => "array",
            Value::Table(_) => "object",
        };
        let ok =
            accepted.contains(&actual) || (actual == "integer" && accepted.contains(&"number"));
        if !ok {
            let want = accepted
                .iter()
                .filter(|t| **t != "null")
                .map(|t| json_type_name(t))
                .collect::<Vec<_>>()
                .join(" or ");
            self.diags.push(
                Diagnostic::error(
                    "scf::type",
                    format!(
                        "`{}` must be {want}, found {}",
                        display(path),
                        node.value.type_name()
                    ),
                    Some(node.span),
                )
                .label(format!("expected {want}"))
                .help(describe(schema)),
            );
        }
        ok
    }

    fn check_table(&mut self, node: &Node, schema: &'s Json, path: &str) {
        let Value::Table(entries) = &node.value else {
            return;
        };
        static EMPTY: std::sync::LazyLock<Map<String, Json>> = std::sync::LazyLock::new(Map::new);
        let properties: &'s Map<String, Json> =
            match schema.get("properties").and_then(Json::as_object) {
                Some(p) => p,
                None => &EMPTY,
            };
        let additional = schema.get("additionalProperties");
        for (key, child) in entries {
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if let Some(prop) = properties.get(key) {
                self.check(child, prop, &child_path);
            } else if let Some(extra @ Json::Object(_)) = additional {
                if let Some(names) = schema.get("propertyNames") {
                    let key_node = Node {
                        value: Value::String(key.clone()),
                        span: child.key_span.unwrap_or(child.span),
                        key_span: None,
                    };
                    self.check(&key_node, names, &child_path);
                }
                self.check(child, extra, &child_path);
            } else if additional == Some(&Json::Bool(false)) {
                self.unknown_key(key, child, properties, path);
            }
        }
        let missing: Vec<&str> = schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .filter(|key| !entries.contains_key(*key))
            .collect();
        self.missing(node, &missing, properties, path);
    }

    /// One finding per table for the keys neither the file nor its profile sets.
    fn missing(
        &mut self,
        node: &Node,
        missing: &[&str],
        properties: &Map<String, Json>,
        path: &str,
    ) {
        let name = |key: &str| {
            if path.is_empty() {
                format!("[{key}]")
            } else {
                format!("`{key}`")
            }
        };
        let place = if path.is_empty() {
            String::new()
        } else {
            format!(" in [{}]", display(path))
        };
        let at = Some(node.key_span.unwrap_or(node.span));
        let label = "neither framework.toml nor its profile sets it";
        match missing {
            [] => {}
            [key] => {
                let what = properties.get(*key).map(describe).unwrap_or_default();
                self.diags.push(
                    Diagnostic::error("scf::missing", format!("missing {}{place}", name(key)), at)
                        .label(label)
                        .help(format!("add it: {what}")),
                );
            }
            keys => {
                let list = keys.iter().map(|k| name(k)).collect::<Vec<_>>().join(", ");
                self.diags.push(
                    Diagnostic::error("scf::missing", format!("missing {list}{place}"), at)
                        .label(label)
                        .help("extend a profile that sets them, such as `extends = \"single-tenant\"` under [project], or add them; `scf init` writes a starter file"),
                );
            }
        }
    }

    fn unknown_key(&mut self, key: &str, child: &Node, properties: &Map<String, Json>, path: &str) {
        let place = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in [{}]", display(path))
        };
        let mut d = Diagnostic::error(
            "scf::unknown-key",
            format!("unknown key `{key}` {place}"),
            Some(child.key_span.unwrap_or(child.span)),
        );
        let known = properties.keys().map(String::as_str);
        d = match did_you_mean(key, known) {
            Some(near) => d
                .label(format!("did you mean `{near}`?"))
                .help(format!("rename `{key}` to `{near}`")),
            None => {
                let list = properties
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                d.label("unknown key")
                    .help(format!("remove it; the keys {place} are {list}"))
            }
        };
        self.diags.push(d);
    }

    fn check_string(&mut self, node: &Node, s: &str, schema: &Json, path: &str) {
        let Some(format) = schema.get("format").and_then(Json::as_str) else {
            return;
        };
        if let Some(Err(e)) = check_format(format, s) {
            let mut d = Diagnostic::error(
                "scf::invalid-value",
                format!("invalid `{}`: {}", display(path), e.message),
                Some(node.span),
            )
            .help(e.help);
            if format == SecretRef::FORMAT {
                d = Diagnostic {
                    code: "scf::literal-secret",
                    ..d
                }
                .redacted()
                .label("secret value hidden");
            }
            self.diags.push(d);
        }
    }

    fn check_range(&mut self, node: &Node, value: i64, schema: &Json, path: &str) {
        let (type_min, type_max) = format_bounds(schema);
        let bound = |key: &str, typed: Option<f64>, pick: fn(f64, f64) -> f64| match (
            schema.get(key).and_then(Json::as_f64),
            typed,
        ) {
            (Some(a), Some(b)) => Some(pick(a, b)),
            (a, b) => a.or(b),
        };
        let min = bound("minimum", type_min, f64::max);
        let max = bound("maximum", type_max, f64::min);
        let v = value as f64;
        let range = match (min, max) {
            (Some(a), Some(b)) if v < a || v > b => format!("from {a} to {b}"),
            (Some(a), None) if v < a => format!("at least {a}"),
            (None, Some(b)) if v > b => format!("at most {b}"),
            _ => return,
        };
        self.diags.push(
            Diagnostic::error(
                "scf::out-of-range",
                format!("`{}` is {value}, out of range", display(path)),
                Some(node.span),
            )
            .label(format!("must be {range}"))
            .help(describe(schema)),
        );
    }
}

/// The range of the Rust integer type behind a schema's `format` (`uint32`, …): a value
/// outside it is out of range, not a type the deserialiser chokes on later.
fn format_bounds(schema: &Json) -> (Option<f64>, Option<f64>) {
    let format = schema.get("format").and_then(Json::as_str).unwrap_or("");
    let bits = |prefix: &str| format.strip_prefix(prefix)?.parse::<i32>().ok();
    if let Some(b) = bits("uint") {
        (Some(0.0), Some(2f64.powi(b) - 1.0))
    } else if let Some(b) = bits("int") {
        (Some(-(2f64.powi(b - 1))), Some(2f64.powi(b - 1) - 1.0))
    } else {
        (None, None)
    }
}

/// `tenants.0.plan` → `tenants[0].plan`.
fn display(path: &str) -> String {
    let mut out = String::new();
    for seg in path.split('.') {
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

fn json_type_name(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "array" => "an array",
        "object" => "a table",
        _ => "a value",
    }
}

fn describe(schema: &Json) -> String {
    schema
        .get("description")
        .and_then(Json::as_str)
        .unwrap_or("see `scf schema`")
        .to_string()
}
