//! A minimal HTTP probe over a TCP socket: the apply step's `/ready` check and the
//! container's `scf healthcheck` (the distroless image has no shell or curl). No client
//! library: one GET, one status line.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The status code of `GET http://ADDRESS PATH`, within `timeout` per step.
pub fn status(address: &str, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let addr = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let ok = head.starts_with(b"HTTP/1.");
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|_| ok)
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

/// Waits until `GET PATH` answers 2xx, or says why not after `timeout`.
pub fn wait_ok(address: &str, path: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match status(address, path, Duration::from_secs(2)) {
            Ok(code) if (200..300).contains(&code) => return Ok(()),
            Ok(code) => format!("HTTP {code}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "http://{address}{path} did not answer 2xx within {timeout:?}: {last}"
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
            status(&address, "/health", Duration::from_secs(2)).unwrap(),
            200
        );
        assert_eq!(
            status(&address, "/ready", Duration::from_secs(2)).unwrap(),
            503
        );
        server.join().unwrap();
        assert!(
            wait_ok(&address, "/ready", Duration::ZERO).is_err(),
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
