//! The files the compose stack mounts and reads, judged by their own tools: the nginx site
//! by `nginx -t` and gixy, prometheus.yml by promtool, Redis's start-up command by a real
//! redis-server holding a hostile password, and the env files by the secret rules.

use crate::built::{self, env_map, env_vars};
use scf_testkit::validators::{nginx, prometheus};
use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn the_stack_nginx_site_passes_nginx_t_and_gixy() {
    for b in built::all() {
        let site = b.path("container/nginx/ai-supply-chain.conf");
        if let Err(f) = nginx::check(&site, &[]) {
            panic!("{}: {f}", b.name);
        }
        if let Err(f) = nginx::gixy(&site, &[]) {
            panic!("{}: {f}", b.name);
        }
        let text = b.read("container/nginx/ai-supply-chain.conf");
        assert!(
            text.contains("set $framework http://framework:5000;"),
            "{text}"
        );
    }
}

#[test]
fn the_stack_prometheus_config_passes_promtool_and_scrapes_the_framework_metrics_listener() {
    for b in built::all() {
        let config = b.path("container/prometheus/prometheus.yml");
        let enabled = !b
            .read("container/framework.env")
            .contains("PROMETHEUS_ENABLED=false");
        assert_eq!(config.exists(), enabled, "{}", b.name);
        if !enabled {
            continue;
        }
        if let Err(f) = prometheus::check_config(&config) {
            panic!("{}: {f}", b.name);
        }
        let doc = built::yaml(&config);
        assert_eq!(
            doc["scrape_configs"][0]["static_configs"][0]["targets"][0], "framework:9464",
            "{}: the metrics listener, not the API's",
            b.name
        );
        assert!(
            b.read("container/framework.env")
                .contains("METRICS_LISTEN=0.0.0.0:9464\n"),
            "{}: the runtime listens for it across the stack's network",
            b.name
        );
    }
}

/// What Compose does to `$$` before the shell sees the command.
fn unescape_compose(text: &str) -> String {
    text.replace("$$", "$")
}

#[test]
fn the_redis_command_enforces_a_hostile_password_it_never_puts_on_a_command_line() {
    let b = built::all().into_iter().next().expect("the example");
    let compose = built::yaml(&b.path("container/compose.yaml"));
    let command = &compose["services"]["redis"]["command"];
    assert_eq!(command[0], "sh");
    let script = unescape_compose(command[2].as_str().expect("script"));
    let work = tempfile::tempdir().expect("temp dir");
    let conf = work.path().join("requirepass.conf");
    // Run the script as written, minus the image's entrypoint (no `redis` user here), with
    // its config file and the server's port, dir and log moved into the work dir.
    let local = script
        .replace(" && chown redis /tmp/requirepass.conf", "")
        .replace(
            "exec docker-entrypoint.sh redis-server",
            "exec redis-server",
        )
        .replace("/tmp/requirepass.conf", conf.to_str().expect("utf-8"));
    assert_ne!(local, script, "the script has the expected shape: {script}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let password = "p a\"s\\s'$HOME%s;}ü";
    let mut server = Command::new("sh")
        .args([
            "-c",
            &format!(
                "{local} --port {port} --bind 127.0.0.1 --dir {0} --logfile {0}/redis.log",
                work.path().display()
            ),
        ])
        .env("REDIS_PASSWORD", password)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-server starts");
    let ping = |auth: Option<&str>| {
        let mut cli = Command::new("redis-cli");
        cli.args(["-h", "127.0.0.1", "-p", &port.to_string(), "ping"]);
        if let Some(auth) = auth {
            cli.env("REDISCLI_AUTH", auth);
        }
        String::from_utf8_lossy(&cli.output().expect("redis-cli runs").stdout).into_owned()
    };
    let ready = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ping(Some(password)).contains("PONG")
    });
    let denied = ping(None);
    let conf_text = std::fs::read_to_string(&conf).unwrap_or_default();
    let _ = server.kill();
    let mut stderr = String::new();
    if let Some(mut e) = server.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let _ = server.wait();
    assert!(ready, "redis never answered with the password: {stderr}");
    assert!(
        denied.contains("NOAUTH"),
        "no password, no access: {denied}"
    );
    assert!(
        !conf_text.contains(password) && conf_text.starts_with("requirepass \"\\x"),
        "the password is hex-escaped in the file: {conf_text}"
    );
    assert!(!script.contains(password));
}

#[test]
fn env_files_hold_references_only_and_the_framework_gets_the_host_names() {
    for b in built::all() {
        let framework = b.read("container/framework.env");
        for (name, value) in env_vars(&framework) {
            let secret = scf_runtime::vars::SECRETS.contains(&name.as_str());
            assert_eq!(
                secret,
                value.starts_with("@@scf-secret:"),
                "{}: {name}={value}",
                b.name
            );
        }
        let vars = env_map(&framework);
        assert_eq!(vars["LISTEN_ADDR"], "0.0.0.0:5000", "{}", b.name);
        assert!(
            vars["DATABASE_URL"].contains("@postgres:5432/"),
            "{}",
            b.name
        );
        assert_eq!(vars["REDIS_URL"], "redis://redis:6379/0", "{}", b.name);
        for (file, var, reference) in [
            ("postgres.env", "POSTGRES_PASSWORD", "env:SCF_DB_PASSWORD"),
            ("redis.env", "REDIS_PASSWORD", "env:SCF_REDIS_PASSWORD"),
        ] {
            let vars = env_vars(&b.read(&format!("container/{file}")));
            let marker = format!("@@scf-secret:{reference}@@");
            assert_eq!(vars, vec![(var.to_string(), marker)], "{}: {file}", b.name);
        }
        for file in ["framework.env", "postgres.env", "redis.env"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(b.path(&format!("container/{file}")))
                .expect("env file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}: {file}", b.name);
        }
    }
}

#[test]
fn every_file_the_stack_mounts_or_reads_is_in_the_build_output() {
    for b in built::all() {
        let compose = built::yaml(&b.path("container/compose.yaml"));
        let services = compose["services"].as_object().expect("services");
        for (name, service) in services {
            let mounts = service["volumes"].as_array().cloned().unwrap_or_default();
            let binds = mounts.iter().filter(|m| m["type"] == "bind");
            let env_files = service["env_file"].as_array().cloned().unwrap_or_default();
            let sources = binds
                .map(|m| m["source"].as_str().expect("source").to_string())
                .chain(
                    env_files
                        .iter()
                        .map(|f| f.as_str().expect("path").to_string()),
                );
            for source in sources {
                let rel = source.trim_start_matches("./");
                let path = b.out.join("container").join(rel);
                // Files under ../host come from the host targets: once they write the
                // directory, the exact file compose mounts must be among their output.
                let owner_dir = host_owner_dir(&b.out.join("container"), rel);
                if owner_dir.as_ref().is_some_and(|d| !d.exists()) {
                    continue;
                }
                assert!(path.is_file(), "{}: {name} needs {source}", b.name);
            }
        }
    }
}

/// For `../host/etc/prometheus/rules/x.yml`, the host target's dir `host/etc/prometheus`.
fn host_owner_dir(container_dir: &std::path::Path, rel: &str) -> Option<std::path::PathBuf> {
    let rest = rel.strip_prefix("../host/")?;
    let owner: Vec<&str> = rest.split('/').take(2).collect();
    let owner = if owner == ["var", "lib"] {
        rest.split('/').take(3).collect::<Vec<_>>().join("/")
    } else {
        owner.join("/")
    };
    Some(container_dir.join("../host").join(owner))
}
