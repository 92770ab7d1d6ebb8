//! A parsed TOML document that remembers where every key and value came from, across
//! framework.toml and the profiles it extends. Diagnostics point into it by path.

use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};

/// A TOML value with its location.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value is written.
    pub span: Span,
    /// Where its key is written, for table entries.
    pub key_span: Option<Span>,
}

/// A TOML value whose children are [`Node`]s.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Boolean(bool),
    /// A date-time, kept as written (scf uses none, but a user may write one).
    Datetime(String),
    /// An array.
    Array(Vec<Node>),
    /// A table.
    Table(BTreeMap<String, Node>),
}

impl Value {
    /// The TOML type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl Node {
    /// Parses a file, reporting every syntax error. Returns the best-effort document.
    pub fn parse(text: &str, file: FileId, diags: &mut Diagnostics) -> Node {
        let (table, errors) = DeTable::parse_recoverable(text);
        for e in errors {
            let span = e.span().map(|r| Span {
                file,
                start: r.start,
                end: r.end.max(r.start),
            });
            diags.push(
                Diagnostic::error(
                    "scf::syntax",
                    format!("TOML syntax error: {}", e.message().trim()),
                    span,
                )
                .help("fix the TOML syntax; strings need double quotes, tables are written [name]"),
            );
        }
        let span = table.span();
        Node {
            value: Value::Table(convert_table(table.into_inner(), file)),
            span: Span {
                file,
                start: span.start,
                end: span.start,
            },
            key_span: None,
        }
    }

    /// The child at a dotted path such as `tenants.0.plan`, if present.
    pub fn get(&self, path: &str) -> Option<&Node> {
        path.split('.')
            .filter(|s| !s.is_empty())
            .try_fold(self, |node, seg| match &node.value {
                Value::Table(t) => t.get(seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            })
    }

    /// The best location for a finding about `path`: the value if present, else the
    /// nearest table that is, so a missing key points at its section.
    pub fn locate(&self, path: &str) -> Span {
        let mut node = self;
        for seg in path.split('.').filter(|s| !s.is_empty()) {
            match node.get(seg) {
                Some(child) => node = child,
                None => return node.key_span.unwrap_or(node.span),
            }
        }
        node.span
    }

    /// The string at `path`, if it is one.
    pub fn str_at(&self, path: &str) -> Option<&str> {
        match &self.get(path)?.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Removes and returns the child at `key` of a table node.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        match &mut self.value {
            Value::Table(t) => t.remove(key),
            _ => None,
        }
    }

    /// Overlays `top` onto `self`: tables merge key by key, anything else is replaced.
    /// Locations follow the overlay: findings point at what the user wrote, not the profile.
    pub fn merge(&mut self, top: Node) {
        self.span = top.span;
        self.key_span = top.key_span.or(self.key_span);
        match (&mut self.value, top.value) {
            (Value::Table(base), Value::Table(over)) => {
                for (key, node) in over {
                    match base.get_mut(&key) {
                        Some(existing) => existing.merge(node),
                        None => {
                            base.insert(key, node);
                        }
                    }
                }
            }
            (slot, value) => *slot = value,
        }
    }

    /// The plain TOML value, for serde.
    pub fn to_toml(&self) -> toml::Value {
        match &self.value {
            Value::String(s) => toml::Value::String(s.clone()),
            Value::Integer(i) => toml::Value::Integer(*i),
            Value::Float(f) => toml::Value::Float(*f),
            Value::Boolean(b) => toml::Value::Boolean(*b),
            Value::Datetime(d) => toml::Value::String(d.clone()),
            Value::Array(a) => toml::Value::Array(a.iter().map(Node::to_toml).collect()),
            Value::Table(t) => {
                toml::Value::Table(t.iter().map(|(k, v)| (k.clone(), v.to_toml())).collect())
            }
        }
    }
}

fn convert_table(table: DeTable<'_>, file: FileId) -> BTreeMap<String, Node> {
    table
        .into_iter()
        .map(|(key, value)| {
            let key_span = key.span();
            let mut node = convert(value, file);
            node.key_span = Some(Span {
                file,
                start: key_span.start,
                end: key_span.end,
            });
            (key.into_inner().into_owned(), node)
        })
        .collect()
}

fn convert(value: serde_spanned::Spanned<DeValue<'_>>, file: FileId) -> Node {
    let r = value.span();
    let span = Span {
        file,
        start: r.start,
        end: r.end,
    };
    let value = match value.into_inner() {
        DeValue::String(s) => Value::String(s.into_owned()),
        // Out-of-range integers become a float the checker reports as the wrong type.
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Value::Integer)
            .unwrap_or(Value::Float(f64::NAN)),
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Boolean(b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => {
            Value::Array(items.into_iter().map(|v| convert(v, file)).collect())
        }
        DeValue::Table(t) => Value::Table(convert_table(t, file)),
    };
    Node {
        value,
        span,
        key_span: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        let mut diags = Diagnostics::default();
        let node = Node::parse(text, 0, &mut diags);
        assert!(!diags.has_errors());
        node
    }

    #[test]
    fn paths_and_spans() {
        let text = "[server]\ndomain = \"a.com\"\n[[tenants]]\nid = \"x\"\n";
        let doc = parse(text);
        let span = doc.locate("server.domain");
        assert_eq!(&text[span.start..span.end], "\"a.com\"");
        assert_eq!(doc.str_at("tenants.0.id"), Some("x"));
        let missing = doc.locate("server.listen");
        assert_eq!(&text[missing.start..missing.end], "server");
    }

    #[test]
    fn overlay_wins_and_tables_merge() {
        let mut base = parse("[server]\nworkers = 4\nlog_level = \"info\"\n");
        base.merge(parse("[server]\nworkers = 8\n"));
        assert!(matches!(
            base.get("server.workers").map(|n| &n.value),
            Some(Value::Integer(8))
        ));
        assert_eq!(base.str_at("server.log_level"), Some("info"));
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let mut diags = Diagnostics::default();
        Node::parse("a = \nb = [1,\n", 0, &mut diags);
        assert!(diags.error_count() >= 1);
    }
}
