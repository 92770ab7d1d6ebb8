//! Where a host deployment lives: the install paths that more than one target, or the host
//! apply, refers to. Each is defined once here, so no target imports a sibling's paths; a
//! path only its own target uses stays in that target.

use super::deployment::Model;
use crate::config::Host;

/// Where the `scf` binary (the CLI and the runtime it starts) is installed, on a host and
/// in the runtime image.
pub const BINARY: &str = "/usr/local/bin/scf";

/// The group nginx runs as on Debian: it reads the uploads and static directories.
pub const NGINX_GROUP: &str = "www-data";

/// File name of the backup script, which the backup timers run.
pub const BACKUP_SCRIPT: &str = "backup.sh";

/// `/etc/NAME/NAME.env`: the runtime's environment, loaded by the units and the scripts.
pub fn env_file(model: &Model) -> String {
    project_env_file(model.name().as_str())
}

/// The env file of the project named `name`, for what knows the name but not the model
/// (the runtime's commands on a host, from scf's state).
pub fn project_env_file(name: &str) -> String {
    format!("/etc/{name}/{name}.env")
}

/// `/usr/local/lib/NAME/FILE`: a script of the deployment (backup, restore, firewall).
pub fn script(model: &Model, file: &str) -> String {
    format!("/usr/local/lib/{}/{file}", model.name())
}

/// The directory nginx serves `/uploads/` from, which the runtime sees as `DATA_DIR/uploads`.
pub fn uploads_dir(host: &Host) -> String {
    host.install_dir.join("uploads").to_string()
}

/// The directory nginx serves `/static/` from.
pub fn static_dir(host: &Host) -> String {
    host.install_dir.join("static").to_string()
}

/// `/var/lib/NAME`: the runtime's `DATA_DIR` (systemd's `StateDirectory=`), the same path
/// on a host and in a container.
pub fn state_dir(model: &Model) -> String {
    format!("/var/lib/{}", model.name())
}

/// node-exporter's textfile-collector directory, which its `ARGS` name: each `*.prom` file
/// here is exported with the host's own metrics.
pub const TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

/// Whether this host runs node-exporter (every host does, with `monitoring.prometheus`), so
/// the metrics files in [`TEXTFILE_DIR`] are exported.
pub fn exports_textfiles(model: &Model) -> bool {
    model.hosted() && model.monitoring.prometheus
}

/// `TEXTFILE_DIR/NAME-backup.prom`: the outcome of the last backup of each kind, which
/// `backup.sh` writes and `scf doctor` and the alert rules read.
pub fn backup_metrics(model: &Model) -> String {
    format!("{TEXTFILE_DIR}/{}-backup.prom", model.name())
}

/// `TEXTFILE_DIR/NAME-restore-drill.prom`: the outcome of the last restore drill, which
/// `scf backup verify` writes and `scf doctor` and the alert rules read.
pub fn restore_drill_metrics(model: &Model) -> String {
    format!("{TEXTFILE_DIR}/{}-restore-drill.prom", model.name())
}

/// `/etc/ssl/NAME`: where scf installs the certificate an ACME server issued for the host
/// (`fullchain.pem`, `privkey.pem`), which nginx is given like any other.
pub fn issued_tls_dir(model: &Model) -> String {
    format!("/etc/ssl/{}", model.name())
}

/// `NAME-acme`: the ACME client's state directory under `/var/lib` (systemd's
/// `StateDirectory=`): its account key and the HTTP-01 challenge files nginx serves.
pub fn acme_state(model: &Model) -> String {
    format!("{}-acme", model.name())
}

/// `TEXTFILE_DIR/NAME-tls.prom`: the expiry of the served certificate, which the ACME client
/// writes at each run and the alert rules read.
pub fn tls_metrics(model: &Model) -> String {
    format!("{TEXTFILE_DIR}/{}-tls.prom", model.name())
}

/// `/var/lib/NAME-acme/challenges`: the HTTP-01 challenge files, which the ACME client
/// writes and nginx serves at `/.well-known/acme-challenge/` on port 80.
pub fn acme_challenges(model: &Model) -> String {
    format!("/var/lib/{}/challenges", acme_state(model))
}
