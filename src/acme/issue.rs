//! One order with the ACME server: load (or create, on the first run) the account, order a
//! certificate for the domain, answer its HTTP-01 challenge by writing the key
//! authorization where nginx serves `/.well-known/acme-challenge/`, finalize with a new
//! key, and fetch the chain. The challenge files are removed whatever the outcome.

use super::settings::{AcmeError, Settings};
use crate::host::fsio;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the server issued: the chain (leaf first) and the key made for it, as PEM.
pub(super) struct Issued {
    pub chain: String,
    pub key: String,
}

/// How long the server may take to validate the challenge and to issue.
const POLL: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(250))
    .backoff(1.5)
    .timeout(Duration::from_secs(90));

/// Runs one order to completion.
pub(super) fn order(settings: &Settings) -> Result<Issued, AcmeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AcmeError::io("start the ACME client", e))?;
    let mut written = Vec::new();
    let result = runtime.block_on(run(settings, &mut written));
    for file in written {
        let _ = std::fs::remove_file(file);
    }
    result
}

fn server(settings: &Settings, step: &'static str) -> impl Fn(instant_acme::Error) -> AcmeError {
    let directory = settings.directory.clone();
    move |e| AcmeError::Server {
        directory: directory.clone(),
        step,
        cause: e.to_string(),
    }
}

async fn run(settings: &Settings, written: &mut Vec<PathBuf>) -> Result<Issued, AcmeError> {
    let account = account(settings).await?;
    let identifiers = [Identifier::Dns(settings.domain.clone())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(server(settings, "new order"))?;
    let challenges = Path::new(&settings.challenges);
    fsio::create_dirs(challenges)
        .map_err(|e| AcmeError::io(format!("create {}", challenges.display()), e))?;
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.map_err(server(settings, "authorization"))?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                return Err(server(settings, "authorization")(instant_acme::Error::Str(
                    match other {
                        AuthorizationStatus::Invalid => "the authorization is invalid",
                        AuthorizationStatus::Revoked => "the authorization was revoked",
                        _ => "the authorization expired or was deactivated",
                    },
                )));
            }
        }
        let mut challenge = authorization
            .challenge(ChallengeType::Http01)
            .ok_or_else(|| {
                server(settings, "authorization")(instant_acme::Error::Str(
                    "the server offers no http-01 challenge",
                ))
            })?;
        let file = challenges.join(&challenge.token);
        fsio::write_file(
            &file,
            challenge.key_authorization().as_str().as_bytes(),
            0o644,
        )
        .map_err(|e| AcmeError::io(format!("write {}", file.display()), e))?;
        written.push(file);
        challenge
            .set_ready()
            .await
            .map_err(server(settings, "challenge ready"))?;
    }
    let status = order
        .poll_ready(&POLL)
        .await
        .map_err(server(settings, "validation"))?;
    if status != OrderStatus::Ready {
        let cause = format!(
            "the order is {status:?} after the http-01 challenge (is http://{}/.well-known/acme-challenge/ served from {} on port 80?)",
            settings.domain, settings.challenges
        );
        return Err(AcmeError::Server {
            directory: settings.directory.clone(),
            step: "validation",
            cause,
        });
    }
    let key = order
        .finalize()
        .await
        .map_err(server(settings, "finalize"))?;
    let chain = order
        .poll_certificate(&POLL)
        .await
        .map_err(server(settings, "certificate"))?;
    Ok(Issued { chain, key })
}

/// The account whose credentials are saved, or a new one (saved 0600 for the next run).
async fn account(settings: &Settings) -> Result<Account, AcmeError> {
    let builder = match &settings.ca_certificate {
        Some(ca) => Account::builder_with_root(ca),
        None => Account::builder(),
    }
    .map_err(server(settings, "TLS client"))?;
    let path = Path::new(&settings.account);
    let saved = fsio::read_if_present(path)
        .map_err(|e| AcmeError::io(format!("read {}", path.display()), e))?;
    if let Some(bytes) = saved {
        let credentials: AccountCredentials =
            serde_json::from_slice(&bytes).map_err(|e| AcmeError::Settings {
                path: settings.account.clone(),
                cause: e.to_string(),
            })?;
        return builder
            .from_credentials(credentials)
            .await
            .map_err(server(settings, "account"));
    }
    let contact = format!("mailto:{}", settings.email);
    let (account, credentials) = builder
        .create(
            &NewAccount {
                contact: &[&contact],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory.clone(),
            None,
        )
        .await
        .map_err(server(settings, "new account"))?;
    let json = serde_json::to_vec(&credentials).map_err(|e| AcmeError::Settings {
        path: settings.account.clone(),
        cause: e.to_string(),
    })?;
    if let Some(dir) = path.parent() {
        fsio::create_dirs(dir)
            .map_err(|e| AcmeError::io(format!("create {}", dir.display()), e))?;
    }
    fsio::write_file(path, &json, 0o600)
        .map_err(|e| AcmeError::io(format!("save {}", path.display()), e))?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without `ca_certificate` the client trusts the system store (rustls' platform
    /// verifier on ring): it must build in this process, as `scf acme renew` does.
    #[test]
    fn the_system_trust_store_client_builds() {
        assert!(Account::builder().is_ok());
        assert!(Account::builder_with_root("/nonexistent/ca.pem").is_err());
    }
}
