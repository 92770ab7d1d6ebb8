//! The fleet as each host renders it: `Model::on_host` projects the deployment onto one
//! host of `[[hosts]]`, and `compile::host_artifacts` renders exactly that host's files.
//! (The files themselves pass the validators in each target's own test.)

use scf::compile::{build_artifacts, host_artifacts, load};
use scf::model::{Model, Peers, Role};
use scf::targets::packages;
use std::path::Path;

fn example(example: &str) -> Model {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(example);
    match load(&file) {
        Ok(compiled) => compiled.model,
        Err(invalid) => panic!("{example} is invalid: {:?}", invalid.diags),
    }
}

#[test]
fn a_local_host_holds_every_role_and_a_fleet_as_a_whole_none() {
    let local = example("examples/framework.toml");
    assert_eq!(local.roles(), Role::ALL);
    assert!(local.fleet().is_none() && local.on_host("app-1").is_none());
    let fleet = example("examples/fleet.toml");
    assert!(fleet.roles().is_empty() && !fleet.hosted());
    assert_eq!(fleet.fleet().map(<[_]>::len), Some(4));
    assert!(fleet.on_host("nowhere").is_none());
}

#[test]
fn a_host_sees_the_servers_it_does_not_run_as_remote_ones_at_their_hosts() {
    let fleet = example("examples/fleet.toml");
    let app = fleet.on_host("app-1").expect("app-1");
    assert_eq!(app.roles(), [Role::App]);
    assert!(!app.database.managed && !app.redis.managed);
    assert_eq!(app.database.host.as_str(), "10.0.1.20");
    assert_eq!(app.redis.host.as_str(), "10.0.1.20");
    assert_eq!(
        app.server.listen.to_string(),
        "10.0.1.11:5000",
        "the proxy is on another host"
    );
    assert!(!app.runs_backups() && app.has_account());

    let data = fleet.on_host("data").expect("data");
    assert!(data.database.managed && data.redis.managed);
    assert_eq!(data.database.host, fleet.database.host, "its own server");
    assert!(data.runs_backups() && data.has_account() && !data.serves(Role::App));

    let edge = fleet.on_host("edge").expect("edge");
    assert!(!edge.has_account() && edge.serves(Role::Proxy));
    let again = edge.on_host("data").expect("data, from edge's projection");
    assert!(
        again.database.managed && again.redis.managed,
        "a projection starts from the fleet, not from another host's view"
    );
    assert_eq!(
        fleet.peers(),
        Peers {
            app: vec![[10, 0, 1, 11].into(), [10, 0, 1, 12].into()],
            proxy: vec![[10, 0, 1, 10].into()],
            database: Some([10, 0, 1, 20].into()),
            cache: Some([10, 0, 1, 20].into()),
            monitoring: Some([10, 0, 1, 10].into()),
        }
    );
}

#[test]
fn an_app_host_with_every_proxy_on_it_keeps_the_configured_listen_address() {
    let fleet = example("examples/fleet.toml");
    let mut entry = fleet.config.hosts[0].clone();
    let listen = fleet.server.listen;
    let alone = Peers {
        proxy: vec![entry.internal_ip().expect("an address")],
        ..Peers::default()
    };
    assert_eq!(alone.app_listen(&entry, listen), listen.0);
    entry.roles.push(Role::Proxy);
    assert_eq!(
        fleet.peers().app_listen(&entry, listen).to_string(),
        "10.0.1.11:5000",
        "another proxy reaches it"
    );
}

fn fleet() -> Model {
    example("examples/fleet.toml")
}

/// The host paths of host `name`'s artifacts.
fn files(model: &Model, name: &str) -> Vec<String> {
    host_artifacts(model, name)
        .expect("renders")
        .iter()
        .filter_map(|a| a.host_path().map(String::from))
        .collect()
}

#[test]
fn each_host_gets_exactly_what_its_roles_need() {
    let m = fleet();
    let has = |name: &str, path: &str| files(&m, name).iter().any(|f| f == path);
    let unit = "/etc/systemd/system/ai-supply-chain.service";
    let site = "/etc/nginx/sites-available/ai-supply-chain";
    let pg = "/etc/postgresql/15/main/conf.d/ai-supply-chain.conf";
    let redis = "/etc/redis/redis.conf";
    let prom = "/etc/prometheus/prometheus.yml";
    let backup = "/etc/systemd/system/ai-supply-chain-backup.timer";
    let env = "/etc/ai-supply-chain/ai-supply-chain.env";
    let node = "/etc/default/prometheus-node-exporter";
    let pg_exporter = "/etc/default/prometheus-postgres-exporter";
    let firewall = "/usr/local/lib/ai-supply-chain/firewall.sh";
    for (host, wanted) in [
        ("app-1", vec![unit, env, node, firewall]),
        ("edge", vec![site, prom, node, firewall]),
        (
            "data",
            vec![pg, redis, backup, env, node, pg_exporter, firewall],
        ),
    ] {
        for path in [
            unit,
            site,
            pg,
            redis,
            prom,
            backup,
            env,
            node,
            pg_exporter,
            firewall,
        ] {
            assert_eq!(has(host, path), wanted.contains(&path), "{host}: {path}");
        }
    }
    assert_eq!(files(&m, "app-1"), files(&m, "app-2"), "the same files");
    assert!(
        scf::compile::artifacts(&m)
            .expect("renders")
            .iter()
            .all(|a| a.host_path().is_none()),
        "the fleet as a whole renders no host's files"
    );
}

