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
    keywords! {
        /// A sample keyword enum.
        pub enum Policy {
            /// One.
            AllkeysLru = "allkeys-lru",
            /// Two.
            NoEviction = "noeviction",
        }
    }

    #[test]
    fn keywords_are_the_serde_names_and_the_display() {
        for &v in Policy::ALL {
            let json = serde_json::to_value(v).expect("a unit variant serialises");
            assert_eq!(json.as_str(), Some(v.as_str()));
            assert_eq!(v.to_string(), v.as_str());
            let back: Policy = serde_json::from_value(json).expect("the keyword parses");
            assert_eq!(back, v);
        }
        assert_eq!(Policy::ALL, [Policy::AllkeysLru, Policy::NoEviction]);
        assert_eq!(Policy::AllkeysLru.to_string(), "allkeys-lru");
        assert!(serde_json::from_str::<Policy>("\"AllkeysLru\"").is_err());
    }
}
