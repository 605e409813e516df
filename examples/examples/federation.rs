//! A three-node federation on one machine: HTTP on ports 3000, 3001 and 3002, each node joining
//! the previous one over the libp2p mesh. Point a website at one node and a wallet at another
//! (the software_wallet example, or liquid-client) and they pair across the mesh.
//!
//! ```text
//! cargo run -p liquid-mesh-examples --example federation
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let nodes = liquid_mesh_examples::start_line(dir.path(), 3, 3000).await?;
    // Give the line a moment to connect, then show what each node sees.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for node in &nodes {
        let status = node.mesh.status().await?;
        println!(
            "node http://{} (origin {}) peer {} with {} peer(s), mesh address {}",
            node.http,
            node.origin,
            status.peer_id,
            status.peers.len(),
            node.mesh.listening()[0]
        );
    }
    println!("running; Ctrl-C stops all three");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
