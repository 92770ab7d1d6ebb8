//! Redis: a generated `redis.conf` must start a real redis-server (paths to host dirs are
//! commented out first, see [`RedisServer::start`]), refuse commands without the password
//! (NOAUTH) and serve SET/GET with it. The password only travels in `REDISCLI_AUTH` and is
//! masked in any output.

use std::path::Path;

use super::{Findings, Ran, run, tool};
use crate::services::RedisServer;

/// Starts a [`RedisServer`] with `config`, then checks `password` is enforced and works.
/// The running server is returned for further checks.
pub fn check_config(config: &Path, password: &str) -> Result<RedisServer, Findings> {
    if password.is_empty() {
        return Err(Findings::Harness(
            "redis check_config needs the password the config sets".to_owned(),
        ));
    }
    let server = RedisServer::start(Some(config))?;
    let anonymous = cli(&server, None, &["PING"])?;
    if !anonymous.output.contains("NOAUTH") {
        return Err(anonymous.rejected("answered without the password".to_owned()));
    }
    let key = "scf-testkit:probe";
    let set = cli(&server, Some(password), &["SET", key, "ok"])?;
    if set.output.trim() != "OK" {
        return Err(masked(set, password, "SET with the password failed"));
    }
    let get = cli(&server, Some(password), &["GET", key])?;
    if get.output.trim() != "ok" {
        return Err(masked(get, password, "GET with the password failed"));
    }
    Ok(server)
}

fn cli(server: &RedisServer, password: Option<&str>, args: &[&str]) -> Result<Ran, Findings> {
    let mut cmd = tool("redis-cli")?;
    cmd.args(["-h", "127.0.0.1", "-p", &server.port().to_string()])
        .args(args);
    match password {
        Some(password) => cmd.env("REDISCLI_AUTH", password),
        None => cmd.env_remove("REDISCLI_AUTH"),
    };
    run(&mut cmd)
}

fn masked(mut ran: Ran, password: &str, status: &str) -> Findings {
    ran.output = ran.output.replace(password, "***");
    ran.rejected(status.to_owned())
}
