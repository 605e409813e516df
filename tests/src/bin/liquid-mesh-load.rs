//! The load generator: runs one scenario of `liquid_mesh_tests::load` against running nodes and
//! prints its report as one JSON line on stdout.
//!
//! ```sh
//! liquid-mesh-load idle --url http://127.0.0.1:3000 --count 10000
//! liquid-mesh-load relay --website http://127.0.0.1:3000 --wallet http://127.0.0.1:3002 \
//!     --pairs 1000 --rate 1 --duration-secs 60
//! ```

use std::time::Duration;

use clap::{Parser, Subcommand};
use liquid_mesh_tests::load::{idle, native, relay, verify};
use tokio::io::AsyncBufReadExt;

#[derive(Parser)]
#[command(about = "Load scenarios against running liquid-mesh nodes")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Open idle Socket.IO connections, report, hold them until stdin closes, report again.
    Idle {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
    },
    /// Registration and assertion verifications per second on one core, and raw signature costs.
    Verify {
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// Native direct-channel setup through two mesh nodes, beside a bare libp2p-webrtc dial.
    Native {
        /// The website peer's node, a multiaddr ending in /p2p/<peer id>.
        #[arg(long)]
        website_node: libp2p::Multiaddr,
        /// The wallet peer's node.
        #[arg(long)]
        wallet_node: libp2p::Multiaddr,
        #[arg(long, default_value_t = 100)]
        runs: usize,
    },
    /// Link pairs for real, then relay candidates both ways at a fixed rate.
    Relay {
        /// Nodes for websites, comma-separated base URLs.
        #[arg(long, value_delimiter = ',')]
        website: Vec<String>,
        /// Nodes for wallets, comma-separated base URLs.
        #[arg(long, value_delimiter = ',')]
        wallet: Vec<String>,
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// Messages per second from each side of each pair.
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        #[arg(long, default_value_t = 60)]
        duration_secs: u64,
        #[arg(long, default_value_t = 200)]
        payload_bytes: usize,
        #[arg(long, default_value_t = 32)]
        setup_concurrency: usize,
        #[arg(long, default_value_t = 10)]
        drain_secs: u64,
        /// Server process IDs whose CPU over the stream to report, comma-separated.
        #[arg(long, value_delimiter = ',')]
        server_pids: Vec<u32>,
    },
}

fn main() {
    liquid_mesh::tls::install_crypto_provider();
    // Reports go to stdout; diagnostics, when RUST_LOG asks for them, to stderr.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let scenario = Cli::parse().scenario;
    // Verification figures are per core: one thread. Load uses what the machine has.
    let runtime = match scenario {
        Scenario::Verify { .. } => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .expect("a tokio runtime");
    runtime.block_on(run(scenario));
}

async fn run(scenario: Scenario) {
    match scenario {
        Scenario::Idle {
            url,
            count,
            concurrency,
        } => {
            let (mut sockets, report) = idle::connect_many(&url, count, concurrency).await;
            println!("{}", serde_json::to_string(&report).expect("report"));
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
            let open = idle::still_open(&mut sockets);
            println!("{}", serde_json::json!({"stillOpen": open}));
        }
        Scenario::Verify { count } => {
            let report = verify::run(count).await;
            println!("{}", serde_json::to_string(&report).expect("report"));
        }
        Scenario::Native {
            website_node,
            wallet_node,
            runs,
        } => {
            let report = native::run(website_node, wallet_node, runs).await;
            println!("{}", serde_json::to_string(&report).expect("report"));
        }
        Scenario::Relay {
            website,
            wallet,
            pairs,
            rate,
            duration_secs,
            payload_bytes,
            setup_concurrency,
            drain_secs,
            server_pids,
        } => {
            let plan = relay::RelayPlan {
                website_nodes: website,
                wallet_nodes: wallet,
                pairs,
                rate,
                duration: Duration::from_secs(duration_secs),
                payload_bytes,
                setup_concurrency,
                drain: Duration::from_secs(drain_secs),
                server_pids,
            };
            match relay::run(&plan).await {
                Ok(report) => println!("{}", serde_json::to_string(&report).expect("report")),
                Err(err) => {
                    eprintln!("setting up pairs failed: {err}");
                    std::process::exit(1);
                }
            }
        }
    }
}
