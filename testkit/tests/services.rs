//! The shared PostgreSQL and Redis (local servers or throwaway ones) and servers of one's own.

use scf_testkit::services::{PgCluster, RedisServer, postgres, psql, redis, redis_cli};
use std::net::TcpStream;

#[test]
fn fresh_databases_are_separate_and_dropped() {
    let pg = postgres();
    let first = pg.fresh_database("Services Test!");
    let second = pg.fresh_database("services-test");
    assert_ne!(first.name(), second.name());
    assert!(
        first.name().starts_with("services_test__"),
        "{}",
        first.name()
    );

    psql(first.url(), "CREATE TABLE t (x int)").expect("create table");
    psql(first.url(), "INSERT INTO t VALUES (42)").expect("insert");
    assert_eq!(
        psql(first.url(), "SELECT x FROM t").expect("select").trim(),
        "42"
    );
    let missing = psql(second.url(), "SELECT x FROM t").expect_err("separate database");
    assert!(missing.to_string().contains("does not exist"), "{missing}");

    let name = first.name().to_owned();
    let exists = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
    assert_eq!(psql(&pg.admin_url(), &exists).expect("count").trim(), "1");
    drop(first);
    assert_eq!(psql(&pg.admin_url(), &exists).expect("count").trim(), "0");
}

#[test]
fn shared_postgres_reports_its_address() {
    let pg = postgres();
    assert!(TcpStream::connect((pg.host(), pg.port())).is_ok());
    assert!(
        pg.admin_url().starts_with("postgresql://postgres@"),
        "{}",
        pg.admin_url()
    );
}

#[test]
fn shared_redis_answers() {
    let url = redis().url();
    let key = format!("scf-testkit:{}", std::process::id());
    redis_cli(&url, ["SET", &key, "v1", "EX", "60"]).expect("set");
    assert_eq!(redis_cli(&url, ["GET", &key]).expect("get").trim(), "v1");
    let err = redis_cli(&url, ["LPUSH", &key, "x"]).expect_err("a list op on a string");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
}

#[test]
fn own_cluster_runs_sql_and_stops_on_drop() {
    let cluster = PgCluster::start(None).expect("start cluster");
    let port = cluster.port();
    assert_eq!(cluster.psql("SHOW fsync").expect("show").trim(), "off");
    assert_eq!(
        cluster.psql("SELECT current_user").expect("user").trim(),
        "postgres"
    );
    drop(cluster);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening on {port}"
    );
}

#[test]
fn own_redis_stops_on_drop() {
    let server = RedisServer::start(None).expect("start redis");
    let port = server.port();
    assert_eq!(
        redis_cli(&server.url(), ["PING"]).expect("ping").trim(),
        "PONG"
    );
    drop(server);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening on {port}"
    );
}
