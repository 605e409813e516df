//! Two `liquid-mesh` processes, the second bootstrapping from the first, driven by the real
//! socket.io-client: a website on one and a wallet on the other pair, in both directions, and
//! again after the first restarts (same peer ID from its data directory, redialled by the second).

use std::time::Duration;

use liquid_mesh_tests::js::JsSocket;
use liquid_mesh_tests::pairing::pair;
use liquid_mesh_tests::process::{ProcessNode, free_port};
use liquid_mesh_tests::{Endpoint, Wallet};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_bootstrap_and_pair_across_them() {
    liquid_mesh::tls::install_crypto_provider();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = ProcessNode::spawn(dir_a.path(), free_port(), None).await;
    let bootstrap = a.bootstrap_addr().await;
    let b = ProcessNode::spawn(dir_b.path(), free_port(), Some(&bootstrap)).await;
    b.wait_for_peers(1).await;
    a.wait_for_peers(1).await;
    pair(&a, &b, json!(uuid::Uuid::new_v4().to_string()), false).await;
    pair(&b, &a, json!(uuid::Uuid::new_v4().to_string()), true).await;

    // A goes down and comes back on its address with its identity; B redials it.
    let (data_dir, p2p_port) = (a.data_dir.clone(), a.p2p_port);
    a.kill().await;
    b.wait_for_peers(0).await;
    let a = ProcessNode::spawn(&data_dir, p2p_port, None).await;
    assert_eq!(
        a.bootstrap_addr().await,
        bootstrap,
        "same peer ID after a restart"
    );
    b.wait_for_peers(1).await;
    pair(&b, &a, json!(uuid::Uuid::new_v4().to_string()), false).await;
}

/// SIGTERM: connected sockets are closed, the process exits 0, and what it stored is there after
/// a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_tells_sockets_flushes_the_store_and_exits_zero() {
    liquid_mesh::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (port, p2p_port) = (free_port(), free_port());
    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    let mut wallet = Wallet::web(&node);
    let (status, user) = wallet.register(None).await;
    assert_eq!(status, StatusCode::CREATED);
    let cred_id = user["credentials"][0]["credId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = JsSocket::connect(&node.url(""), Some(&wallet.cookie())).await;
    // A server that goes away in the middle of the polling-to-WebSocket upgrade (after the probe,
    // while polling is paused) leaves engine.io-client waiting for its ping timeout, 45 s, whatever
    // the server does: that is the client's race, not the one under test here.
    socket.wait_for(|m| m["type"] == "upgrade").await;

    let exit = node.terminate().await;
    assert!(exit.success(), "{exit:?}");
    // Closed at the transport, not with a Socket.IO DISCONNECT: socket.io-client then reconnects
    // by itself, to another node behind the same origin during a rolling restart.
    let disconnect = socket.wait_for(|m| m["type"] == "disconnect").await;
    let reason = disconnect["reason"].as_str().unwrap();
    assert!(reason.starts_with("transport "), "{disconnect}");

    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    let (status, user) = wallet.login(&cred_id, None).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let _ = node.terminate().await;
}

/// SIGKILL in the middle of concurrent registrations: after a restart the SQLite file passes
/// its integrity check, the node serves, and every registration that was answered 201 logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_registrations_leaves_a_consistent_store() {
    const REGISTRATIONS: usize = 200;
    liquid_mesh::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let (port, p2p_port) = (free_port(), free_port());
    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    // Requests cut off by the kill count as unanswered. The kill comes once ten registrations
    // have finished, with the rest in flight.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..REGISTRATIONS)
        .map(|_| {
            let mut wallet = Wallet::web(&node);
            let done = done.clone();
            tokio::spawn(async move {
                let outcome = wallet.try_register().await;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (status, user) = outcome.unwrap_or((StatusCode::BAD_GATEWAY, Value::Null));
                let cred_id = user["credentials"][0]["credId"].as_str().map(str::to_owned);
                (wallet, status, cred_id)
            })
        })
        .collect();
    while done.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    node.kill().await;
    let mut answered = Vec::new();
    for task in tasks {
        if let Ok((wallet, StatusCode::CREATED, Some(cred_id))) = task.await {
            answered.push((wallet, cred_id));
        }
    }
    println!(
        "{} of {REGISTRATIONS} registrations answered 201 before SIGKILL",
        answered.len()
    );
    assert!(
        answered.len() < REGISTRATIONS,
        "the kill came after every registration"
    );

    let db = format!("sqlite:{}", dir.path().join("liquid-mesh.db").display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let check: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check.0, "ok");
    pool.close().await;

    let node = ProcessNode::spawn_on(port, dir.path(), p2p_port, None).await;
    for (wallet, cred_id) in &mut answered {
        let (status, user) = wallet.login(cred_id, None).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "a stored credential logs in: {user}"
        );
    }
    let _ = node.terminate().await;
}

/// The binary as an operator meets it: `--print-config` shows every value in effect with the
/// documented precedence (flag, then environment, then file, then default), a bad value names
/// its option and exits 2, and `LOG_FORMAT=json` writes one JSON object per line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_precedence_errors_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.toml");
    std::fs::write(
        &file,
        "port = 4100\nrp-id = \"file.example\"\norigin = \"https://file.example\"\nmax-parked-links = 9\n",
    )
    .unwrap();
    let binary = liquid_mesh_tests::process::binary();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(&binary);
        command.args(args).env_clear().envs(env.iter().copied());
        command.output().expect("liquid-mesh runs")
    };
    let file_arg = file.to_str().unwrap();
    let printed = run(
        &[
            "--config",
            file_arg,
            "--print-config",
            "--max-parked-links",
            "11",
        ],
        &[("RP_ID", "env.example"), ("ORIGIN", "https://env.example")],
    );
    assert!(printed.status.success(), "{printed:?}");
    let effective: toml::Table = toml::from_str(&String::from_utf8_lossy(&printed.stdout)).unwrap();
    assert_eq!(
        effective["rp-id"].as_str(),
        Some("env.example"),
        "env beats file"
    );
    assert_eq!(
        effective["max-parked-links"].as_integer(),
        Some(11),
        "flag beats file"
    );
    assert_eq!(
        effective["port"].as_integer(),
        Some(4100),
        "file beats default"
    );
    assert_eq!(
        effective["max-links-per-socket"].as_integer(),
        Some(8),
        "defaults shown"
    );
    assert_eq!(effective["session-secret"].as_str(), Some("<unset>"));

    let bad = run(&["--print-config"], &[("PORT", "http")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--port"),
        "{bad:?}"
    );
    let bad = run(&["--print-config", "--max-links-per-socket", "0"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("MAX_LINKS_PER_SOCKET"),
        "{bad:?}"
    );

    let port = free_port().to_string();
    let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let data = dir.path().join("data");
    let mut child = tokio::process::Command::new(&binary)
        .env_clear()
        .envs([
            ("PORT", port.as_str()),
            ("DATA_DIR", data.to_str().unwrap()),
            ("P2P_LISTEN", p2p.as_str()),
            ("LOG_FORMAT", "json"),
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    let listening = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("the node logs");
            let event: Value = serde_json::from_str(&line).expect("every line is JSON");
            if event["message"] == "liquid-mesh listening" {
                return event;
            }
        }
    })
    .await
    .expect("the node says it listens");
    assert_eq!(listening["level"], "INFO", "{listening}");
    assert_eq!(listening["rp_id"], "localhost", "{listening}");
    child.kill().await.unwrap();
}
