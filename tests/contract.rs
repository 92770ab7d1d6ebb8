//! The contract between compiler and runtime, as a property: whatever `scf validate`
//! accepts, the runtime accepts. Each case writes a framework.toml with generated values
//! for every key that crosses to the runtime (rates, durations, counts, plan limits,
//! tenant ids), validates it as `scf validate` does, renders the runtime's environment as
//! every target writes it, and reads that environment as `scf run --production` does.

use proptest::prelude::*;
use scf::model::{EnvValue, Placement, runtime_env};
use scf_runtime::domain::tenant::TenantId;
use scf_runtime::settings::{Mode, Settings};
use std::collections::BTreeMap;
use std::path::Path;

/// A value the runtime gets for a secret reference: real keys are resolved at apply time,
/// and their format is not the compiler's to check.
fn secret_stand_in(var: &str) -> String {
    match var {
        "FIELD_ENCRYPTION_KEY" => "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        _ => "a-stand-in-secret-of-at-least-32-characters".into(),
    }
}

/// The generated keys of one case.
#[derive(Debug)]
struct Case {
    rates: [String; 3],
    durations: [String; 4],
    retention: [String; 2],
    counts: [i64; 6],
    plan: (i64, i64, String),
    tenant: String,
}

impl Case {
    fn framework_toml(&self) -> String {
        let [per_ip, per_user, per_tenant] = &self.rates;
        let [request_timeout, jwt_expiry, cache_ttl, scrape] = &self.durations;
        let [api_key_rotation, audit] = &self.retention;
        let [
            workers,
            max_upload_mb,
            pool,
            overflow,
            max_tenants,
            concurrent,
        ] = self.counts;
        let (max_users, max_implementations, storage) = &self.plan;
        let tenant = &self.tenant;
        format!(
            r#"[project]
name = "contract"
extends = "dev"

[server]
workers = {workers}
max_upload_mb = {max_upload_mb}
request_timeout = "{request_timeout}"

[database]
pool_size = {pool}
max_overflow = {overflow}

[security]
jwt_expiry = "{jwt_expiry}"
api_key_rotation = "{api_key_rotation}"
audit_log_retention = "{audit}"
rate_limits = {{ per_ip = "{per_ip}", per_user = "{per_user}", per_tenant = "{per_tenant}" }}

[tenancy]
max_tenants = {max_tenants}
plans.generated = {{ max_users = {max_users}, max_implementations = {max_implementations}, storage = "{storage}" }}

[[tenants]]
id = "{tenant}"
plan = "generated"
admin_email = "admin@example.com"

[framework]
cache_ttl = "{cache_ttl}"
max_concurrent_implementations = {concurrent}

[monitoring]
scrape_interval = "{scrape}"
"#
        )
    }
}

/// Mostly a count every key accepts, sometimes one at the edges of the integer widths
/// either side uses, sometimes anything.
fn count() -> impl Strategy<Value = i64> {
    prop_oneof![
        38 => 1i64..200,
        1 => prop::sample::select(vec![
            0,
            i64::from(u32::MAX),
            i64::from(u32::MAX) + 1,
            i64::from(i32::MAX) + 1,
            i64::MAX,
        ]),
        1 => any::<i64>(),
    ]
}

/// Mostly a rate `scf validate` accepts, in any of its spellings; sometimes a count at the
/// edge of `u32`; sometimes anything.
fn rate() -> impl Strategy<Value = String> {
    let per = prop::sample::select(vec![
        "s", "sec", "second", "seconds", "m", "min", "minute", "Minutes", "h", "hr", "hour",
        "HOURS", "d", "day", "days",
    ]);
    let edge = prop::sample::select(vec![u64::from(u32::MAX), u64::from(u32::MAX) + 1, u64::MAX]);
    prop_oneof![
        38 => (1u64..100_000, per.clone()).prop_map(|(n, per)| format!("{n}/{per}")),
        1 => (edge, per).prop_map(|(n, per)| format!("{n}/{per}")),
        1 => "[0-9 +-]{0,24}/[ a-zA-Z]{0,9}",
    ]
}

