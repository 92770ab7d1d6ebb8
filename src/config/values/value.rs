//! What every value type shares, kept apart from `values/mod.rs` so the types import
//! nothing of their parent: the error with its fix, the [`StringValue`] trait and the
//! macro that gives a type its serde and JSON Schema impls (all from `scf-contract`, which
//! defines the values that cross to the runtime with the same machinery), the charset
//! check of the name types, and [`known`], which parses the built-in defaults.

pub(crate) use scf_contract::string_value;
pub use scf_contract::{StringValue, ValueError};

/// A built-in default, valid by construction; the config tests parse every one.
pub(crate) fn known<T: StringValue>(raw: &str) -> T {
    raw.parse().unwrap_or_else(|e| {
        panic!("built-in default `{raw}` is invalid: {e}; this is a bug in scf")
    })
}

/// Checks that `raw` matches a small grammar: every char allowed by `ok`, length within
/// `1..=max`. Used by the name types, which then add their own rules.
pub(super) fn charset(raw: &str, max: usize, ok: impl Fn(char) -> bool) -> bool {
    !raw.is_empty() && raw.len() <= max && raw.chars().all(ok)
}
