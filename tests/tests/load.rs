//! Load, with the nodes and the clients in separate processes (`liquid-mesh` and
//! `liquid-mesh-load`), as they would run: one node holds 10,000 idle Socket.IO connections
//! through a heartbeat while a real pairing still completes on it; a line of three nodes relays a
//! minute of signals for 1,000 linked pairs with nothing lost, duplicated, reordered or misrouted.
//! The figures they print (memory per connection, CPU per message, latency) are reported in
//! RELIABILITY.md; the assertions are about delivery, never about speed.

use std::process::Stdio;
use std::time::Duration;

use liquid_mesh_tests::Endpoint;
use liquid_mesh_tests::pairing::pair;
use liquid_mesh_tests::process::{ProcessNode, free_port};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// The load tests measure their nodes; they must not share the machine with each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Signals per second from each side of each pair in the relay test.
const RATE: f64 = 0.5;
const PAIRS: usize = 1000;
const STREAM_SECS: u64 = 60;
const CONNECTIONS: usize = 10_000;

/// Limits are for hostile clients; this load comes from one loopback address.
const UNLIMITED: &[(&str, &str)] = &[("FIDO_RATE_PER_MINUTE", "0"), ("LINK_RATE_PER_MINUTE", "0")];

fn load_generator() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_liquid-mesh-load"));
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

async fn spawn_node(dir: &std::path::Path, bootstrap: Option<&str>) -> ProcessNode {
    ProcessNode::spawn_with(free_port(), dir, free_port(), bootstrap, UNLIMITED).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_holds_ten_thousand_idle_connections() {
    let _alone = ONE_AT_A_TIME.lock().await;
    liquid_mesh::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let node = spawn_node(dir.path(), None).await;
    let before = node.usage();

    let mut load = load_generator()
        .args(["idle", "--url", &node.url(""), "--count"])
        .arg(CONNECTIONS.to_string())
        .spawn()
        .expect("liquid-mesh-load starts");
    let mut lines = BufReader::new(load.stdout.take().unwrap()).lines();
    let opened: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(opened["connected"], CONNECTIONS, "{opened}");
    let health = node.health().await.unwrap();
    assert_eq!(health["bridge"]["sockets"], CONNECTIONS, "{health}");
    let held = node.usage();

    // With ten thousand sockets open, a website and a wallet still pair on the node.
    pair(&node, &node, json!("beside-ten-thousand"), false).await;
    // Past one heartbeat (25 s ping interval, 20 s timeout): the node keeps every connection.
    tokio::time::sleep(Duration::from_secs(50)).await;
    let mut stdin = load.stdin.take().unwrap();
    stdin.write_all(b"done\n").await.unwrap();
    drop(stdin);
    let closed: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(closed["stillOpen"], CONNECTIONS, "{closed}");
    let after = node.usage();

    let per_connection = (held.rss_kib as f64 - before.rss_kib as f64) / CONNECTIONS as f64;
    println!(
        "{CONNECTIONS} idle connections in {:.1} s: node RSS {} KiB -> {} KiB ({per_connection:.1} KiB \
         per connection); node CPU over the 50 s hold {:.2} s",
        opened["connect_secs"].as_f64().unwrap(),
        before.rss_kib,
        held.rss_kib,
        after.cpu_seconds - held.cpu_seconds,
    );
    load.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_relay_a_minute_of_signals_for_a_thousand_pairs() {
    let _alone = ONE_AT_A_TIME.lock().await;
    liquid_mesh::tls::install_crypto_provider();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // A line: the website's node and the wallet's node reach each other only through B.
    let a = spawn_node(dirs[0].path(), None).await;
    let b = spawn_node(dirs[1].path(), Some(&a.bootstrap_addr().await)).await;
    let c = spawn_node(dirs[2].path(), Some(&b.bootstrap_addr().await)).await;
    b.wait_for_peers(2).await;
    a.wait_for_peers(1).await;
    c.wait_for_peers(1).await;
    let nodes = [&a, &b, &c];
    let before: Vec<_> = nodes.iter().map(|n| n.usage()).collect();

    let output = load_generator()
        .args(["relay", "--website", &a.url(""), "--wallet", &c.url("")])
        .args(["--pairs", &PAIRS.to_string(), "--rate", &RATE.to_string()])
        .args(["--duration-secs", &STREAM_SECS.to_string()])
        .args([
            "--server-pids",
            &format!("{},{},{}", a.pid(), b.pid(), c.pid()),
        ])
        .output()
        .await
        .expect("liquid-mesh-load runs");
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    println!("{report:#}");
    let sent = report["sent"].as_u64().unwrap();
    assert_eq!(
        sent,
        (2.0 * PAIRS as f64 * RATE * STREAM_SECS as f64) as u64
    );
    assert_eq!(report["received"], sent, "{report}");
    for count in ["lost", "duplicated", "reordered", "misrouted"] {
        assert_eq!(report[count], 0, "{count}: {report}");
    }
    println!(
        "three nodes' CPU over the stream: {:.1} s, {:.0} µs per relayed message",
        report["server_cpu_seconds"].as_f64().unwrap(),
        report["server_cpu_seconds"].as_f64().unwrap() * 1e6 / sent as f64
    );
    for (name, (node, before)) in ["A", "B", "C"].iter().zip(nodes.iter().zip(&before)) {
        let now = node.usage();
        println!(
            "node {name}: CPU {:.1} s over the whole run (setup included), RSS {} KiB",
            now.cpu_seconds - before.cpu_seconds,
            now.rss_kib
        );
    }
}
