//! The Redis target judged by a real redis-server: every scenario's redis.conf, its password
//! marker filled in as `scf apply` fills it, starts a server that answers NOAUTH without the
//! password, serves SET/GET with it, refuses the disabled commands and logs no warning about
//! its configuration. Hostile values are rejected by `scf validate` or arrive inert.

mod built;
mod support;

use built::{Build, Outcome};
use scf::config::values::SecretRef;
use scf_testkit::services::RedisServer;
use scf_testkit::validators::redis::check_config;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;

const CONF: &str = "/etc/redis/redis.conf";

/// Warnings redis-server logs about the machine, never about its configuration.
const HOST_WARNINGS: &[&str] = &[
    "Memory overcommit must be enabled",
    "The TCP backlog setting",
    "Transparent Huge Pages",
];

/// A fresh password with a comment sign and shell syntax, which the config must hold
/// quoted. (Quotes, backslashes and whitespace apply refuses: see `scf::secret::fill`.)
fn random_password() -> String {
    let a = RandomState::new().hash_one(std::process::id());
    let b = RandomState::new().hash_one(a);
    format!("#{a:016x};${b:016x}&x")
}

/// The build's redis.conf with the marker filled in from a `file:` reference holding
/// `password`, through the same `scf::secret::fill` apply uses.
fn filled(b: &Build, dir: &Path, password: &str) -> std::path::PathBuf {
    let secret_file = dir.join("redis-password");
    std::fs::write(&secret_file, format!("{password}\n")).expect("write secret");
    let reference: SecretRef = format!("file:{}", secret_file.display())
        .parse()
        .expect("a file reference");
    let text = b.read(CONF);
    assert_eq!(
        scf::secret::references(&text).len(),
        1,
        "{}: one marker",
        b.name
    );
    let conf = scf::secret::fill(&text, |_| scf::secret::resolve(&reference)).expect("fill");
    let path = dir.join("redis.conf");
    std::fs::write(&path, conf).expect("write conf");
    path
}

/// redis-cli with the password, as the runtime would authenticate.
fn cli(server: &RedisServer, password: &str, args: &[&str]) -> String {
    let out = scf_testkit::tools::command("redis-cli")
        .expect("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &server.port().to_string()])
        .args(args)
        .env("REDISCLI_AUTH", password)
        .output()
        .expect("redis-cli runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn config_warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" # ") && l.contains("WARNING"))
        .filter(|l| !HOST_WARNINGS.iter().any(|w| l.contains(w)))
        .collect()
}

/// Starts the filled config and checks the password is enforced; returns the server.
fn start(b: &Build) -> (RedisServer, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let password = random_password();
    let conf = filled(b, dir.path(), &password);
    let server = check_config(&conf, &password).unwrap_or_else(|f| panic!("{}: {f}", b.name));
    assert_eq!(
        config_warnings(&server.log()),
        Vec::<&str>::new(),
        "{}",
        b.name
    );
    (server, password, dir)
}

#[test]
fn every_scenario_starts_redis_with_the_password_and_no_dangerous_commands() {
    let with_redis = built::having(
        CONF,
        &[
            "example",
            "profile-dev",
            "profile-single-tenant",
            "profile-multi-tenant",
            "fleet-data",
        ],
        "every host scenario, and not Kubernetes, runs Redis",
    );
    for b in &with_redis {
        let text = b.read(CONF);
        assert!(
            text.contains("requirepass \"@@scf-secret:env:SCF_REDIS_PASSWORD@@\""),
            "{}: only the marker, never a value",
            b.name
        );
        let (server, password, _dir) = start(b);
        for command in scf::targets::redis::DISABLED_COMMANDS {
            let reply = cli(&server, &password, &[command]);
            assert!(
                reply.contains("unknown command"),
                "{}: {command}: {reply}",
                b.name
            );
        }
        let debug = cli(&server, &password, &["DEBUG", "SLEEP", "0"]);
        assert!(debug.contains("not allowed"), "{debug}");
        let info = cli(&server, &password, &["INFO", "memory"]);
        let (maxmemory, save) = match b.name.as_str() {
            "profile-dev" => (268_435_456u64, "\nsave \"\"\n"),
            "profile-multi-tenant" => (8_589_934_592, "\nsave 900 1\n"),
            _ => (4_294_967_296, "\nsave 900 1\n"),
        };
        assert!(text.contains(save), "{}: {save:?}", b.name);
        assert!(
            info.contains(&format!("maxmemory:{maxmemory}\r\n")),
            "{}: {info}",
            b.name
        );
        assert!(info.contains("maxmemory_policy:volatile-lru"), "{info}");
        assert!(
            !server.log().contains(&password),
            "the log never holds the password"
        );
    }
}

/// Every framework.toml field that reaches redis.conf, with every hostile value: refused
/// by `scf validate`, or built into a config redis-server accepts.
#[test]
fn hostile_values_are_rejected_or_inert() {
    let fields = [
        "project.name",
        "redis.host",
        "redis.maxmemory",
        "redis.maxmemory_policy",
        "redis.password",
        "redis.save",
    ];
    for field in fields {
        for value in built::HOSTILE {
            let hostile = match field {
                "redis.save" => vec![toml::Value::from(format!("900 1{value}"))].into(),
                "redis.password" => format!("env:SCF_{value}").into(),
                "redis.maxmemory" => format!("4gb{value}").into(),
                _ => toml::Value::from(*value),
            };
            let mut table = built::example();
            built::set(&mut table, field, hostile);
            let name = format!("{field} = {value:?}");
            match built::outcome(&name, &table) {
                Outcome::Rejected(message) => {
                    assert!(message.contains("error"), "{name}: {message}")
                }
                Outcome::Built(b) => drop(start(&b)),
            }
        }
    }
    let mut table = built::example();
    built::set(&mut table, "redis.host", "10.1.2.3".into());
    let Outcome::Built(b) = built::outcome("an internal address", &table) else {
        panic!("an IPv4 address is a valid redis.host");
    };
    assert!(b.read(CONF).contains("\nbind 127.0.0.1 10.1.2.3 -::1\n"));
}
