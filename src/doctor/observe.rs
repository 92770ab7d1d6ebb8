//! How doctor looks at the host: a read-only command's output, a file that may be absent,
//! and a GET on loopback. Nothing here changes the host.

use std::path::Path;
use std::time::Duration;

/// How long one HTTP question on loopback may take per step.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// What `argv` prints on stdout, or why it could not run or failed (its stderr).
pub fn command(argv: &[&str]) -> Result<String, String> {
    let shown = argv.join(" ");
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .env("SYSTEMD_PAGER", "")
        .output()
        .map_err(|e| format!("`{shown}` could not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            first_line(if stderr.trim().is_empty() {
                &stdout
            } else {
                &stderr
            })
        ))
    }
}

/// The text of `path`, `None` when it does not exist.
pub fn read(path: &str) -> Result<Option<String>, String> {
    crate::host::fsio::read_if_present(Path::new(path))
        .map(|bytes| bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
        .map_err(|e| format!("cannot read {path}: {e}"))
}

/// `GET PATH` of a plain-HTTP server on loopback at `address`: its status and body.
pub fn get(address: &str, path: &str) -> Result<(u16, String), String> {
    crate::probe::get(&crate::probe::Endpoint::http(address), path, HTTP_TIMEOUT)
        .map_err(|e| format!("GET http://{address}{path}: {e}"))
}

/// The first non-empty line of `text`, trimmed: what an error message quotes.
pub fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}
