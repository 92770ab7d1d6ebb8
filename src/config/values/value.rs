//! What every value type shares, kept apart from `values/mod.rs` so the types import
//! nothing of their parent: the error with its fix, the [`StringValue`] trait, and the
//! macro that gives a type its serde and JSON Schema impls through its string form.

/// Why a string is not a valid value, and how to write one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// What is wrong, without echoing secret material.
    pub message: String,
    /// How to fix it, usually with an example.
    pub help: String,
}

impl ValueError {
    /// A value error with its fix.
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.help)
    }
}

impl std::error::Error for ValueError {}

/// A value type written as one string: parsed with `FromStr`, shown with `Display`.
pub trait StringValue: std::str::FromStr<Err = ValueError> + std::fmt::Display {
    /// The JSON Schema `format` tag that names this type.
    const FORMAT: &'static str;
    /// What the schema says about the type, with an example.
    const DESCRIPTION: &'static str;
}

/// Implements serde and schemars for a [`StringValue`], through its string form.
macro_rules! string_value {
    ($ty:ty, $format:literal, $description:literal) => {
        impl $crate::config::values::value::StringValue for $ty {
            const FORMAT: &'static str = $format;
            const DESCRIPTION: &'static str = $description;
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "format": $format,
                    "description": $description,
                })
            }
        }
    };
}
pub(crate) use string_value;

/// Checks that `raw` matches a small grammar: every char allowed by `ok`, length within
/// `1..=max`. Used by the name types, which then add their own rules.
pub(super) fn charset(raw: &str, max: usize, ok: impl Fn(char) -> bool) -> bool {
    !raw.is_empty() && raw.len() <= max && raw.chars().all(ok)
}
