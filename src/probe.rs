//! A minimal HTTP(S) probe over a TCP socket: the apply step's `/ready` check (through the
//! host's nginx over TLS, trusting only the certificate it serves) and the container's
//! `scf healthcheck` (the distroless image has no shell or curl), and `scf doctor`'s questions
//! to Prometheus's HTTP API on loopback. No HTTP client library: one HTTP/1.0 GET, its status
//! line, and for [`get`] the body up to the closed connection.

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a probe sends its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub address: String,
    /// Over TLS, when set: the server name to ask for (SNI and `Host`) and check.
    pub tls: Option<Tls>,
}

/// How a probe speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The name the certificate must be valid for, e.g. `api.example.com`.
    pub domain: String,
    /// The PEM chain the server was given: its first certificate is the only one accepted.
    pub trust: PathBuf,
}

impl Endpoint {
    /// Plain HTTP to `address`.
    pub fn http(address: &str) -> Self {
        Self {
            address: address.to_string(),
            tls: None,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tls {
            None => write!(f, "http://{}", self.address),
            Some(tls) => write!(f, "https://{} (at {})", tls.domain, self.address),
        }
    }
}

/// The status code of `GET PATH` at `endpoint`, within `timeout` per step.
pub fn status(endpoint: &Endpoint, path: &str, timeout: Duration) -> std::io::Result<u16> {
    request(endpoint, path, timeout, Reading::Status).map(|(code, _)| code)
}

/// The status code and body of `GET PATH` at `endpoint`, within `timeout` per step: for a
/// small JSON answer (Prometheus's HTTP API), read to the end of the connection.
pub fn get(endpoint: &Endpoint, path: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    request(endpoint, path, timeout, Reading::Whole)
}

/// How much of an answer a request reads.
#[derive(Clone, Copy)]
enum Reading {
    /// The status line only.
    Status,
    /// All of it, up to [`MAX_BODY`].
    Whole,
}

/// The most a probe reads of an answer.
const MAX_BODY: u64 = 4 << 20;

fn request(
    endpoint: &Endpoint,
    path: &str,
    timeout: Duration,
    reading: Reading,
) -> std::io::Result<(u16, String)> {
    let addr = endpoint
        .address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    match &endpoint.tls {
        None => exchange(stream, &endpoint.address, path, reading),
        Some(tls) => {
            let connection = rustls::ClientConnection::new(
                client_config(&tls.trust)?,
                server_name(&tls.domain)?,
            )
            .map_err(std::io::Error::other)?;
            exchange(
                rustls::StreamOwned::new(connection, stream),
                &tls.domain,
                path,
                reading,
            )
        }
    }
}

/// One `GET PATH` with `Host: host`: the status of the answer, and its body if asked.
fn exchange(
    mut stream: impl Read + Write,
    host: &str,
    path: &str,
    reading: Reading,
) -> std::io::Result<(u16, String)> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let ok = head.starts_with(b"HTTP/1.");
    let code = std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|_| ok)
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))?;
    let body = match reading {
        Reading::Status => String::new(),
        Reading::Whole => {
            let mut rest = Vec::new();
            (&mut stream).take(MAX_BODY).read_to_end(&mut rest)?;
            let text = String::from_utf8_lossy(&rest);
            text.split_once("\r\n\r\n")
                .map(|(_, body)| body.to_string())
                .unwrap_or_default()
        }
    };
    Ok((code, body))
}

fn server_name(domain: &str) -> std::io::Result<ServerName<'static>> {
    ServerName::try_from(domain.to_string()).map_err(std::io::Error::other)
}

/// A client that accepts exactly the leaf certificate of `trust` (the first one of the
/// chain nginx is given): the probe checks that nginx serves what was deployed, and a
/// self-signed certificate (a CA certificate to webpki) probes as well as a CA-issued one.
fn client_config(trust: &std::path::Path) -> std::io::Result<Arc<rustls::ClientConfig>> {
    let invalid = |e: rustls::pki_types::pem::Error| {
        std::io::Error::other(format!("read the certificates in {}: {e}", trust.display()))
    };
    let leaf = CertificateDer::pem_file_iter(trust)
        .map_err(invalid)?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("no certificate in {}", trust.display())))?
        .map_err(invalid)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedLeaf {
        leaf,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts a server whose leaf certificate is exactly `leaf` and whose handshake is signed
/// by its key; nothing else.
#[derive(Debug)]
struct PinnedLeaf {
    leaf: CertificateDer<'static>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for PinnedLeaf {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate is not the one deployed in tls.certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Waits until `GET PATH` answers 2xx, or says why not after `timeout`.
pub fn wait_ok(endpoint: &Endpoint, path: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match status(endpoint, path, Duration::from_secs(2)) {
            Ok(code) if (200..300).contains(&code) => return Ok(()),
            Ok(code) => format!("HTTP {code}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "{endpoint}{path} did not answer 2xx within {timeout:?}: {last}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Splits `http://HOST:PORT/PATH` into `("HOST:PORT", "/PATH")`.
pub fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (address, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    (!address.is_empty()).then_some((address, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_a_real_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            for answer in [
                "HTTP/1.1 200 OK\r\n\r\n",
                "HTTP/1.1 503 Unavailable\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":\"success\"}",
            ] {
                let (mut s, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 256];
                while !request.ends_with(b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(answer.as_bytes());
            }
        });
        assert_eq!(
            status(&Endpoint::http(&address), "/health", Duration::from_secs(2)).unwrap(),
            200
        );
        assert_eq!(
            status(&Endpoint::http(&address), "/ready", Duration::from_secs(2)).unwrap(),
            503
        );
        assert_eq!(
            get(
                &Endpoint::http(&address),
                "/api/v1/rules",
                Duration::from_secs(2)
            )
            .unwrap(),
            (200, r#"{"status":"success"}"#.to_string())
        );
        server.join().unwrap();
        assert!(
            wait_ok(&Endpoint::http(&address), "/ready", Duration::ZERO).is_err(),
            "nothing listens any more"
        );
        assert_eq!(
            split_url("http://127.0.0.1:5000/health"),
            Some(("127.0.0.1:5000", "/health"))
        );
        assert_eq!(split_url("http://h:1"), Some(("h:1", "/")));
        assert_eq!(split_url("https://h/x"), None);
    }
}
