//! Post-deployment: the framework answers `/health` and `/ready` where clients reach it
//! (through nginx over TLS, [`crate::host::front_door`]; on an app host of a fleet, at its
//! own address), and its database is as
//! `scf db verify` and `scf tenant verify` want it: the same runtime code, run with the
//! env file the service runs with. Every tenant framework.toml declares is there.

use super::report::Check;
use crate::model::{Model, Role, layout};
use scf_runtime::cli::db::MIGRATIONS;
use scf_runtime::cli::doctor::{Verified, verify};
use scf_runtime::tenancy::Verification;
use std::path::Path;

/// The endpoints' and the database's checks, where this host serves the framework.
pub fn checks(model: &Model) -> Vec<Check> {
    if model.host.is_none() || !(model.serves(Role::App) || model.serves(Role::Proxy)) {
        return Vec::new();
    }
    // Through nginx where this host runs it; an app host of a fleet answers itself.
    let endpoint = match model.serves(Role::Proxy) {
        true => crate::host::front_door(model, Path::new("/")),
        false => crate::probe::Endpoint::http(&model.server.listen.to_string()),
    };
    let unit = format!("{}.service", model.name());
    let mut checks: Vec<Check> = ["/health", "/ready"]
        .iter()
        .map(|path| {
            let answer = crate::probe::status(&endpoint, path, super::observe::HTTP_TIMEOUT)
                .map_err(|e| e.to_string());
            judge_endpoint(&format!("{endpoint}{path}"), path, &unit, answer)
        })
        .collect();
    if model.serves(Role::App) {
        let env_file = layout::env_file(model);
        // Only the env file: what the service runs with, not this shell's variables.
        let verified = verify(Path::new(&env_file), &|_| None).map_err(|e| e.to_string());
        let declared: Vec<&str> = model.tenants.iter().map(|t| t.id.as_str()).collect();
        checks.extend(judge_database(verified, &declared));
    }
    checks
}

/// How `GET PATH` at `url` answered.
fn judge_endpoint(url: &str, path: &str, unit: &str, answer: Result<u16, String>) -> Check {
    let name = format!("GET {path}");
    let why = match path {
        "/ready" => {
            "/ready needs the database, Redis and current migrations: see the database checks; "
        }
        _ => "",
    };
    let fix = format!("{why}`systemctl status nginx {unit}`; `journalctl -u {unit} -n 50`");
    match answer {
        Ok(code) if (200..300).contains(&code) => {
            Check::pass(name, format!("HTTP {code} from {url}"))
        }
        Ok(code) => Check::fail(name, format!("HTTP {code} from {url}"), fix),
        Err(e) => Check::fail(name, format!("{url}: {e}"), fix),
    }
}

/// The database's checks: its migrations, the rest of `scf db verify`, then one per tenant
/// (those in the database, and those framework.toml declares that are not).
fn judge_database(verified: Result<Verified, String>, declared: &[&str]) -> Vec<Check> {
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            return vec![Check::fail(
                "database",
                e,
                "`scf db verify` on this host says more; is postgresql.service active?",
            )];
        }
    };
    let (migrations, rest): (Vec<_>, Vec<_>) =
        verified.database.iter().partition(|c| c.name == MIGRATIONS);
    let mut checks: Vec<Check> = migrations
        .iter()
        .map(|m| match m.ok {
            true => Check::pass("migrations", m.detail.clone()),
            false => Check::fail(
                "migrations",
                m.detail.clone(),
                "`scf db migrate` on this host applies what is pending; `scf db verify` shows the rest",
            ),
        })
        .collect();
    let failed: Vec<String> = rest
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    checks.push(match failed.is_empty() {
        true => Check::pass(
            "database",
            format!("{} checks of `scf db verify` pass", rest.len()),
        ),
        false => Check::fail(
            "database",
            failed.join("; "),
            "`scf db init` creates missing extensions, `scf db migrate` missing tables and stores; `scf db verify` shows each",
        ),
    });
    match verified.tenants {
        None => checks.push(Check::fail(
            "tenants",
            "not verified: the control plane's migrations are not current",
            "`scf db migrate`, then `scf doctor` again",
        )),
        Some(tenants) => {
            checks.extend(tenants.iter().map(judge_tenant));
            for id in declared {
                if !tenants.iter().any(|t| t.tenant.tenant_id == *id) {
                    checks.push(Check::fail(
                        format!("tenant {id}"),
                        "declared in framework.toml, but not in the database",
                        "`scf apply` provisions it (`scf plan` shows it as tenant:ID)",
                    ));
                }
            }
        }
    }
    checks
}

