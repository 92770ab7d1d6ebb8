//! The `[tls]` rules: production serves TLS, and a host gets its certificate exactly one
//! way, either the files `certificate` and `key` name or `acme`, which issues it through
//! the one proxy host's nginx.

use super::findings::Findings;
use crate::config::{Config, Environment, Role};

/// Runs the TLS checks.
pub(super) fn check(c: &Config, f: &mut Findings) {
    let Some(tls) = c.tls.as_ref() else {
        return required(c, false, false, f);
    };
    let files = tls.certificate.is_some() && tls.key.is_some();
    match (&tls.certificate, &tls.key) {
        (Some(_), None) => f.error(
            "scf::tls-pair",
            "tls.certificate",
            "tls.certificate is set without tls.key",
            "set tls.key to the certificate's private key, or remove tls.certificate (and use tls.acme to have scf obtain one)",
        ),
        (None, Some(_)) => f.error(
            "scf::tls-pair",
            "tls.key",
            "tls.key is set without tls.certificate",
            "set tls.certificate to the PEM certificate chain, or remove tls.key (and use tls.acme to have scf obtain one)",
        ),
        _ => {}
    }
    if let Some(acme) = &tls.acme {
        if tls.certificate.is_some() || tls.key.is_some() {
            f.error(
                "scf::tls-two-ways",
                "tls.acme",
                "[tls] sets both acme and certificate/key: the host's certificate comes one way",
                "remove tls.acme to serve your own files, or remove tls.certificate and tls.key to have scf obtain them from the ACME server",
            );
        }
        if !acme.directory.as_str().starts_with("https://") {
            f.error(
                "scf::acme-directory",
                "tls.acme.directory",
                format!("the ACME directory `{}` is not https", acme.directory),
                "write the directory's https:// URL, such as \"https://acme-v02.api.letsencrypt.org/directory\"",
            );
        }
        let hidden = ["/home/", "/root/", "/run/user/"];
        if let Some(ca) = &acme.ca_certificate
            && hidden.iter().any(|h| ca.as_str().starts_with(h))
        {
            f.error(
                "scf::acme-ca-hidden",
                "tls.acme.ca_certificate",
                format!("the renewal unit cannot read `{ca}`: its sandbox hides /home, /root and /run/user (ProtectHome=)"),
                "put the CA certificate elsewhere, such as /usr/local/share/ca-certificates/acme-ca.pem",
            );
        }
        if c.host.is_none() {
            f.error(
                "scf::acme-without-host",
                "tls.acme",
                "tls.acme obtains the certificate on a host, and there is no [host]",
                "add [host], or on Kubernetes remove tls.acme and set tls.cluster_issuer",
            );
        }
        let proxies = c.hosts.iter().filter(|h| h.holds(Role::Proxy)).count();
        if proxies > 1 {
            f.error(
                "scf::acme-proxies",
                "tls.acme",
                format!("tls.acme answers the HTTP-01 challenge on one proxy host, and [[hosts]] has {proxies}"),
                "give the proxy role to one host, or issue the certificate yourself and set tls.certificate and tls.key",
            );
        }
    }
    required(
        c,
        files || tls.acme.is_some(),
        tls.cluster_issuer.is_some(),
        f,
    );
}

/// Production needs TLS on each target it deploys to.
fn required(c: &Config, host_tls: bool, issuer: bool, f: &mut Findings) {
    if c.project.environment != Environment::Production {
        return;
    }
    if c.host.is_some() && !host_tls {
        f.error(
            "scf::tls-required",
            "tls",
            "production needs TLS: [tls] has neither certificate and key nor acme",
            "add [tls] with certificate = \"/etc/ssl/NAME/fullchain.pem\" and key = \"/etc/ssl/NAME/privkey.pem\", or acme = { email = \"ops@example.com\", directory = \"https://acme-v02.api.letsencrypt.org/directory\" }, or set project.environment = \"development\"",
        );
    }
    if c.kubernetes.is_some() && !issuer {
        f.error(
            "scf::tls-required",
            "tls",
            "production on Kubernetes needs TLS: tls.cluster_issuer is not set",
            "set tls.cluster_issuer to your cert-manager ClusterIssuer, such as \"letsencrypt-prod\"",
        );
    }
}
