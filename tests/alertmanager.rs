//! The Alertmanager target judged by `amtool check-config`: every scenario that monitors a
//! host, and the example with receivers of every kind whose secrets are `file:` references
//! filled in as `scf apply` fills them (with dummy values, the password full of YAML
//! syntax), loads with no warning, and
//! yamllint finds nothing. The built file holds only markers. Every value that reaches
//! `alertmanager.yml` is refused by `scf validate` when hostile, or arrives inert.

mod built;
mod support;

use built::{Build, Outcome};
use scf_testkit::validators::{alertmanager, yaml};
use std::path::{Path, PathBuf};

const CONFIG: &str = "/etc/prometheus/alertmanager.yml";
const DEFAULTS: &str = "/etc/default/prometheus-alertmanager";

/// The build's config with every secret marker filled in through `scf::secret::fill`, the
/// function apply uses; written into `dir`.
fn filled(b: &Build, dir: &Path) -> PathBuf {
    let text = scf::secret::fill(&b.read(CONFIG), scf::secret::resolve)
        .unwrap_or_else(|e| panic!("{}: fill: {e}", b.name));
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// amtool and yamllint on one build; returns amtool's report.
fn judge(b: &Build) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = filled(b, dir.path());
    let report = alertmanager::check_config(&config).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    yaml::lint(&[&b.path(CONFIG)]).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    report.output
}

#[test]
fn every_monitored_scenario_passes_amtool() {
    let monitored = built::having(
        CONFIG,
        &[
            "example",
            "profile-single-tenant",
            "profile-multi-tenant",
            "fleet-edge",
        ],
        "dev turns monitoring off; Kubernetes has no host",
    );
    for b in &monitored {
        let report = judge(b);
        assert!(report.contains("1 receivers"), "{}: {report}", b.name);
        let config = b.read(CONFIG);
        assert!(
            config.contains("  receiver: admin\n") && config.contains("- to: root@localhost\n"),
            "{}: the profile mails root through the local MTA\n{config}",
            b.name
        );
        assert!(
            b.read(DEFAULTS)
                .contains("--web.listen-address=127.0.0.1:9093 --cluster.listen-address="),
            "{}: loopback only",
            b.name
        );
    }
}

/// A dummy SMTP password with the syntax of YAML, templates and shell in it: it must stay
/// inert once apply fills it in. (Quotes, backslashes and whitespace no host file could
/// carry as they are: apply refuses those, see `scf::secret::fill`.)
const SMTP_PASSWORD: &str = r#"dummy:#password{{x}}$HOME-[a,b]@@&*!|>%"#;

/// Dummy secrets in files, referenced as `file:` from framework.toml.
struct Secrets {
    dir: tempfile::TempDir,
}

impl Secrets {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("smtp"), format!("{SMTP_PASSWORD}\n")).expect("write");
        std::fs::write(
            dir.path().join("slack"),
            "https://hooks.slack.com/services/T000/B000/dummy\n",
        )
        .expect("write");
        Self { dir }
    }
    fn reference(&self, name: &str) -> String {
        format!("file:{}", self.dir.path().join(name).display())
    }
}

/// The example with an `oncall` receiver (email with a login, and Slack) for critical
/// alerts and a `team` webhook for both severities.
fn with_receivers(secrets: &Secrets) -> toml::Table {
    let mut table = built::example();
    let text = format!(
        r##"routes = {{ critical = ["oncall", "team"], warning = ["team"] }}
receivers.oncall.email = {{ to = "oncall@example.com", from = "alerts@example.com", smarthost = "smtp.example.com:587", auth_username = "alerts@example.com", auth_password = "{}" }}
receivers.oncall.slack = {{ api_url = "{}", channel = "#ops" }}
receivers.team.webhook = {{ url = "https://hooks.example.com/alerts?team=ops" }}
"##,
        secrets.reference("smtp"),
        secrets.reference("slack")
    );
    let alerting: toml::Table = text.parse().expect("alerting table");
    built::set(&mut table, "monitoring.alerting", alerting.into());
    table
}

