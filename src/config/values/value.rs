//! What every value type shares, kept apart from `values/mod.rs` so the types import
//! nothing of their parent: the error with its fix, the [`StringValue`] trait and the
//! macro that gives a type its serde and JSON Schema impls (all from `scf-contract`, which
//! defines the values that cross to the runtime with the same machinery), and the charset
//! check of the name types.

pub(crate) use scf_contract::string_value;
pub use scf_contract::{StringValue, ValueError};

/// Checks that `raw` matches a small grammar: every char allowed by `ok`, length within
/// `1..=max`. Used by the name types, which then add their own rules.
pub(super) fn charset(raw: &str, max: usize, ok: impl Fn(char) -> bool) -> bool {
    !raw.is_empty() && raw.len() <= max && raw.chars().all(ok)
}
