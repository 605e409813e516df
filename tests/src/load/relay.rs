//! Pairs that link for real and then relay a steady stream: each website links on its node, each
//! wallet registers a passkey with the website's request ID on its node (so its session joins the
//! pair), and then both sides send candidates at a fixed rate. Every message carries its pair,
//! sequence number and send time, so the receiver counts what was lost, duplicated, reordered or
//! delivered to the wrong pair, and how long each took.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use rand::Rng;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::BaseUrl;
use super::stats::Summary;
use crate::Wallet;
use crate::eio::{Incoming, SocketIo};

/// What to run.
#[derive(Debug, Clone)]
pub struct RelayPlan {
    /// Nodes websites connect to, taken in turn.
    pub website_nodes: Vec<String>,
    /// Nodes wallets register and connect on, taken in turn.
    pub wallet_nodes: Vec<String>,
    pub pairs: usize,
    /// Messages per second each side of each pair sends.
    pub rate: f64,
    pub duration: Duration,
    /// Approximate size of one message's JSON payload.
    pub payload_bytes: usize,
    /// Pairs set up at once.
    pub setup_concurrency: usize,
    /// How long to wait for stragglers after the last send.
    pub drain: Duration,
    /// Server processes whose CPU time over the stream the report gives (nodes, Redis, …).
    pub server_pids: Vec<u32>,
}

/// What happened, counted at the receivers.
#[derive(Debug, Default, Serialize)]
pub struct RelayReport {
    pub pairs: usize,
    pub setup_secs: f64,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub misrouted: u64,
    /// Send to receipt, milliseconds.
    pub latency: Summary,
    /// The wallet's `/attestation/response` POST to the website's `link` ack, milliseconds.
    pub link: Summary,
    pub messages_per_second: f64,
    /// The load generator's own CPU over the stream, to tell when it is the limit.
    pub loadgen_cpu_seconds: f64,
    /// CPU time of the server processes named in the plan over the stream, summed.
    pub server_cpu_seconds: f64,
}

