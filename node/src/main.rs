//! The `liquid-mesh` binary: reads configuration, binds the HTTP listener and runs the node
//! until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use liquid_mesh::Node;
use liquid_mesh::config::{Cli, Config, LogFormat, to_toml};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let print_config = cli.print_config;
    let config = match cli.into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("liquid-mesh: {err}");
            return ExitCode::from(2);
        }
    };
    if print_config {
        print!("{}", to_toml(&config));
        return ExitCode::SUCCESS;
    }
    init_logging(config.log_format);
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
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
