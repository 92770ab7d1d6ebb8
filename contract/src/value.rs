//! What every value type shares: the error with its fix, the [`StringValue`] trait, and
//! the [`string_value!`](crate::string_value) macro that gives a type its serde and JSON
//! Schema impls through its string form. The compiler's own value types use them too.

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

/// Implements [`StringValue`], serde and schemars for a type, through its string form.
#[macro_export]
macro_rules! string_value {
    ($ty:ty, $format:literal, $description:literal) => {
        impl $crate::value::StringValue for $ty {
            const FORMAT: &'static str = $format;
            const DESCRIPTION: &'static str = $description;
        }
        impl $crate::value::__private::serde::Serialize for $ty {
            fn serialize<S: $crate::value::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> $crate::value::__private::serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::value::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> Result<Self, D::Error> {
                let raw =
                    <std::borrow::Cow<'de, str> as $crate::value::__private::serde::Deserialize>::deserialize(d)?;
                raw.parse()
                    .map_err(<D::Error as $crate::value::__private::serde::de::Error>::custom)
            }
        }
        impl $crate::value::__private::schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(
                _: &mut $crate::value::__private::schemars::SchemaGenerator,
            ) -> $crate::value::__private::schemars::Schema {
                $crate::value::__private::schemars::json_schema!({
                    "type": "string",
                    "format": $format,
                    "description": $description,
                })
            }
        }
    };
}

/// What [`string_value!`](crate::string_value) expands to needs, reachable from any crate
/// that invokes it.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
}

/// Splits `"300s"` into `(300, "s")`; the unit may be empty. `None` when there is no
/// number or it does not fit a `u64`.
pub fn split_number(raw: &str) -> Option<(u64, &str)> {
    let digits = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let number = raw[..digits].parse().ok()?;
    Some((number, &raw[digits..]))
}
