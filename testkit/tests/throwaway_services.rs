//! Forces the throwaway fallback of the shared servers (`SCF_TEST_*_URL=spawn`) in a child
//! process, uses them there, then checks they died with that process.
//!
//! A plain `main` (harness = false): the environment must be set before the first use of
//! the shared servers, and the servers' lifetime is the child process's.

use std::net::TcpStream;
use std::process::{Command, ExitCode};
use std::thread::sleep;
use std::time::{Duration, Instant};

use scf_testkit::services::{postgres, psql, redis, redis_cli};

const CHILD: &str = "SCF_TESTKIT_THROWAWAY_CHILD";

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        child();
        return ExitCode::SUCCESS;
    }
    match parent() {
        Ok(()) => {
            println!("test throwaway_shared_servers_work_and_die_with_their_process ... ok");
            println!("1 passed, 0 failed");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("test throwaway_shared_servers_work_and_die_with_their_process ... FAILED");
            println!("{message}");
            println!("0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}

/// Uses both shared servers and prints their ports for the parent.
fn child() {
    let pg = postgres();
    let db = pg.fresh_database("throwaway");
    psql(db.url(), "CREATE TABLE t AS SELECT 7 AS x").expect("create table");
    let answer = psql(db.url(), "SELECT x FROM t").expect("select");
    let url = redis().url();
    redis_cli(&url, ["SET", "k", "v"]).expect("set");
    let value = redis_cli(&url, ["GET", "k"]).expect("get");
    println!(
        "pg_port={} redis_port={} answer={} value={}",
        pg.port(),
        redis().port(),
        answer.trim(),
        value.trim()
    );
}

fn parent() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let output = Command::new(exe)
        .env(CHILD, "1")
        .env("SCF_TEST_PG_URL", "spawn")
        .env("SCF_TEST_REDIS_URL", "spawn")
        .output()
        .map_err(|err| err.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "child failed:\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let field = |name: &str| {
        stdout
            .split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")).map(str::to_owned))
            .ok_or_else(|| format!("child printed no {name}: {stdout}"))
    };
    let (pg_port, redis_port) = (field("pg_port")?, field("redis_port")?);
    if field("answer")? != "7" || field("value")? != "v" {
        return Err(format!("child saw wrong data: {stdout}"));
    }
    if pg_port == "5432" || redis_port == "6379" {
        return Err(format!(
            "child used the local servers, not throwaway ones: {stdout}"
        ));
    }
    for port in [pg_port, redis_port] {
        let port: u16 = port.parse().map_err(|_| format!("bad port in {stdout}"))?;
        wait_closed(port)?;
    }
    Ok(())
}

/// The watchdogs stop the servers right after the child exits; allow them a few seconds.
fn wait_closed(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        if Instant::now() > deadline {
            return Err(format!(
                "a server on port {port} outlived the process that started it"
            ));
        }
        sleep(Duration::from_millis(50));
    }
    Ok(())
}
