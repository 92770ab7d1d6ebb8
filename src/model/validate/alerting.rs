//! The whole-file rules of `[monitoring.alerting]`: what Alertmanager would refuse, or
//! accept and then stay silent with, reported at the key at fault in framework.toml.

use super::findings::Findings;
use crate::config::Config;
use crate::config::values::Duration;

/// Alert routes name receivers that exist, every severity reaches someone, every receiver
/// notifies somewhere, and an SMTP login comes with its password.
pub(super) fn check(c: &Config, f: &mut Findings) {
    let a = &c.monitoring.alerting;
    let at = "monitoring.alerting";
    for (severity, receivers) in a.routes.by_severity() {
        if receivers.is_empty() {
            f.error(
                "scf::alert-route-empty",
                &format!("{at}.routes.{severity}"),
                format!("alerts of severity `{severity}` are routed to no receiver, so nobody would hear of them"),
                format!("list at least one receiver, such as `{severity} = [\"admin\"]`"),
            );
        }
        for (i, name) in receivers.iter().enumerate() {
            if a.receivers.contains_key(name) {
                continue;
            }
            let known = a
                .receivers
                .keys()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>();
            let help = match crate::diag::did_you_mean(
                name.as_str(),
                a.receivers.keys().map(|r| r.as_str()),
            ) {
                Some(near) => format!(
                    "did you mean `{near}`? The receivers are {}",
                    known.join(", ")
                ),
                None => format!(
                    "define [{at}.receivers.{name}] with email, webhook or slack, or use one of {}",
                    known.join(", ")
                ),
            };
            f.error(
                "scf::unknown-receiver",
                &format!("{at}.routes.{severity}.{i}"),
                format!("route `{severity}` names receiver `{name}`, which is not defined"),
                help,
            );
        }
    }
    intervals(c, f);
    for (name, r) in &a.receivers {
        let path = format!("{at}.receivers.{name}");
        if r.email.is_none() && r.webhook.is_none() && r.slack.is_none() {
            f.error(
                "scf::empty-receiver",
                &path,
                format!("receiver `{name}` has no email, webhook or slack, so it would drop every alert"),
                format!("add one, such as `[{path}.webhook]` with url = \"https://hooks.example.com/alerts\""),
            );
        }
        if let Some(e) = &r.email
            && e.auth_username.is_some() != e.auth_password.is_some()
        {
            f.error(
                "scf::smtp-auth",
                &format!("{path}.email"),
                "an SMTP login needs both auth_username and auth_password",
                "set both (auth_password as `env:NAME` or `file:/PATH`), or neither for an unauthenticated smarthost",
            );
        }
    }
}

/// Alertmanager refuses a zero group or repeat interval, and repeats no sooner than the
/// group interval, so a shorter repeat interval would not mean what it says.
fn intervals(c: &Config, f: &mut Findings) {
    let a = &c.monitoring.alerting;
    let at = "monitoring.alerting";
    let zero = Duration::from_secs(0);
    for (key, value) in [
        ("group_interval", a.group_interval),
        ("repeat_interval", a.repeat_interval),
    ] {
        if value == zero {
            f.error(
                "scf::alert-interval",
                &format!("{at}.{key}"),
                format!("{key} is zero, which Alertmanager refuses"),
                format!("set a positive duration, such as `{key} = \"5m\"`"),
            );
        }
    }
    if a.repeat_interval != zero && a.repeat_interval < a.group_interval {
        f.error(
            "scf::alert-interval",
            &format!("{at}.repeat_interval"),
            format!(
                "repeat_interval ({}) is shorter than group_interval ({}); Alertmanager repeats no sooner than group_interval",
                a.repeat_interval, a.group_interval
            ),
            format!(
                "set repeat_interval to at least {}, such as `repeat_interval = \"4h\"`",
                a.group_interval
            ),
        );
    }
}
