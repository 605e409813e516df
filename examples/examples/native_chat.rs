//! A native website and a native wallet pair through two different nodes of a three-node
//! federation and chat over a direct libp2p WebRTC channel, the mesh out of the data path.
//! The wallet proves its account with a software passkey, as a wallet app would.
//!
//! ```text
//! cargo run -p liquid-mesh-examples --example native_chat
//! ```

use liquid_mesh::peer::{Invitation, Peer, PeerConfig, Role};
use liquid_mesh_tests::{Wallet, WalletOrigin};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let nodes = liquid_mesh_examples::start_line(dir.path(), 3, 3100).await?;
    let (website_node, wallet_node) = (&nodes[0], &nodes[2]);

    let website = Peer::start(PeerConfig::new(website_node.mesh.listening()[0].clone())).await?;
    let invitation = Invitation::new();
    println!("website shows QR code {}", invitation.to_json());

    // The wallet scans it, registers its passkey naming the request ID, and joins its own node.
    let scanned = Invitation::from_json(&invitation.to_json())?;
    let mut passkey = Wallet::new(
        format!("http://{}", wallet_node.http),
        WalletOrigin::Web(wallet_node.origin.clone()),
        "liquid-mesh-native-chat/0.1",
    );
    let (status, _) = passkey
        .register(Some(scanned.request_id.as_json().clone()))
        .await;
    println!("wallet {} registered: {status}", passkey.address);
    let wallet = Peer::start(PeerConfig::new(wallet_node.mesh.listening()[0].clone())).await?;

    let linked = website.wait_authenticated(&invitation.request_id).await?;
    println!("website sees wallet {} authenticated", linked.wallet);
    let (website_channel, wallet_channel) = tokio::join!(
        website.pair(&invitation, Role::Website),
        wallet.pair(&scanned, Role::Wallet)
    );
    let (mut website_channel, mut wallet_channel) = (website_channel?, wallet_channel?);
    println!("paired over a {:?} path", website_channel.path());

    website_channel.send(b"hello, wallet").await?;
    let heard = wallet_channel.recv().await?.unwrap_or_default();
    println!("wallet heard: {}", String::from_utf8_lossy(&heard));
    wallet_channel.send(b"hello, website").await?;
    let heard = website_channel.recv().await?.unwrap_or_default();
    println!("website heard: {}", String::from_utf8_lossy(&heard));
    Ok(())
}