#[test]
fn receivers_of_every_kind_pass_amtool_with_secrets_as_markers() {
    let secrets = Secrets::new();
    let Outcome::Built(b) = built::outcome("receivers", &with_receivers(&secrets)) else {
        panic!("the receivers example is valid");
    };
    let report = judge(&b);
    assert!(report.contains("3 receivers"), "{report}");
    let dir = tempfile::tempdir().expect("temp dir");
    let filled = std::fs::read_to_string(filled(&b, dir.path())).expect("filled");
    assert!(
        filled.contains(&format!("auth_password: |-\n      {SMTP_PASSWORD}\n")),
        "the password is one literal line\n{filled}"
    );
    let config = b.read(CONFIG);
    for marker in ["smtp", "slack"] {
        let marker = format!("@@scf-secret:{}@@", secrets.reference(marker));
        assert!(config.contains(&marker), "{marker}\n{config}");
    }
    assert!(
        !config.contains("dummy"),
        "no secret value in the built file"
    );
    let routes = "  - receiver: oncall\n    matchers:\n    - severity=\"critical\"\n    continue: true\n  - receiver: team\n    matchers:\n    - severity=\"critical\"\n    continue: true\n  - receiver: team\n    matchers:\n    - severity=\"warning\"\n";
    assert!(config.contains(routes), "{config}");
}

#[test]
fn a_route_to_a_missing_receiver_is_refused_before_amtool_sees_it() {
    let secrets = Secrets::new();
    let mut table = with_receivers(&secrets);
    built::set(
        &mut table,
        "monitoring.alerting.routes.warning",
        toml::Value::Array(vec!["teem".into()]),
    );
    let Outcome::Rejected(message) = built::outcome("missing receiver", &table) else {
        panic!("a route to an undefined receiver must be refused");
    };
    assert!(
        message.contains("scf::unknown-receiver") && message.contains("did you mean `team`?"),
        "{message}"
    );
}

/// Puts a hostile value into an otherwise valid one.
type Splice = fn(&str) -> String;

/// Every framework.toml field that reaches alertmanager.yml, with every hostile value
/// spliced into an otherwise valid value.
#[test]
fn hostile_values_are_rejected_or_inert() {
    let secrets = Secrets::new();
    let at = "monitoring.alerting";
    let fields: &[(&str, Splice)] = &[
        ("receivers.oncall.email.to", |v| {
            format!("on{v}call@example.com")
        }),
        ("receivers.oncall.email.from", |v| {
            format!("al{v}erts@example.com")
        }),
        ("receivers.oncall.email.smarthost", |v| {
            format!("smtp.example.com:587{v}")
        }),
        ("receivers.oncall.email.auth_username", |v| {
            format!("alerts{v}")
        }),
        ("receivers.oncall.email.auth_password", |v| {
            format!("env:SMTP{v}")
        }),
        ("receivers.oncall.slack.api_url", |v| {
            format!("env:SLACK{v}")
        }),
        ("receivers.oncall.slack.channel", |v| format!("#ops{v}")),
        ("receivers.team.webhook.url", |v| {
            format!("https://hooks.example.com/a{v}")
        }),
        ("group_wait", |v| format!("30s{v}")),
        ("repeat_interval", |v| format!("4h{v}")),
    ];
    for value in built::HOSTILE {
        let mut cases: Vec<(String, toml::Table)> = fields
            .iter()
            .map(|(field, hostile)| {
                let mut table = with_receivers(&secrets);
                built::set(&mut table, &format!("{at}.{field}"), hostile(value).into());
                (format!("{field} = {value:?}"), table)
            })
            .collect();
        // A receiver's name is a key, and reaches the file through the routes too.
        let name = format!("pager{value}");
        let mut table = with_receivers(&secrets);
        let url = "https://hooks.example.com/p";
        built::set(
            &mut table,
            &format!("{at}.receivers.{name}.webhook.url"),
            url.into(),
        );
        built::set(
            &mut table,
            &format!("{at}.routes.warning"),
            toml::Value::Array(vec![name.clone().into()]),
        );
        cases.push((format!("receiver name {name:?}"), table));
        for (case, table) in cases {
            match built::outcome(&case, &table) {
                Outcome::Rejected(message) => {
                    assert!(message.contains("error"), "{case}: {message}")
                }
                Outcome::Built(b) => {
                    judge(&b);
                }
            }
        }
    }
    let Outcome::Built(b) = built::outcome("plain receivers", &with_receivers(&secrets)) else {
        panic!("valid");
    };
    judge(&b);
}
