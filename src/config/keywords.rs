//! Enums that framework.toml spells as one keyword (`isolation = "schema"`). Each keyword is
//! written once, in [`keywords!`]: it is the serde name, the JSON Schema value, and what
//! `as_str` gives the targets that write it into an artifact.

/// Defines a unit enum whose variants are keywords: `Variant = "keyword"`.
macro_rules! keywords {
    ($(#[$doc:meta])* pub enum $ty:ident { $($(#[$vdoc:meta])* $variant:ident = $name:literal,)+ }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        pub enum $ty {
            $( $(#[$vdoc])* #[serde(rename = $name)] $variant, )+
        }

        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// The keyword, as framework.toml spells it.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name,)+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use keywords;

#[cfg(test)]
mod tests {
    use crate::config::{Connector, Environment, Isolation, LogLevel, MaxmemoryPolicy};

    fn serde_names<T: serde::Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
        for &v in all {
            let json = serde_json::to_value(v).expect("a unit variant serialises");
            assert_eq!(json.as_str(), Some(name(v)));
        }
    }

    #[test]
    fn keywords_are_the_serde_names() {
        serde_names(Environment::ALL, Environment::as_str);
        serde_names(LogLevel::ALL, LogLevel::as_str);
        serde_names(Isolation::ALL, Isolation::as_str);
        serde_names(Connector::ALL, Connector::as_str);
        serde_names(MaxmemoryPolicy::ALL, MaxmemoryPolicy::as_str);
        assert_eq!(MaxmemoryPolicy::AllkeysLru.to_string(), "allkeys-lru");
    }
}