/// A tenant by its `scf tenant verify`.
fn judge_tenant(v: &Verification) -> Check {
    let id = &v.tenant.tenant_id;
    let name = format!("tenant {id}");
    let failed: Vec<String> = v
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    match failed.is_empty() {
        true => Check::pass(
            name,
            format!(
                "plan {}, {}, {} active user(s); {} checks of `scf tenant verify` pass",
                v.tenant.plan,
                v.tenant.status,
                v.users,
                v.checks.len()
            ),
        ),
        false => Check::fail(
            name,
            failed.join("; "),
            format!("`scf tenant verify --tenant-id {id}` shows each check"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;
    use scf_runtime::tenancy::{Check as Item, TenantInfo};

    fn item(name: &str, ok: bool, detail: &str) -> Item {
        Item {
            name: name.into(),
            ok,
            detail: detail.into(),
        }
    }

    fn tenant(id: &str, checks: Vec<Item>) -> Verification {
        Verification {
            tenant: TenantInfo {
                tenant_id: id.into(),
                plan: "medium".into(),
                industry: "FURNITURE".into(),
                isolation: "database".into(),
                status: "active".into(),
                created_at: 0,
            },
            users: 1,
            storage_bytes: 0,
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    #[test]
    fn endpoints_pass_on_2xx_only() {
        let url = "https://api.example.com (at 127.0.0.1:443)/ready";
        assert_eq!(
            judge_endpoint(url, "/ready", "acme.service", Ok(200)).status,
            Status::Pass
        );
        let down = judge_endpoint(url, "/ready", "acme.service", Ok(503));
        assert_eq!(
            (down.status, down.evidence.as_str()),
            (
                Status::Fail,
                "HTTP 503 from https://api.example.com (at 127.0.0.1:443)/ready"
            )
        );
        assert!(down.fix.unwrap().starts_with("/ready needs the database"));
        let refused = judge_endpoint(
            url,
            "/health",
            "acme.service",
            Err("connection refused".into()),
        );
        assert_eq!(
            refused.fix.as_deref(),
            Some("`systemctl status nginx acme.service`; `journalctl -u acme.service -n 50`")
        );
    }

    #[test]
    fn pending_migrations_fail_and_leave_the_tenants_unverified() {
        let verified = Verified {
            database: vec![
                item("database", true, "postgresql reachable"),
                item(
                    MIGRATIONS,
                    false,
                    "migrations pending: [7] (run `scf db migrate`)",
                ),
            ],
            tenants: None,
        };
        let checks = judge_database(Ok(verified), &["customer_123"]);
        let statuses: Vec<(&str, Status)> =
            checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
        assert_eq!(
            statuses,
            [
                ("migrations", Status::Fail),
                ("database", Status::Pass),
                ("tenants", Status::Fail)
            ]
        );
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap()
                .starts_with("`scf db migrate`")
        );
    }

    #[test]
    fn every_tenant_is_verified_and_every_declared_one_present() {
        let verified = Verified {
            database: vec![
                item(MIGRATIONS, true, "migrations current"),
                item("table tenants", true, "present"),
            ],
            tenants: Some(vec![
                tenant(
                    "customer_123",
                    vec![item("store", true, "migrations current")],
                ),
                tenant(
                    "other",
                    vec![item("admin user", false, "0 active admin(s)")],
                ),
            ]),
        };
        let checks = judge_database(Ok(verified), &["customer_123", "missing"]);
        let statuses: Vec<(&str, Status)> =
            checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
        assert_eq!(
            statuses,
            [
                ("migrations", Status::Pass),
                ("database", Status::Pass),
                ("tenant customer_123", Status::Pass),
                ("tenant other", Status::Fail),
                ("tenant missing", Status::Fail),
            ]
        );
        assert_eq!(checks[3].evidence, "admin user: 0 active admin(s)");
        assert_eq!(
            checks[3].fix.as_deref(),
            Some("`scf tenant verify --tenant-id other` shows each check")
        );
        let unreachable = judge_database(Err("connection refused".into()), &[]);
        assert_eq!(unreachable[0].status, Status::Fail);
    }
}