#[test]
fn each_host_installs_the_packages_of_its_roles_only() {
    let m = fleet();
    let names = |host: &str| -> Vec<&'static str> {
        let on_host = m.on_host(host).expect("a host");
        packages(&on_host).iter().map(|p| p.name).collect()
    };
    let app = names("app-1");
    assert!(
        !app.contains(&"nginx") && !app.contains(&"postgresql-15"),
        "{app:?}"
    );
    assert!(app.contains(&"prometheus-node-exporter"), "{app:?}");
    let edge = names("edge");
    assert!(
        edge.contains(&"nginx") && edge.contains(&"prometheus"),
        "{edge:?}"
    );
    let data = names("data");
    assert!(
        data.contains(&"postgresql-15") && data.contains(&"redis-server"),
        "{data:?}"
    );
    assert!(!data.contains(&"prometheus"), "{data:?}");
}

#[test]
fn an_unknown_host_is_named_with_the_hosts_there_are() {
    let err = host_artifacts(&fleet(), "app-3").expect_err("no such host");
    assert_eq!(
        err.to_string(),
        "there is no host `app-3` in [[hosts]]: the hosts are `app-1`, `app-2`, `edge`, `data`"
    );
}

#[test]
fn a_fleet_build_writes_each_host_under_its_name() {
    let built = build_artifacts(&fleet()).expect("renders");
    let unit = "hosts/app-2/host/etc/systemd/system/ai-supply-chain.service";
    assert!(built.iter().any(|a| a.path == unit));
    assert!(built.iter().all(|a| a.host_path().is_none()));
    assert!(built.windows(2).all(|w| w[0].path < w[1].path), "sorted");
}

/// The text of host `name`'s file installed at `path`.
fn text(model: &Model, name: &str, path: &str) -> String {
    let artifacts = host_artifacts(model, name).expect("renders");
    let a = artifacts
        .iter()
        .find(|a| a.host_path() == Some(path))
        .unwrap_or_else(|| panic!("{name} has no {path}"));
    String::from_utf8(a.bytes().to_vec()).expect("text")
}

#[test]
fn what_crosses_hosts_names_the_peers_by_internal_address() {
    let m = fleet();
    let env = text(&m, "app-1", "/etc/ai-supply-chain/ai-supply-chain.env");
    for line in [
        "LISTEN_ADDR=10.0.1.11:5000",
        "DATABASE_URL=postgresql://framework@10.0.1.20:5432/ai_supply_chain",
        "REDIS_URL=redis://10.0.1.20:6379/0",
        "METRICS_LISTEN=10.0.1.11:9464",
        "TRUSTED_PROXIES=127.0.0.1,::1,10.0.1.10",
    ] {
        assert!(env.lines().any(|l| l == line), "{line}\n{env}");
    }
    let unit = text(&m, "app-1", "/etc/systemd/system/ai-supply-chain.service");
    assert!(
        unit.contains("\nIPAddressAllow=localhost 10.0.1.11 10.0.1.20 10.0.1.10 10.0.0.0/8\n"),
        "{unit}"
    );
    let redis = text(&m, "data", "/etc/redis/redis.conf");
    assert!(
        redis.contains("\nbind 127.0.0.1 10.0.1.20 -::1\n"),
        "{redis}"
    );
    let pg = text(
        &m,
        "data",
        "/etc/postgresql/15/main/conf.d/ai-supply-chain.conf",
    );
    assert!(
        pg.contains("\nlisten_addresses = 'localhost,10.0.1.20'\n"),
        "{pg}"
    );
}

#[test]
fn ufw_opens_each_port_to_exactly_the_hosts_that_use_it() {
    let m = fleet();
    let rules = |host: &str| -> Vec<String> {
        text(&m, host, "/usr/local/lib/ai-supply-chain/firewall.sh")
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("'allow") || l.starts_with("'limit"))
            .map(|l| l.trim_matches('\'').to_string())
            .collect()
    };
    assert_eq!(
        rules("data"),
        [
            "limit 22/tcp",
            "allow proto tcp from 10.0.1.11 to any port 5432",
            "allow proto tcp from 10.0.1.12 to any port 5432",
            "allow proto tcp from 10.0.1.11 to any port 6379",
            "allow proto tcp from 10.0.1.12 to any port 6379",
            "allow proto tcp from 10.0.1.10 to any port 9187",
            "allow proto tcp from 10.0.1.10 to any port 9121",
            "allow proto tcp from 10.0.1.10 to any port 9100",
        ]
    );
    assert_eq!(
        rules("app-2"),
        [
            "limit 22/tcp",
            "allow proto tcp from 10.0.1.10 to any port 5000",
            "allow proto tcp from 10.0.1.10 to any port 9464",
            "allow proto tcp from 10.0.1.10 to any port 9100",
        ]
    );
    assert_eq!(
        rules("edge"),
        ["limit 22/tcp", "allow 80/tcp", "allow 443/tcp"]
    );
}
