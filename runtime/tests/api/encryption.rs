//! Field encryption end to end: after provisioning a tenant, adding a user, an API key
//! and enrolling MFA, a `pg_dump` of every database involved holds none of the PII or
//! secrets in plain text.

use reqwest::{Method, StatusCode};
use scf_runtime::domain::tenant::Isolation;

use crate::helpers::{Backend, Options, spawn_app};

fn pg_dump(url: &str) -> String {
    let out = std::process::Command::new("pg_dump")
        .args(["--no-owner", "--data-only", url])
        .output()
        .expect("pg_dump is installed");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8 dump")
}

#[tokio::test]
async fn no_pii_in_plain_text_in_a_pg_dump() {
    for isolation in [Isolation::Database, Isolation::Row] {
        let app = spawn_app(Options::new(Backend::Postgres).isolation(isolation)).await;
        let t = app.tenant("acme", "small").await;
        let user_email = "jane.doe.pii@customer-secret.example";
        app.user(&t.token, user_email, "viewer").await;
        let key_name = "quarterly-export-for-secret-project";
        let (_, key) = app.api_key(&t.token, key_name, "viewer").await;
        let (status, enrol) = app
            .call(Method::POST, "/v1/auth/mfa/enroll", Some(&t.token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let totp =
            totp_rs::Totp::from_url(enrol["otpauth_url"].as_str().expect("url")).expect("otpauth");
        let totp_secret = enrol["otpauth_url"]
            .as_str()
            .and_then(|u| u.split("secret=").nth(1))
            .and_then(|s| s.split('&').next())
            .expect("secret")
            .to_owned();
        assert!(!totp.secret().as_bytes().is_empty());

        let main = app.database_url.clone().expect("postgres");
        let mut dump = pg_dump(&main);
        if isolation == Isolation::Database {
            dump.push_str(&pg_dump(&format!("{main}_t_acme")));
        }
        assert!(
            dump.contains("enc:v1:"),
            "{isolation:?}: the encrypted values are there"
        );
        let key_secret = key.rsplit('.').next().expect("secret part");
        for plain in [
            t.admin_email.as_str(),
            user_email,
            key_name,
            key_secret,
            totp_secret.as_str(),
            t.admin_password.as_str(),
        ] {
            assert!(
                !dump.contains(plain),
                "{isolation:?}: {plain:?} in plain text in pg_dump"
            );
        }
    }
}
