//! What the statsforecast comparison tests share: the reference fixture
//! (fixtures/statsforecast.json, written by fixtures/make_statsforecast.py) and reading
//! its number arrays.

use serde_json::Value;

/// The whole fixture.
pub fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/statsforecast.json"))
        .expect("valid fixture JSON")
}

/// A JSON array of numbers.
pub fn values(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}
