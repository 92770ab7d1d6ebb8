//! The tenants Job: one `scf tenant create --if-absent` per tenant, in id order, after
//! the migration Job.

use super::{built, find};

#[test]
fn each_tenant_is_created_if_absent_after_the_migration() {
    let tenant = |id: &str| {
        format!(
            "[[tenants]]\nid = \"{id}\"\nplan = \"small\"\nadmin_email = \"ops@{id}.example\"\n"
        )
    };
    let objects = built(&(tenant("zeta") + &tenant("acme")));
    let position = |name: &str| {
        objects
            .iter()
            .position(|o| o.gvk().kind == "Job" && o.name() == name)
    };
    assert!(
        position("framework-migrate").expect("migration")
            < position("framework-tenants").expect("tenants")
    );
    let job = find(&objects, "Job", "framework-tenants").expect("the tenants Job");
    let text = job.to_yaml().expect("yaml");
    // In id order, with the default industry.
    let acme = text.find("- acme\n").expect("acme");
    let zeta = text.find("- zeta\n").expect("zeta");
    assert!(acme < zeta, "{text}");
    assert!(
        text.contains("name: tenant-1\n") && text.contains("name: tenant-2\n"),
        "{text}"
    );
    assert!(text.contains("- --if-absent\n"), "{text}");
    assert!(text.contains("- GENERIC_MANUFACTURING\n"), "{text}");
    assert!(
        text.contains("app.kubernetes.io/component: tenants"),
        "{text}"
    );
}
