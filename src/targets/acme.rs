//! Certificates from an ACME server on a host (`[tls] acme`): the settings file scf's ACME
//! client reads (`/etc/NAME/acme.json`), its oneshot unit `scf-acme.service` and the
//! `scf-acme.timer` that starts it twice a day. The unit's `ExecCondition=` (`scf acme
//! due`) skips it until two thirds of the certificate's lifetime have passed; then `scf
//! acme renew` orders a new one through nginx's HTTP-01 challenge location, and only then
//! is nginx reloaded. `scf apply` starts the unit after nginx, which issues the first
//! certificate; until then nginx serves a self-signed placeholder, seeded by apply (nginx
//! refuses a TLS server without one). The unit names are fixed: a host holds one project.

use super::error::TargetError;
use super::target::{Package, Seed, Service, Stage, Target};
use crate::acme::{Settings, placeholder};
use crate::artifact::{Artifact, Effect};
use crate::config::Acme as AcmeConfig;
use crate::model::Model;
use crate::model::layout::{self, TEXTFILE_DIR};
use crate::render::Renderer;
use serde::Serialize;

/// The ACME target.
pub struct Acme;

/// The renewal unit, which apply also starts to issue the first certificate.
const SERVICE: &str = "scf-acme.service";
/// Its timer.
const TIMER: &str = "scf-acme.timer";
/// Where units are installed.
const UNIT_DIR: &str = "/etc/systemd/system/";

/// What `scf-acme.service` sees.
#[derive(Serialize)]
struct Unit {
    domain: String,
    binary: &'static str,
    settings: String,
    state: String,
    tls_dir: String,
    config_dir: String,
    textfile_dir: Option<&'static str>,
}

/// `/etc/NAME/acme.json`.
fn settings_path(model: &Model) -> String {
    format!("/etc/{}/acme.json", model.name())
}

/// The ACME section, on the host that serves the site.
fn acme(model: &Model) -> Option<&AcmeConfig> {
    model
        .tls
        .as_ref()
        .and_then(|t| t.acme.as_ref())
        .filter(|_| model.renews_certificate())
}

fn settings(model: &Model, acme: &AcmeConfig) -> Option<Settings> {
    let files = model.tls_files()?;
    let state = format!("/var/lib/{}", layout::acme_state(model));
    Some(Settings {
        domain: model.server.domain.to_string(),
        email: acme.email.to_string(),
        directory: acme.directory.to_string(),
        ca_certificate: acme.ca_certificate.as_ref().map(ToString::to_string),
        certificate: files.certificate,
        key: files.key,
        account: format!("{state}/account.json"),
        challenges: layout::acme_challenges(model),
        metrics: model
            .monitoring
            .prometheus
            .then(|| layout::tls_metrics(model)),
    })
}

/// The placeholder pair for the model's domain, in the order of [`Acme::seeds`]' files.
fn placeholder_pair(model: &Model) -> Result<Vec<Vec<u8>>, String> {
    let pair = placeholder::generate(model.server.domain.as_str())
        .map_err(|e| format!("make a placeholder certificate: {e}"))?;
    Ok(vec![pair.certificate.into_bytes(), pair.key.into_bytes()])
}

impl Target for Acme {
    fn name(&self) -> &'static str {
        "acme"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "acme/renew.service.j2",
                include_str!("../../templates/acme/renew.service.j2"),
            ),
            (
                "acme/renew.timer.j2",
                include_str!("../../templates/acme/renew.timer.j2"),
            ),
        ]
    }

    fn services(&self) -> &'static [Service] {
        // After nginx (re)loads the site with the challenge location.
        &[Service {
            unit: SERVICE,
            stage: Stage::Edge,
        }]
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        // The system trust store, for a directory no `ca_certificate` vouches for.
        match acme(model).is_some_and(|a| a.ca_certificate.is_none()) {
            true => vec![Package::archive("ca-certificates", &[])],
            false => Vec::new(),
        }
    }

    fn seeds(&self, model: &Model) -> Vec<Seed> {
        let (Some(_), Some(files)) = (acme(model), model.tls_files()) else {
            return Vec::new();
        };
        vec![Seed {
            what: format!(
                "a self-signed placeholder for {}, until the ACME server issues its certificate",
                model.server.domain
            ),
            files: vec![(files.certificate, 0o644), (files.key, 0o600)],
            make: placeholder_pair,
        }]
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(acme) = acme(model) else {
            return Ok(Vec::new());
        };
        let Some(settings) = settings(model, acme) else {
            return Ok(Vec::new());
        };
        let json = serde_json::to_string_pretty(&settings)
            .map_err(|e| TargetError::serialize(settings_path(model), e))?;
        let tls_dir = layout::issued_tls_dir(model);
        let unit = Unit {
            domain: settings.domain.clone(),
            binary: layout::BINARY,
            settings: settings_path(model),
            state: layout::acme_state(model),
            config_dir: tls_dir.trim_start_matches("/etc/").to_string(),
            tls_dir,
            textfile_dir: settings.metrics.is_some().then_some(TEXTFILE_DIR),
        };
        let file = |path: String, text: String| {
            Artifact::file(self.name(), format!("host{path}"), text).with_mode(0o644)
        };
        Ok(vec![
            file(settings_path(model), json + "\n").on_change(Effect::Restart(SERVICE.into())),
            file(
                format!("{UNIT_DIR}{SERVICE}"),
                renderer.render("acme/renew.service.j2", &unit)?,
            )
            .on_change(Effect::DaemonReload)
            .on_change(Effect::Restart(SERVICE.into())),
            file(
                format!("{UNIT_DIR}{TIMER}"),
                renderer.render("acme/renew.timer.j2", &unit)?,
            )
            .on_change(Effect::DaemonReload)
            .on_change(Effect::EnableNow(TIMER.into()))
            .on_change(Effect::Restart(TIMER.into())),
        ])
    }
}
