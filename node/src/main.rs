//! The `liquid-mesh` binary: reads configuration, binds the HTTP listener and runs the node
//! until Ctrl-C or SIGTERM.

use clap::Parser;
use liquid_mesh::Node;
use liquid_mesh::config::Cli;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Cli::parse().into_config()?;
    let node = Node::start(config.clone()).await?;
    let listener = TcpListener::bind(config.http_addr).await?;
    tracing::info!(
        addr = %listener.local_addr()?,
        origin = %config.origin,
        rp_id = %config.rp_id,
        database = %config.database_url(),
        "liquid-mesh listening"
    );
    node.serve(listener, shutdown_signal()).await?;
    tracing::info!("liquid-mesh stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