/// Mostly a duration of one or two parts, sometimes a huge one, sometimes anything.
fn duration() -> impl Strategy<Value = String> {
    let part = |n: std::ops::Range<u64>| {
        (n, prop::sample::select(vec!["ms", "s", "m", "h", "d", "w"]))
            .prop_map(|(n, unit)| format!("{n}{unit}"))
    };
    prop_oneof![
        38 => prop::collection::vec(part(1..5000), 1..3).prop_map(|parts| parts.concat()),
        1 => part(0..u64::MAX),
        1 => "[0-9a-z]{0,12}",
    ]
}

fn size() -> impl Strategy<Value = String> {
    (
        prop_oneof![39 => 1u64..5000, 1 => any::<u64>()],
        prop::sample::select(vec!["", "b", "KiB", "MiB", "GiB", "TiB", "gb"]),
    )
        .prop_map(|(n, unit)| format!("{n}{unit}"))
}

fn tenant_id() -> impl Strategy<Value = String> {
    prop_oneof![19 => "[a-z][a-z0-9_]{0,20}", 1 => "[a-z][a-z0-9_-]{0,70}"]
}

fn case() -> impl Strategy<Value = Case> {
    (
        [rate(), rate(), rate()],
        [duration(), duration(), duration(), duration()],
        [duration(), duration()],
        [count(), count(), count(), count(), count(), count()],
        (count(), count(), size()),
        tenant_id(),
    )
        .prop_map(|(rates, durations, retention, counts, plan, tenant)| Case {
            rates,
            durations,
            retention,
            counts,
            plan,
            tenant,
        })
}

/// The runtime's environment as the host target writes it, secrets stood in for.
fn environment(model: &scf::model::Model) -> BTreeMap<&'static str, String> {
    runtime_env(model, Placement::Host)
        .into_iter()
        .map(|var| {
            let value = match var.value {
                EnvValue::Plain(text) => text,
                EnvValue::Secret(_) => secret_stand_in(var.name),
            };
            (var.name, value)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn whatever_scf_validate_accepts_the_runtime_accepts(case in case()) {
        let text = case.framework_toml();
        let Ok(compiled) = scf::compile::load_text(Path::new("framework.toml"), text.clone()) else {
            return Ok(());
        };
        let env = environment(&compiled.model);
        let settings = Settings::from_lookup(Mode::Production, &|var: &str| env.get(var).cloned());
        prop_assert!(settings.is_ok(), "scf validate accepted\n{text}\nbut the runtime refused it: {:?}", settings.err());
        for tenant in &compiled.model.tenants {
            prop_assert!(TenantId::parse(tenant.id.as_str()).is_ok(), "tenant id {} refused by the runtime", tenant.id);
        }
    }
}

#[test]
fn values_past_the_runtime_limits_are_located_errors_at_validate() {
    let case = Case {
        rates: ["4294967296/hour".into(), "1/s".into(), "1/s".into()],
        durations: ["300s".into(), "24h".into(), "1h".into(), "15s".into()],
        retention: ["90d".into(), "90d".into()],
        counts: [1, 100, 20, 30, 10, 2],
        plan: (i64::MAX, 1, "1GiB".into()),
        tenant: "customer_123".into(),
    };
    let invalid = scf::compile::load_text(Path::new("framework.toml"), case.framework_toml())
        .expect_err("a rate and a plan past the runtime's u32");
    let located: Vec<String> = invalid
        .diags
        .iter()
        .filter(|d| d.span.is_some())
        .map(|d| d.message.clone())
        .collect();
    assert!(
        located.iter().any(|m| m.contains("4294967296/hour")),
        "{located:?}"
    );
    assert!(
        located.iter().any(|m| m.contains("max_users")),
        "{located:?}"
    );
}
