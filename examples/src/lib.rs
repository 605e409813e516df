//! Runnable examples for liquid-mesh; see `examples/` and the README. The helper here starts
//! in-process nodes joined in a line, as the federation and native-chat examples need.

use std::net::SocketAddr;
use std::path::Path;

use liquid_mesh::{Config, Node};
use tokio::net::TcpListener;

/// A node serving in the background of this process.
pub struct RunningNode {
    pub http: SocketAddr,
    pub origin: url::Url,
    pub mesh: liquid_mesh::mesh::Mesh,
}

/// Starts `count` nodes under `dir`, HTTP on `first_port`, `first_port + 1`, …, each joining the
/// previous one over the mesh (TCP on loopback, ports chosen by the OS).
pub async fn start_line(
    dir: &Path,
    count: u16,
    first_port: u16,
) -> Result<Vec<RunningNode>, Box<dyn std::error::Error>> {
    liquid_mesh::tls::install_crypto_provider();
    let mut nodes: Vec<RunningNode> = Vec::new();
    for i in 0..count {
        let port = first_port + i;
        let mut config = Config {
            data_dir: dir.join(format!("node-{i}")),
            origin: url::Url::parse(&format!("http://localhost:{port}"))?,
            ..Config::default()
        };
        config.http_addr.set_port(port);
        config.mesh.listen = vec!["/ip4/127.0.0.1/tcp/0".parse()?];
        if let Some(previous) = nodes.last() {
            config.mesh.bootstrap = vec![previous.mesh.listening()[0].clone()];
        }
        let node = Node::start(config.clone()).await?;
        let mesh = node.mesh().clone();
        let listener = TcpListener::bind(config.http_addr).await?;
        tokio::spawn(async move {
            if let Err(err) = node.serve(listener, std::future::pending()).await {
                eprintln!("node stopped: {err}");
            }
        });
        nodes.push(RunningNode {
            http: config.http_addr,
            origin: config.origin,
            mesh,
        });
    }
    Ok(nodes)
}
