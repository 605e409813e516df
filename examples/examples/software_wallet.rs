//! A wallet without a phone: registers a software passkey and a fresh Algorand key with a running
//! node, then logs in with it, naming a request ID so a waiting website links.
//!
//! ```text
//! cargo run --release                       # a node on http://localhost:3000
//! cargo run -p liquid-mesh-examples --example software_wallet -- http://localhost:3000 my-request-id
//! ```
//! The first argument must be the node's ORIGIN (passkeys are bound to it).

use liquid_mesh_tests::{Wallet, WalletOrigin};
use serde_json::{Value, json};
use url::Url;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let origin = args
        .next()
        .unwrap_or_else(|| "http://localhost:3000".into());
    let request_id: Option<Value> = args.next().map(|id| match id.parse::<f64>() {
        Ok(number) => json!(number),
        Err(_) => json!(id),
    });
    let url = Url::parse(&origin)?;
    let base = origin.trim_end_matches('/').to_owned();
    let mut wallet = Wallet::new(
        base,
        WalletOrigin::Web(url),
        "liquid-mesh-software-wallet/0.1",
    );
    println!("wallet address {}", wallet.address);

    let (status, user) = wallet.register(request_id.clone()).await;
    println!("registration: {status}\n{user:#}");
    let Some(cred_id) = user["credentials"][0]["credId"].as_str() else {
        return Err("registration failed".into());
    };
    let (status, user) = wallet.login(cred_id, request_id).await;
    println!(
        "login: {status}, counter {}",
        user["credentials"][0]["prevCounter"]
    );
    Ok(())
}
