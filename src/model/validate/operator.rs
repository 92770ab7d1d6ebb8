//! `[database] operator`: CloudNativePG runs a database scf manages, on Kubernetes, on
//! the port its images listen on.

use super::findings::Findings;
use crate::config::Config;

/// The port CloudNativePG's instances and Services listen on.
const CNPG_PORT: u16 = 5432;

/// Checks `[database] operator` against the rest of the file.
pub(super) fn check(c: &Config, f: &mut Findings) {
    let db = &c.database;
    if db.operator.is_none() {
        return;
    }
    let path = "database.operator";
    if !db.managed {
        f.error(
            "scf::operator-external",
            path,
            "database.operator runs a database on the cluster, but the database is external (managed = false or external_url)",
            "remove database.operator, or remove database.external_url and managed = false",
        );
    }
    if c.kubernetes.is_none() {
        f.error(
            "scf::operator-without-kubernetes",
            path,
            "database.operator applies to Kubernetes only, and there is no [kubernetes] section",
            "remove database.operator, or add [kubernetes] (extend the `kubernetes` profile)",
        );
    }
    if db.port != CNPG_PORT {
        f.error(
            "scf::operator-port",
            "database.port",
            format!(
                "CloudNativePG serves PostgreSQL on port {CNPG_PORT}, not {}",
                db.port
            ),
            format!("remove database.port or set it to {CNPG_PORT}"),
        );
    }
}