/// Why a pair could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("socket: {0}")]
    Socket(#[from] crate::eio::EioError),
    #[error("registration answered {0}: {1}")]
    Registration(StatusCode, Value),
    #[error("link not acknowledged with the wallet: {0:?}")]
    Link(Option<Vec<Value>>),
    #[error("{0} never arrived while warming up")]
    Warmup(&'static str),
    #[error("{0} did not come within {SETUP_WAIT:?}")]
    Timeout(&'static str),
}

/// How long one step of a pair's setup may take.
const SETUP_WAIT: Duration = Duration::from_secs(30);

/// One side of a pair: its socket, and the event it sends (the other side's is what it gets).
struct Side {
    socket: SocketIo,
    sends: &'static str,
    receives: &'static str,
}

struct Pair {
    website: Side,
    wallet: Side,
    link_micros: u64,
}

/// Microseconds since the run began; both sides of every pair live in this process.
fn now_micros(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX)
}

pub async fn run(plan: &RelayPlan) -> Result<RelayReport, SetupError> {
    let base = Instant::now();
    let pairs: Vec<Pair> = futures::stream::iter(0..plan.pairs)
        .map(|i| {
            let website = plan.website_nodes[i % plan.website_nodes.len()].clone();
            let wallet = plan.wallet_nodes[i % plan.wallet_nodes.len()].clone();
            async move { set_up(&website, &wallet, base).await }
        })
        .buffer_unordered(plan.setup_concurrency.max(1))
        .try_collect()
        .await?;
    let setup_secs = base.elapsed().as_secs_f64();
    let link = Summary::of_micros(pairs.iter().map(|p| p.link_micros).collect());

    let per_side = (plan.rate * plan.duration.as_secs_f64()).round() as u64;
    let padding = "x".repeat(plan.payload_bytes.saturating_sub(96));
    let padding: Arc<str> = padding.into();
    let cpu_before = crate::usage::Usage::own().cpu_seconds;
    let servers_cpu = || -> f64 {
        plan.server_pids
            .iter()
            .map(|pid| crate::usage::Usage::of(*pid).cpu_seconds)
            .sum()
    };
    let servers_before = servers_cpu();
    let stream_start = Instant::now();
    // Receivers stop waiting this long after the last send could have gone out.
    let until = tokio::time::Instant::now() + plan.duration + plan.duration / 2 + plan.drain;
    let mut senders = tokio::task::JoinSet::new();
    let mut receivers = tokio::task::JoinSet::new();
    for (n, pair) in pairs.into_iter().enumerate() {
        for side in [pair.website, pair.wallet] {
            let Side {
                socket,
                sends,
                receives,
            } = side;
            let mut socket = socket;
            let incoming = socket.take_incoming();
            let padding = padding.clone();
            let period = Duration::from_secs_f64(1.0 / plan.rate);
            senders.spawn(async move {
                // Spread the pairs' phases so the offered load is even, not bursts each period.
                let phase = rand::rng().random_range(0.0..1.0);
                tokio::time::sleep(period.mul_f64(phase)).await;
                let mut tick = tokio::time::interval(period);
                for seq in 0..per_side {
                    tick.tick().await;
                    let payload = json!({
                        "candidate": &*padding,
                        "sdpMid": "0",
                        "sdpMLineIndex": 0,
                        "pair": n,
                        "seq": seq,
                        "t": now_micros(base),
                    });
                    socket.emit(sends, &[payload]);
                }
                socket
            });
            receivers.spawn(receive(incoming, receives, n, per_side, base, until));
        }
    }
    let mut sockets = Vec::new();
    while let Some(socket) = senders.join_next().await {
        sockets.push(socket.expect("sender task"));
    }
    let mut report = RelayReport {
        pairs: plan.pairs,
        setup_secs,
        link,
        sent: per_side * 2 * plan.pairs as u64,
        ..RelayReport::default()
    };
    let mut latencies = Vec::with_capacity(report.sent as usize);
    while let Some(tally) = receivers.join_next().await {
        let tally = tally.expect("receiver task");
        report.received += tally.received;
        report.duplicated += tally.duplicated;
        report.reordered += tally.reordered;
        report.misrouted += tally.misrouted;
        report.lost += per_side - tally.unique;
        latencies.extend(tally.latencies);
    }
    let streamed = stream_start.elapsed().as_secs_f64();
    report.loadgen_cpu_seconds = crate::usage::Usage::own().cpu_seconds - cpu_before;
    report.server_cpu_seconds = servers_cpu() - servers_before;
    report.messages_per_second = report.received as f64 / streamed;
    report.latency = Summary::of_micros(latencies);
    drop(sockets);
    Ok(report)
}

async fn set_up(website_node: &str, wallet_node: &str, base: Instant) -> Result<Pair, SetupError> {
    let request_id = json!(uuid::Uuid::new_v4().to_string());
    let mut website = SocketIo::connect(website_node, None).await?;
    let link = website.emit_ack("link", &[json!({"requestId": request_id})]);

    let mut wallet = Wallet::web(&BaseUrl(wallet_node.to_owned()));
    let (body, _) = wallet.prepare_registration(Some(request_id)).await;
    let posted = now_micros(base);
    let (status, user) = wallet.post("/attestation/response", &body).await;
    if status != StatusCode::CREATED {
        return Err(SetupError::Registration(status, user));
    }
    let ack = tokio::time::timeout(SETUP_WAIT, website.ack(link))
        .await
        .map_err(|_| SetupError::Timeout("the link ack"))?;
    let link_micros = now_micros(base) - posted;
    match &ack {
        Some(args)
            if args.first().map(|a| &a["data"]["wallet"]) == Some(&json!(wallet.address)) => {}
        _ => return Err(SetupError::Link(ack)),
    }
    let mut wallet_socket = SocketIo::connect(wallet_node, Some(&wallet.cookie())).await?;
    // Both sockets are in the pair once a description crosses each way.
    wallet_socket.emit("offer-description", &[json!("warm-up offer")]);
    expect_event(&mut website, "offer-description").await?;
    website.emit("answer-description", &[json!("warm-up answer")]);
    expect_event(&mut wallet_socket, "answer-description").await?;
    Ok(Pair {
        website: Side {
            socket: website,
            sends: "answer-candidate",
            receives: "offer-candidate",
        },
        wallet: Side {
            socket: wallet_socket,
            sends: "offer-candidate",
            receives: "answer-candidate",
        },
        link_micros,
    })
}

async fn expect_event(socket: &mut SocketIo, event: &'static str) -> Result<(), SetupError> {
    let wait = tokio::time::timeout(SETUP_WAIT, async {
        while let Some(incoming) = socket.incoming.recv().await {
            match incoming {
                Incoming::Event(name, _) if name == event => return true,
                Incoming::Closed => return false,
                _ => {}
            }
        }
        false
    });
    match wait.await {
        Ok(true) => Ok(()),
        _ => Err(SetupError::Warmup(event)),
    }
}

/// One receiving side's counts.
struct Tally {
    received: u64,
    unique: u64,
    duplicated: u64,
    reordered: u64,
    misrouted: u64,
    latencies: Vec<u64>,
}

async fn receive(
    mut incoming: tokio::sync::mpsc::UnboundedReceiver<Incoming>,
    event: &'static str,
    pair: usize,
    expected: u64,
    base: Instant,
    until: tokio::time::Instant,
) -> Tally {
    let mut seen = vec![false; usize::try_from(expected).unwrap_or(0)];
    let mut tally = Tally {
        received: 0,
        unique: 0,
        duplicated: 0,
        reordered: 0,
        misrouted: 0,
        latencies: Vec::with_capacity(seen.len()),
    };
    let mut highest: Option<u64> = None;
    while tally.unique < expected {
        let Ok(Some(message)) = tokio::time::timeout_at(until, incoming.recv()).await else {
            break;
        };
        let Incoming::Event(name, args) = message else {
            continue;
        };
        if name != event {
            continue;
        }
        let payload = args.first().cloned().unwrap_or(Value::Null);
        let (Some(from), Some(seq), Some(t)) = (
            payload["pair"].as_u64(),
            payload["seq"].as_u64(),
            payload["t"].as_u64(),
        ) else {
            tally.misrouted += 1;
            continue;
        };
        tally.received += 1;
        if from != pair as u64 || seq >= expected {
            tally.misrouted += 1;
            continue;
        }
        tally.latencies.push(now_micros(base).saturating_sub(t));
        let slot = &mut seen[seq as usize];
        if *slot {
            tally.duplicated += 1;
            continue;
        }
        *slot = true;
        tally.unique += 1;
        if highest.is_some_and(|h| seq < h) {
            tally.reordered += 1;
        }
        highest = highest.max(Some(seq));
    }
    tally
}
